// One writer per run directory: a training run holds an exclusive lock on RUN_DIR/.lock (flock,
// released by the kernel when the process ends, however it ends), so a second run started on the
// same directory - a duplicated job, a resume while the first is still alive - refuses with a
// clear error instead of both writing checkpoints and metrics. The file records the holder's pid
// and host for that message; a stale file left by a dead process does not block (no lock is held).
#pragma once

#include <string>

namespace reckoning {

class RunLock {
 public:
  // Takes the lock on `dir`/.lock (creating the file); throws reckoning::Error naming the directory
  // and the holder (pid, host) when another process holds it.
  explicit RunLock(const std::string& dir);
  ~RunLock();
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
  int fd_ = -1;
};

}  // namespace reckoning
