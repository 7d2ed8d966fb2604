// GPT-2's pre-tokenizer: splits text into the pieces that byte-level BPE (bpe_tokenizer.h) and the
// word tokenizer (word_tokenizer.h) then turn into ids, and splits out special tokens first.
//
// Follows OpenAI's gpt-2 encoder.py pattern
//   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
// run by PCRE2 in UTF + UCP mode. `\s` is spelled out as Unicode's White_Space property, which is
// what Python's `regex` (OpenAI's reference) and Hugging Face tokenizers use; PCRE2's own UCP `\s`
// would add U+180E, and JavaScript's `\s` drops U+0085 and adds U+FEFF (docs/TOKENIZER.md).
// Not UTF-8 input is accepted: each maximal run of bytes that is not valid UTF-8 becomes a piece of
// its own (PCRE2_MATCH_INVALID_UTF), so every byte of the input lands in exactly one piece.
// Not here: vocabularies, merges, ids.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace reckoning {

// The pieces of `text` in order; their concatenation is `text` (views into it).
std::vector<std::string_view> gpt2_pretokenize(std::string_view text);

// A stretch of text that is either ordinary text or exactly one special token.
struct TextSegment {
  std::string_view text;
  int special = -1;  // index into the special-token list, -1 for ordinary text
};

// Splits `text` at every occurrence of a special token (leftmost first; the longest one where
// several start at the same byte). Empty ordinary segments are omitted. `accept` (if given) may
// refuse a match - (special index, begin, end) -> false - which then stays ordinary text, and the
// search goes on after it.
std::vector<TextSegment> split_special_tokens(
    std::string_view text, const std::vector<std::string>& specials,
    const std::function<bool(int, size_t, size_t)>& accept = nullptr);

// True if `bytes` is well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF).
bool utf8_is_valid(std::string_view bytes);

}  // namespace reckoning
