// GPT-2 pre-tokenizer (regex.h: PCRE2, JIT when available); see pretokenizer.h.
#include "reckoning/text/pretokenizer.h"

#include "reckoning/base/error.h"
#include "reckoning/text/regex.h"
#include "reckoning/text/utf8.h"

namespace reckoning {

namespace {

// GPT-2's pattern with `\s` spelled out as Unicode White_Space (Python `regex` and HF tokenizers).
std::string gpt2_pattern_text() {
  const std::string ws = kPcre2WhiteSpace;
  return "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^" + ws + "\\p{L}\\p{N}]+|[" + ws + "]+(?![^" + ws +
         "])|[" + ws + "]+";
}

const Regex& gpt2_pattern() {
  static const Regex pattern(gpt2_pattern_text(), "GPT-2 pre-tokenizer pattern");
  return pattern;
}

}  // namespace

std::vector<std::string_view> gpt2_pretokenize(std::string_view text) {
  std::vector<std::string_view> pieces;
  size_t pos = 0;
  for (const auto& [start, end] : gpt2_pattern().find_all(text)) {
    // Every valid character matches one alternative, so a gap holds only bytes that are not UTF-8.
    if (start > pos) pieces.push_back(text.substr(pos, start - pos));
    pieces.push_back(text.substr(start, end - start));
    pos = end;
  }
  if (pos < text.size()) pieces.push_back(text.substr(pos));  // trailing bytes that are not UTF-8
  return pieces;
}

std::vector<TextSegment> split_special_tokens(std::string_view text, const std::vector<std::string>& specials,
                                              const std::function<bool(int, size_t, size_t)>& accept) {
  std::vector<TextSegment> segments;
  size_t pos = 0, ordinary_from = 0;  // search from `pos`; ordinary text runs from `ordinary_from`
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
    const size_t end = best + specials[best_index].size();
    pos = end;
    if (accept && !accept(best_index, best, end)) continue;
    if (best > ordinary_from) segments.push_back({text.substr(ordinary_from, best - ordinary_from), -1});
    segments.push_back({text.substr(best, end - best), best_index});
    ordinary_from = end;
  }
  if (ordinary_from < text.size()) segments.push_back({text.substr(ordinary_from), -1});
  return segments;
}

bool utf8_is_valid(std::string_view bytes) {
  for (size_t i = 0; i < bytes.size();) {
    const Utf8Char c = utf8_char_at(bytes, i);
    if (c.length == 0) return false;
    i += c.length;
  }
  return true;
}

}  // namespace reckoning
