// The one error type of the reckoning library.
//
// Library code throws reckoning::Error for every problem with input (files, configs, data,
// command-line values); only the executable's main() turns it into an exit code. Messages say
// where (file, line, field or tensor), what was expected and what was found. Internal invariants
// use TORCH_INTERNAL_ASSERT instead; they are bugs, not input errors.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace reckoning {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// "<where>: expected <expected>, got <got>"; `where` is e.g. "model.safetensors: tensor 'wte.weight'"
// or "train.jsonl:12: field 'answer'".
[[noreturn]] inline void throw_error(const std::string& where, const std::string& expected,
                                     const std::string& got) {
  throw Error(where + ": expected " + expected + ", got " + got);
}

// Throws throw_error(where, expected, got) unless `ok`.
inline void check(bool ok, const std::string& where, const std::string& expected,
                  const std::string& got) {
  if (!ok) throw_error(where, expected, got);
}

// Streams its arguments into a string: str("shape [", a, ", ", b, "]").
template <class... Args>
std::string str(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

}  // namespace reckoning
