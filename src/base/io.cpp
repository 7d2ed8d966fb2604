// File helpers; see io.h.
#include "reckoning/base/io.h"

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reckoning/base/error.h"

namespace reckoning {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(str(path, ": cannot open for reading (", std::strerror(errno), ")"));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) throw Error(str(path, ": read failed"));
  return buffer.str();
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  const std::string parent = parent_path(path);
  if (!parent.empty()) create_directories(parent);
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
  } catch (const nlohmann::json::exception& e) {
    throw Error(str(path, ": invalid JSON (", e.what(), ")"));
  }
}

void write_json_file_atomic(const std::string& path, const nlohmann::json& json) {
  // Generated text (model predictions) may hold invalid UTF-8: written as U+FFFD, never a throw.
  write_file_atomic(path, json.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
}

namespace {

bool stat_mode(const std::string& path, mode_t& mode) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  mode = st.st_mode;
  return true;
}

}  // namespace

bool file_exists(const std::string& path) {
  mode_t mode;
  return stat_mode(path, mode);
}

bool is_directory(const std::string& path) {
  mode_t mode;
  return stat_mode(path, mode) && S_ISDIR(mode);
}

bool is_regular_file(const std::string& path) {
  mode_t mode;
  return stat_mode(path, mode) && S_ISREG(mode);
}

std::string parent_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return "";
  size_t end = slash;
  while (end > 0 && path[end - 1] == '/') --end;  // "a//b" -> "a"
  return end == 0 ? "/" : path.substr(0, end);
}

std::string file_name(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string normal_path(const std::string& path) {
  if (path.empty()) return "";
  const bool absolute = path[0] == '/';
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string::npos) end = path.size();
    const std::string part = path.substr(start, end - start);
    if (part == "..") {
      if (!parts.empty() && parts.back() != "..") {
        parts.pop_back();
      } else if (!absolute) {
        parts.push_back(part);  // a relative path may climb above its start; "/.." is "/"
      }
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    start = end + 1;
  }
  std::string out = absolute ? "/" : "";
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "/" : "") + parts[i];
  return out.empty() ? "." : out;
}

std::string canonical_path(const std::string& path) {
  std::string absolute = path;
  if (absolute.empty() || absolute[0] != '/') {
    char cwd[PATH_MAX];
    if (::getcwd(cwd, sizeof cwd) == nullptr) return normal_path(path);
    absolute = path_join(cwd, path);
  }
  absolute = normal_path(absolute);
  // The longest prefix that exists is resolved; the rest (not yet created) is appended.
  std::string head = absolute, tail;
  while (true) {
    char resolved[PATH_MAX];
    if (::realpath(head.c_str(), resolved) != nullptr) {
      return tail.empty() ? std::string(resolved) : normal_path(path_join(resolved, tail));
    }
    if (head == "/") return absolute;
    tail = tail.empty() ? file_name(head) : path_join(file_name(head), tail);
    head = parent_path(head);
  }
}

namespace {

void create_directories_for(const std::string& path, const std::string& target) {
  if (path.empty() || is_directory(path)) return;
  const std::string parent = parent_path(path);
  if (!parent.empty() && parent != path) create_directories_for(parent, target);
  if (::mkdir(path.c_str(), 0777) != 0 && !(errno == EEXIST && is_directory(path))) {
    const std::string why = errno == EEXIST ? "it exists and is not a directory" : std::strerror(errno);
    throw Error(str(target, ": cannot create the directory (", path == target ? "" : str(path, ": "), why, ")"));
  }
}

}  // namespace

void create_directories(const std::string& path) { create_directories_for(path, path); }

void rename_path(const std::string& from, const std::string& to) {
  if (std::rename(from.c_str(), to.c_str()) != 0) {
    throw Error(str(from, ": cannot rename to ", to, " (", std::strerror(errno), ")"));
  }
}

void remove_file(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    throw Error(str(path, ": cannot remove (", std::strerror(errno), ")"));
  }
}

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
  if (dir.empty() || (!name.empty() && name[0] == '/')) return name;
  return dir.back() == '/' ? dir + name : dir + "/" + name;
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
  const std::string old = clean + ".old-" + std::to_string(::getpid());
  const bool had_old = file_exists(clean);
  // The old directory's removal is best effort: one that cannot be deleted is left beside.
  auto remove_old = [&] {
    try {
      remove_tree(old);
    } catch (const Error&) {
    }
  };
  if (had_old) {
    // One atomic swap: `clean` never goes missing, whenever the process dies.
    if (::renameat2(AT_FDCWD, staging.c_str(), AT_FDCWD, clean.c_str(), RENAME_EXCHANGE) == 0) {
      try {
        remove_tree(staging);  // now the previous contents
      } catch (const Error&) {
      }
      return;
    }
    if (errno != EINVAL && errno != ENOSYS && errno != EOPNOTSUPP) {
      throw Error(str(clean, ": cannot swap in the new directory ", staging, " (", std::strerror(errno), ")"));
    }
    remove_old();  // a leftover of an interrupted run
    if (std::rename(clean.c_str(), old.c_str()) != 0) {
      throw Error(str(clean, ": cannot move the previous directory aside (", std::strerror(errno), ")"));
    }
  }
  if (std::rename(staging.c_str(), clean.c_str()) != 0) {
    const int err = errno;
    if (had_old) std::rename(old.c_str(), clean.c_str());
    throw Error(str(clean, ": cannot move the new directory into place (", std::strerror(err), ")"));
  }
  if (had_old) remove_old();
}

bool recover_directory(const std::string& dir) {
  std::string clean = dir;
  while (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  if (file_exists(clean)) return false;
  const std::string parent = parent_path(clean), prefix = clean.substr(parent.size() + (parent.empty() ? 0 : 1)) + ".old-";
  DIR* d = ::opendir(parent.empty() ? "." : parent.c_str());
  if (d == nullptr) return false;
  std::string found;
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name.rfind(prefix, 0) == 0) found = path_join(parent, name);
  }
  ::closedir(d);
  if (found.empty()) return false;
  check(std::rename(found.c_str(), clean.c_str()) == 0, clean, str("its previous contents back from ", found),
        std::strerror(errno));
  return true;
}

}  // namespace reckoning
