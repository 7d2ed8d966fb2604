// Integers from text without std::stoll's exceptions (std::out_of_range escaping a parser would be
// an unclear error): the value, or a reckoning::Error naming `where`, the expectation and the text.
#pragma once

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "reckoning/base/error.h"

namespace reckoning {

// `text` whole as a decimal integer (an optional leading '-') that fits in 64 bits.
inline int64_t parse_int64(std::string_view text, const std::string& where) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  check(ec == std::errc() && end == text.data() + text.size() && !text.empty(), where,
        "an integer within 64 bits", str("'", std::string(text.substr(0, 40)), text.size() > 40 ? "...'" : "'"));
  return value;
}

}  // namespace reckoning
