// What every libFuzzer target shares (fuzz/README.md): a parser may refuse its input only with
// reckoning::Error - a clear error naming the file, line or field. Any other exception escaping
// (a JSON library's, std::out_of_range, ...) aborts the run and libFuzzer keeps the input as a
// crash; so do AddressSanitizer and UndefinedBehaviorSanitizer findings, leaks and hangs.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "reckoning/base/error.h"

namespace reckoning::fuzz {

inline std::string text_of(const uint8_t* data, size_t size) {
  return std::string(reinterpret_cast<const char*>(data), size);
}

// Runs f(); a reckoning::Error is the parser saying no - fine (printed when the environment has
// RECKONING_FUZZ_VERBOSE, to see what inputs are refused with).
template <class F>
void refusing_clearly(F&& f) {
  try {
    f();
  } catch (const reckoning::Error& e) {
    static const bool verbose = std::getenv("RECKONING_FUZZ_VERBOSE") != nullptr;
    if (verbose) std::fprintf(stderr, "refused: %s\n", e.what());
  }
}

// The input written to a file of this process (readers take paths), named with `suffix`.
inline std::string as_file(const uint8_t* data, size_t size, const std::string& suffix) {
  const std::string path = "/tmp/reckoning_fuzz_" + std::to_string(::getpid()) + suffix;
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  if (size > 0 && std::fwrite(data, 1, size, f) != size) __builtin_trap();
  std::fclose(f);
  return path;
}

}  // namespace reckoning::fuzz
