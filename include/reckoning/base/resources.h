// Process resource readings for logs, benchmarks and the memory-flatness test (Linux /proc).
#pragma once

#include <cstdint>

namespace reckoning {

int64_t resident_memory_bytes();       // current RSS
int64_t peak_resident_memory_bytes();  // VmHWM: the peak RSS so far (never below an RSS read before)

}  // namespace reckoning
