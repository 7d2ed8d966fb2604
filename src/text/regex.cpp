// PCRE2 wrapper; see regex.h.
#include "reckoning/text/regex.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include "reckoning/base/error.h"
#include "reckoning/text/utf8.h"

namespace reckoning {

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR message[256] = {0};
  // A negative result (an unknown code, a short buffer) leaves the buffer unwritten or cut.
  if (pcre2_get_error_message(code, message, sizeof(message)) < 0) return str("PCRE2 error code ", code);
  return reinterpret_cast<const char*>(message);
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

Regex::Regex(const std::string& pattern, const std::string& where) : pattern_(pattern), where_(where) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
                                   &error_offset, nullptr);
  check(code != nullptr, where, "a pattern PCRE2 can compile",
        str("'", pattern, "': ", pcre2_message(error_code), " at offset ", error_offset));
  // JIT is an optimisation only: without it (a PCRE2 built without JIT) matching still works.
  pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  code_ = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

std::vector<std::pair<size_t, size_t>> Regex::find_all(std::string_view text) const {
  auto* code = static_cast<pcre2_code*>(code_);
  // One match block per call: the compiled pattern is shared between threads, match data is not.
  std::unique_ptr<pcre2_match_data, MatchDataDeleter> match_data(pcre2_match_data_create_from_pattern(code, nullptr));
  std::vector<std::pair<size_t, size_t>> matches;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    const int rc = pcre2_match(code, subject, text.size(), pos, 0, match_data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) break;
    check(rc >= 0, str(where_, " at byte ", pos), "a match or none", str("PCRE2 error ", rc, " (", pcre2_message(rc), ")"));
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data.get());
    const size_t start = ovector[0], end = ovector[1];
    if (end > start) {
      matches.emplace_back(start, end);
      pos = end;
    } else {  // an empty match: look again from the next character
      const Utf8Char c = utf8_char_at(text, start);
      pos = start + (c.length > 0 ? c.length : 1);
    }
  }
  return matches;
}

}  // namespace reckoning
