// GPT-2 pre-tokenizer via PCRE2 (JIT when available); see pretokenizer.h.
#include "reckoning/text/pretokenizer.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <memory>

#include <c10/util/Exception.h>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

// Unicode White_Space (Python `regex` and HF tokenizers' `\s`), used for both `\s` and `\S`.
#define RECKONING_WS \
  "\\t\\n\\x{0B}\\f\\r \\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}\\x{202F}" \
  "\\x{205F}\\x{3000}"

constexpr const char* kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" RECKONING_WS "\\p{L}\\p{N}]+"
    "|[" RECKONING_WS "]+(?![^" RECKONING_WS "])|[" RECKONING_WS "]+";

struct CompiledPattern {
  pcre2_code* code = nullptr;

  CompiledPattern() {
    int error_code = 0;
    PCRE2_SIZE error_offset = 0;
    code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(kGpt2Pattern), PCRE2_ZERO_TERMINATED,
                         PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &error_code,
                         &error_offset, nullptr);
    if (code == nullptr) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(error_code, message, sizeof(message));
      throw Error(str("GPT-2 pre-tokenizer pattern, offset ", error_offset,
                      ": PCRE2 cannot compile it (", reinterpret_cast<const char*>(message), ")"));
    }
    // JIT is an optimisation only: without it (e.g. a PCRE2 built without JIT) matching still works.
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE);
  }
  ~CompiledPattern() { pcre2_code_free(code); }
};

const CompiledPattern& gpt2_pattern() {
  static const CompiledPattern pattern;
  return pattern;
}

struct MatchDataDeleter {
  void operator()(pcre2_match_data* data) const { pcre2_match_data_free(data); }
};

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  const CompiledPattern& pattern = gpt2_pattern();
  // One match block per thread: the compiled pattern is shared, match data must not be.
  thread_local std::unique_ptr<pcre2_match_data, MatchDataDeleter> match_data(
      pcre2_match_data_create_from_pattern(pattern.code, nullptr));
  std::vector<std::string_view> pieces;
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t pos = 0;
  while (pos < text.size()) {
    int rc = pcre2_match(pattern.code, subject, text.size(), pos, 0, match_data.get(), nullptr);
    if (rc == PCRE2_ERROR_NOMATCH) {
      pieces.push_back(text.substr(pos));  // trailing bytes that are not UTF-8
      break;
    }
    if (rc < 0) {
      PCRE2_UCHAR message[256];
      pcre2_get_error_message(rc, message, sizeof(message));
      throw Error(str("GPT-2 pre-tokenizer at byte ", pos, ": expected a match or none, got PCRE2 error ",
                      rc, " (", reinterpret_cast<const char*>(message), ")"));
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(match_data.get());
    size_t start = ovector[0], end = ovector[1];
    // Every valid character matches one alternative, so a gap holds only bytes that are not UTF-8.
    if (start > pos) pieces.push_back(text.substr(pos, start - pos));
    TORCH_INTERNAL_ASSERT(end > start, "GPT-2 pattern matched the empty string");
    pieces.push_back(text.substr(start, end - start));
    pos = end;
  }
  return pieces;
}

std::vector<TextSegment> split_special_tokens(std::string_view text,
                                              const std::vector<std::string>& specials) {
  std::vector<TextSegment> segments;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t best = std::string_view::npos;
    int best_index = -1;
    for (size_t i = 0; i < specials.size(); ++i) {
      if (specials[i].empty()) continue;
      size_t at = text.find(specials[i], pos);
      if (at == std::string_view::npos) continue;
      if (at < best || (at == best && specials[i].size() > specials[best_index].size())) {
        best = at;
        best_index = static_cast<int>(i);
      }
    }
    if (best_index < 0) break;
    if (best > pos) segments.push_back({text.substr(pos, best - pos), -1});
    segments.push_back({text.substr(best, specials[best_index].size()), best_index});
    pos = best + specials[best_index].size();
  }
  if (pos < text.size()) segments.push_back({text.substr(pos), -1});
  return segments;
}

bool utf8_is_valid(std::string_view bytes) {
  size_t i = 0, n = bytes.size();
  while (i < n) {
    auto b = static_cast<unsigned char>(bytes[i]);
    if (b < 0x80) {
      ++i;
      continue;
    }
    int len = 0;
    uint32_t cp = 0;
    if ((b & 0xE0) == 0xC0) { len = 2; cp = b & 0x1F; }
    else if ((b & 0xF0) == 0xE0) { len = 3; cp = b & 0x0F; }
    else if ((b & 0xF8) == 0xF0) { len = 4; cp = b & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (int k = 1; k < len; ++k) {
      auto c = static_cast<unsigned char>(bytes[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

}  // namespace reckoning
