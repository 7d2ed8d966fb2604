// Thread-count policy. LibTorch on Debian starts with one intra-op thread, so every entry point
// sets the count explicitly: an explicit request (--threads N, N > 0) wins, then the environment
// variable RECKONING_THREADS, then all hardware cores.
#pragma once

namespace reckoning {

// Sets LibTorch's intra-op thread count (and OpenMP's, which OpenBLAS-openmp follows) and returns
// the count in effect. `requested` <= 0 means "not given on the command line".
int configure_threads(int requested = 0);

}  // namespace reckoning
