// The pieces of a Hugging Face `tokenizer.json` around its model, as the `tokenizers` library runs
// them: the normalizer (text -> text), the pre-tokenizer (text -> pieces the model encodes one by
// one) and the decoder (token strings -> text). hf_tokenizer.h puts them together with the BPE
// model and the added tokens.
//
// Supported, with the library's semantics:
//   normalizers     NFC, NFD, NFKC, NFKD (utf8proc), Lowercase (Rust's char::to_lowercase:
//                   full mappings, per character), Prepend, Replace (String or Regex), Strip, Sequence
//   pre-tokenizers  Split (String or Regex pattern; behaviours Isolated, Removed,
//                   MergedWithPrevious, MergedWithNext, Contiguous; invert), ByteLevel
//                   (add_prefix_space, use_regex = GPT-2's pattern), Metaspace (replacement,
//                   prepend_scheme always / first / never or the older add_prefix_space, split),
//                   Digits (individual_digits; digits are Unicode N*), Sequence
//   decoders        ByteLevel, Metaspace, Replace (String), ByteFallback, Fuse, Strip, Sequence
// Anything else is refused with an error naming the file and the field (e.g. BertNormalizer,
// Precompiled, Whitespace, WordPiece decoders).
//
// Regex patterns are Oniguruma's (what `tokenizers` compiles); they run here on PCRE2 in UTF + UCP
// mode, which reads them the same except for `\s` / `\S`: those are rewritten to Unicode's
// White_Space property (Oniguruma's meaning; PCRE2's own also takes U+180E), and a `\S` inside a
// character class, which has no such rewriting, is refused.
//
// Text is bytes: the library works on valid UTF-8 only; here a byte that is not part of valid
// UTF-8 passes through normalizers unchanged and lands in exactly one piece.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

// One piece of pre-tokenized text. `at_start`: the piece begins at the start of the text passed
// to encode (Metaspace's prepend_scheme "first" prepends only there).
struct HfPiece {
  std::string text;
  bool at_start = false;
};

// Oniguruma pattern -> the PCRE2 pattern (regex.h) that Split and Replace run (the `\s` / `\S` rewriting above). Throws
// naming `where` for a `\S` inside a character class.
std::string hf_regex_translate(const std::string& pattern, const std::string& where);

// Unicode normalization of the valid UTF-8 runs of `text` (form "NFC", "NFD", "NFKC" or "NFKD").
std::string unicode_normalize(std::string_view text, const std::string& form);

// A normalized stretch of text. `start_kept`: its first character still comes from the first
// character of the input (false when a Strip or a deleting Replace removed the start) - what the
// library's offsets say, and what Metaspace's prepend_scheme "first" looks at.
struct HfNormalized {
  std::string text;
  bool start_kept = true;
};

using HfNormalizer = std::function<HfNormalized(HfNormalized)>;
using HfPreTokenizer = std::function<std::vector<HfPiece>(std::vector<HfPiece>)>;
using HfDecoder = std::function<std::vector<std::string>(std::vector<std::string>)>;

// From the tokenizer.json fields; null gives the identity. `where` names the file and field
// ("tokenizer.json: normalizer").
HfNormalizer hf_normalizer_from_json(const nlohmann::json& json, const std::string& where);
HfPreTokenizer hf_pre_tokenizer_from_json(const nlohmann::json& json, const std::string& where);
// A null decoder joins the tokens with spaces (the library's behaviour); the result of the chain is
// concatenated by the caller.
HfDecoder hf_decoder_from_json(const nlohmann::json& json, const std::string& where);

// Whether a pre-tokenizer or decoder (recursively through Sequence) contains a ByteLevel step:
// the model's vocabulary is then written in GPT-2's byte-level alphabet.
bool hf_has_byte_level(const nlohmann::json& json);

}  // namespace reckoning
