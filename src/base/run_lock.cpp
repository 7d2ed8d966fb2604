// One writer per run directory; see run_lock.h.
#include "reckoning/base/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

namespace {

std::string host_name() {
  char name[256] = {0};
  return ::gethostname(name, sizeof name - 1) == 0 ? std::string(name) : std::string("?");
}

// The holder's "pid P on host H" as it wrote it (empty when unreadable).
std::string holder_of(int fd) {
  char buffer[256] = {0};
  const ssize_t n = ::pread(fd, buffer, sizeof buffer - 1, 0);
  std::string text = n > 0 ? std::string(buffer, static_cast<size_t>(n)) : std::string();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

}  // namespace

RunLock::RunLock(const std::string& dir) : path_(path_join(dir, ".lock")) {
  create_directories(dir);
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  check(fd_ >= 0, path_, "a lock file that can be created (a writable run directory)", std::strerror(errno));
  if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(fd_);
    ::close(fd_);
    fd_ = -1;
    check(error != EWOULDBLOCK, dir,
          "a run directory no other run is using (one run writes a directory at a time)",
          str("one in use by ", holder.empty() ? std::string("another process") : holder, " (", path_,
              " is locked; wait for it to end, stop it, or choose another run_dir)"));
    throw_error(path_, "a lock that can be taken", std::strerror(error));
  }
  const std::string me = str("pid ", ::getpid(), " on host ", host_name(), "\n");
  if (::ftruncate(fd_, 0) == 0) {
    const ssize_t written = ::pwrite(fd_, me.data(), me.size(), 0);
    (void)written;  // the record is only for the message a second run prints
  }
}

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);  // releases the lock; the file stays (a stale file blocks nothing)
}

}  // namespace reckoning
