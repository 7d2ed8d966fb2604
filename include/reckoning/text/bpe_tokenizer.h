// Exact GPT-2 byte-level BPE (OpenAI gpt-2 encoder.py; Hugging Face GPT2Tokenizer), in three
// separable pieces: the pre-tokenizer (pretokenizer.h), the BPE model (bytes of one pre-token ->
// ids, merges applied by rank, results cached per pre-token) and the decoder (ids -> bytes through
// GPT-2's bytes_to_unicode table).
//
// Special tokens ("<|endoftext|>", and Hugging Face added tokens) are split out of the text before
// pre-tokenization. Every one of the 256 byte symbols must be in the vocabulary, so any byte
// string encodes, and decode(encode(s)) == s for every s.
// Not here: normalizers, add_prefix_space, dropout, unknown tokens, other BPE flavours
// (SentencePiece, continuing-subword prefixes); loaders refuse those with an error.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "reckoning/text/tokenizer.h"

namespace reckoning {

// GPT-2's bytes_to_unicode(): the printable code point that stands for byte `b` in vocabularies.
uint32_t gpt2_byte_to_unicode(uint8_t b);
// Bytes -> their byte-level string (UTF-8 of the mapped code points), e.g. " hi" -> "Ġhi".
std::string gpt2_bytes_to_unicode(std::string_view bytes);
// The inverse; std::nullopt if `symbol` is not UTF-8 or holds a code point outside the table.
std::optional<std::string> gpt2_unicode_to_bytes(std::string_view symbol);

// One merge rule "left right" (byte-level strings); `line` is its 1-based line in the merges file
// (0 when it did not come from a file) so that errors can name it.
struct BpeMerge {
  std::string left;
  std::string right;
  int64_t line = 0;
};

// "a b" -> {a, b}; throws naming `where` unless the line is exactly two non-empty symbols separated
// by one space (merges.txt lines, tokenizer.json's string merges).
BpeMerge bpe_merge_parse(std::string_view line, const std::string& where);

// The merge rules of a BPE model by pair of symbol ids, and the merge loop: the lowest-ranked pair
// first, leftmost first among equal ranks, until no pair has a rule (GPT-2's encoder.py and
// Hugging Face tokenizers' Word::merge_all give the same result).
class BpeMergeTable {
 public:
  // Adds rule number `rank`: (left, right) -> merged. Returns the rank of the pair's existing
  // rule instead, without adding, when it has one.
  std::optional<int32_t> add(int32_t left, int32_t right, int32_t rank, int32_t merged);
  // Merges `symbols` (ids in text order).
  std::vector<int32_t> apply(std::vector<int32_t> symbols) const;

 private:
  struct Rule {
    int32_t rank;
    int32_t merged;
  };
  std::unordered_map<uint64_t, Rule> rules_;  // (left id << 32 | right id) -> rule
};

// Where the vocabulary and merges came from, for error messages ("merges.txt:17: ...").
struct BpeSource {
  std::string vocab = "vocab";    // e.g. "model/vocab.json"
  std::string merges = "merges";  // e.g. "model/merges.txt"
};

class BpeTokenizer : public Tokenizer {
 public:
  // `vocab`: byte-level token -> id, ids dense in [0, n); `merges` in rank order (first = applied
  // first); `special_tokens`: literal strings split out of text before pre-tokenization, each in
  // `vocab`. "<|endoftext|>" must be in `vocab` (it is the EOS id) and is always special.
  // Throws reckoning::Error naming `source` for a vocabulary or merge that breaks these rules.
  BpeTokenizer(const std::unordered_map<std::string, int64_t>& vocab,
               const std::vector<BpeMerge>& merges, std::vector<std::string> special_tokens,
               const BpeSource& source = {});

  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t eos_id() const override { return eos_id_; }
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::string kind() const override { return "gpt2-bpe"; }
  // vocab.json + merges.txt + tokenizer_config.json (see bpe_tokenizer_save).
  void save(const std::string& dir) const override;

  // encode() without special tokens: "<|endoftext|>" is ordinary text (what the npm
  // gpt-3-encoder and tiktoken's encode_ordinary do).
  std::vector<int64_t> encode_ordinary(std::string_view text) const;
  // The BPE model alone: the ids of one pre-token's bytes (cached).
  std::vector<int32_t> bpe_piece(std::string_view piece) const;
  // The BPE model without its cache, for checking the cache and benchmarking.
  std::vector<int32_t> bpe_piece_uncached(std::string_view piece) const;
  // Entries kept by the pre-token cache before it is emptied; 0 turns caching off.
  void set_cache_capacity(size_t capacity);

  const std::string& token(int64_t id) const;  // byte-level string of an id
  std::optional<int64_t> token_id(const std::string& token) const;
  const std::vector<BpeMerge>& merges() const { return merges_; }
  const std::vector<std::string>& special_tokens() const { return special_tokens_; }

 private:
  void append_ordinary(std::string_view text, std::vector<int64_t>& out) const;

  std::vector<std::string> tokens_;       // id -> byte-level string
  std::vector<std::string> token_bytes_;  // id -> the bytes it decodes to
  std::unordered_map<std::string, int64_t> token_ids_;
  std::vector<BpeMerge> merges_;
  BpeMergeTable merge_table_;
  int32_t byte_ids_[256] = {};
  std::vector<std::string> special_tokens_;
  std::vector<int64_t> special_ids_;
  int64_t eos_id_ = -1;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
  size_t cache_capacity_ = 1 << 18;
};

// vocab.json (or OpenAI's encoder.json) + merges.txt (or vocab.bpe). Specials: "<|endoftext|>"
// plus the added tokens of `dir`/tokenizer_config.json's "added_tokens_decoder", if that exists.
// Errors name the file and, for merges, the line.
std::unique_ptr<BpeTokenizer> bpe_tokenizer_load(const std::string& vocab_path,
                                                 const std::string& merges_path);
// Hugging Face tokenizers' tokenizer.json with a BPE model (merges as "a b" strings or [a, b]
// pairs); its added tokens are the special tokens. The normalizer is ignored; a pre-tokenizer
// other than ByteLevel (add_prefix_space false) is refused.
std::unique_ptr<BpeTokenizer> bpe_tokenizer_load_json(const std::string& path);
// Writes `dir`/vocab.json (ids in order), `dir`/merges.txt ("#version: 0.2" header) and the
// tokenizer_config.json marker (tokenizer_class GPT2Tokenizer, added_tokens_decoder), loadable by
// Hugging Face transformers' GPT2Tokenizer.
void bpe_tokenizer_save(const BpeTokenizer& tokenizer, const std::string& dir);

}  // namespace reckoning
