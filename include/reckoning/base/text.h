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

// `s` without trailing spaces, tabs, carriage returns and newlines.
inline std::string trim_end(const std::string& s) {
  const size_t b = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(0, b + 1);
}

// `s` with every occurrence of `from` (not empty) replaced by `to`, left to right.
inline std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
  return s;
}

}  // namespace reckoning
