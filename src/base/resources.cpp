// Process resource readings; see resources.h.
#include "reckoning/base/resources.h"

#include <algorithm>
#include <atomic>
#include <fstream>
#include <string>

namespace reckoning {

namespace {

int64_t status_kib(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string key;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(field, 0) == 0) return std::stoll(line.substr(std::string(field).size())) ;
  }
  return 0;
}

// The largest RSS read so far: the kernel updates VmHWM from per-thread counters that it folds in
// lazily, so a VmRSS just read can exceed the VmHWM read after it (seen: by 56 kB); the peak
// reported is never below a reading already reported.
std::atomic<int64_t> largest_seen{0};

int64_t seen(int64_t bytes) {
  int64_t previous = largest_seen.load();
  while (bytes > previous && !largest_seen.compare_exchange_weak(previous, bytes)) {
  }
  return std::max(bytes, previous);
}

}  // namespace

int64_t resident_memory_bytes() {
  const int64_t bytes = status_kib("VmRSS:") * 1024;
  seen(bytes);
  return bytes;
}
int64_t peak_resident_memory_bytes() { return seen(std::max(status_kib("VmHWM:"), status_kib("VmRSS:")) * 1024); }

}  // namespace reckoning
