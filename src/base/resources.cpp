// Process resource readings; see resources.h.
#include "reckoning/base/resources.h"

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

}  // namespace

int64_t resident_memory_bytes() { return status_kib("VmRSS:") * 1024; }
int64_t peak_resident_memory_bytes() { return status_kib("VmHWM:") * 1024; }

}  // namespace reckoning
