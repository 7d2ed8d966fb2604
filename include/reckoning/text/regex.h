// A compiled PCRE2 pattern (UTF + UCP, JIT where available), for the pre-tokenizers' split patterns.
// Input need not be valid UTF-8: bytes that are not part of a valid character never match
// (PCRE2_MATCH_INVALID_UTF), so they fall in the gaps between matches.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace reckoning {

class Regex {
 public:
  // Throws reckoning::Error naming `where` and PCRE2's message when `pattern` does not compile.
  Regex(const std::string& pattern, const std::string& where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Non-overlapping matches, leftmost first, as [begin, end) byte offsets; an empty match is
  // skipped (the search goes on one character later). Safe to call from several threads.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_, where_;
  void* code_ = nullptr;  // pcre2_code*
};

}  // namespace reckoning
