// Thread-count policy; see threads.h.
#include "reckoning/threads.h"

#include <cstdlib>
#include <string>
#include <thread>

#include <torch/torch.h>

#include "reckoning/error.h"

namespace reckoning {

int configure_threads(int requested) {
  int n = requested;
  if (n <= 0) {
    if (const char* env = std::getenv("RECKONING_THREADS"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      long value = std::strtol(env, &end, 10);
      check(end != env && *end == '\0' && value > 0, "environment variable RECKONING_THREADS",
            "a positive integer", str("'", env, "'"));
      n = static_cast<int>(value);
    }
  }
  if (n <= 0) n = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  at::set_num_threads(n);
  return at::get_num_threads();
}

}  // namespace reckoning
