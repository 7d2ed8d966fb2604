// File helpers; see io.h.
#include "reckoning/io.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reckoning/error.h"

namespace reckoning {

namespace fs = std::filesystem;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str(path, ": cannot open for reading (", std::strerror(errno), ")"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(str(path, ": read failed"));
  return buffer.str();
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  fs::path target(path);
  if (target.has_parent_path()) fs::create_directories(target.parent_path());
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw Error(str(tmp, ": cannot open for writing (", std::strerror(errno), ")"));
  const char* data = contents.data();
  size_t left = contents.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      ::unlink(tmp.c_str());
      throw Error(str(tmp, ": write failed (", std::strerror(err), ")"));
    }
    data += n;
    left -= static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    throw Error(str(tmp, ": fsync/close failed (", std::strerror(errno), ")"));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    throw Error(str(path, ": rename from temporary file failed (", std::strerror(err), ")"));
  }
}

nlohmann::json read_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw Error(str(path, ": invalid JSON (", e.what(), ")"));
  }
}

void write_json_file_atomic(const std::string& path, const nlohmann::json& json) {
  // Generated text (model predictions) may hold invalid UTF-8: written as U+FFFD, never a throw.
  write_file_atomic(path, json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

bool file_exists(const std::string& path) { return fs::exists(path); }

namespace {

// nftw's callback takes no context: the walk in progress keeps its count and first failure here.
thread_local uint64_t removed_entries = 0;
thread_local std::string remove_failure;

int remove_entry(const char* entry, const struct stat*, int, struct FTW*) {
  if (::remove(entry) != 0 && errno != ENOENT) {
    remove_failure = str(entry, ": cannot remove (", std::strerror(errno), ")");
    return 1;  // stops the walk
  }
  ++removed_entries;
  return 0;
}

}  // namespace

uint64_t remove_tree(const std::string& path) {
  struct stat st;
  if (::lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return 0;
    throw Error(str(path, ": cannot remove (", std::strerror(errno), ")"));
  }
  removed_entries = 0;
  remove_failure.clear();
  // Depth first (children before their directory), physical (links removed, not followed).
  const int rc = ::nftw(path.c_str(), remove_entry, 32, FTW_DEPTH | FTW_PHYS);
  if (!remove_failure.empty()) throw Error(remove_failure);
  if (rc != 0) throw Error(str(path, ": cannot remove (", std::strerror(errno), ")"));
  return removed_entries;
}

std::string path_join(const std::string& dir, const std::string& name) {
  return (fs::path(dir) / name).string();
}

}  // namespace reckoning

namespace reckoning {

std::string staging_path(const std::string& dir) {
  static int counter = 0;
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  return str(clean, ".staging-", ::getpid(), "-", counter++);
}

void replace_directory(const std::string& staging, const std::string& dir) {
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  std::error_code ec;
  const std::string old = clean + ".old-" + std::to_string(::getpid());
  const bool had_old = fs::exists(clean);
  // The old directory's removal is best effort: one that cannot be deleted is left beside.
  auto remove_old = [&] {
    try {
      remove_tree(old);
    } catch (const Error&) {
    }
  };
  if (had_old) {
    remove_old();  // a leftover of an interrupted run
    fs::rename(clean, old, ec);
    if (ec) throw Error(str(clean, ": cannot move the previous directory aside (", ec.message(), ")"));
  }
  fs::rename(staging, clean, ec);
  if (ec) {
    if (had_old) fs::rename(old, clean);
    throw Error(str(clean, ": cannot move the new directory into place (", ec.message(), ")"));
  }
  if (had_old) remove_old();
}

}  // namespace reckoning
