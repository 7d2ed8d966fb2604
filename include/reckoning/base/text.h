// Small string helpers shared by the readers and parsers.
#pragma once

#include <string>

namespace reckoning {

// `s` without leading and trailing spaces, tabs, carriage returns and newlines.
inline std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r\n") - a + 1);
}

}  // namespace reckoning
