// A Hugging Face `tokenizer.json` tokenizer in its general form (kind "hf-tokenizer"): what Llama 2 /
// 3, TinyLlama, SmolLM, Mistral and Qwen 2 / 2.5 / 3 publish, run the way the `tokenizers`
// library runs it, id for id (tests/text/hf_tokenizer_peer_test.cpp checks that against the library
// itself on 10 000 strings per tokenizer).
//
// encode(text) (the library's encode(text, add_special_tokens=False)):
//   1. added tokens whose "normalized" is false are split out of the raw text (leftmost, longest
//      first; "lstrip" / "rstrip" take the whitespace beside them; a "single_word" token only
//      where no word character (Unicode's \w) touches it);
//   2. every other stretch is normalized (hf_pipeline.h), and added tokens whose "normalized" is
//      true are split out of the normalized text (their content normalized the same way);
//   3. every other stretch is pre-tokenized into pieces, and each piece goes through the BPE model:
//      its characters are symbols (with "ignore_merges", a piece that is itself a token is that
//      token), a character outside the vocabulary becomes its UTF-8 bytes' "<0xAB>" tokens with
//      "byte_fallback", else "unk_token" (runs of them one token with "fuse_unk"), else nothing;
//      then merges apply by rank.
// decode(ids): every id's token string (an added token's content) through the decoder; ids inside
// [0, vocab_size()) that name no token are skipped, as the library skips them.
// BOS / EOS: from tokenizer_config.json ("bos_token", "eos_token", "add_bos_token"), else from the
// post-processor's template (bos_id(), adds_bos()); encode() itself never adds them - the prompt
// builder does, per model family.
// Not here: WordPiece / Unigram / WordLevel models, BPE dropout, continuing-subword prefixes and
// end-of-word suffixes - refused on load, naming the field.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/text/hf_pipeline.h"
#include "reckoning/text/tokenizer.h"

namespace reckoning {

struct HfAddedToken {
  int64_t id = -1;
  std::string content;
  bool special = false, lstrip = false, rstrip = false, normalized = false, single_word = false;
};

class HfTokenizer : public Tokenizer {
 public:
  // `tokenizer_json`: the parsed tokenizer.json; `tokenizer_config`: the parsed
  // tokenizer_config.json (or null); `source` names the file in errors. Throws reckoning::Error
  // naming the file and field of anything it cannot run exactly.
  HfTokenizer(nlohmann::json tokenizer_json, nlohmann::json tokenizer_config, const std::string& source);

  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t eos_id() const override { return eos_id_; }
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::string kind() const override { return "hf-tokenizer"; }
  // tokenizer.json and tokenizer_config.json as loaded (plus the marker).
  void save(const std::string& dir) const override;

  std::optional<int64_t> bos_id() const override { return bos_id_; }
  bool adds_bos() const override { return adds_bos_; }  // whether the model expects BOS before a text
  // The BPE model alone on one pre-tokenized piece (cached).
  std::vector<int32_t> bpe_piece(std::string_view piece) const;
  const std::string& token(int64_t id) const;  // "" for an id that names no token
  std::optional<int64_t> token_id(const std::string& token) const;
  const std::vector<HfAddedToken>& added_tokens() const { return added_; }

 private:
  void append_piece_ids(std::string_view piece, std::vector<int64_t>& out) const;

  nlohmann::json json_, config_;
  HfNormalizer normalizer_;
  HfPreTokenizer pre_tokenizer_;
  HfDecoder decoder_;
  std::vector<std::string> tokens_;  // id -> token string ("" for no token)
  std::unordered_map<std::string, int64_t> token_ids_;
  BpeMergeTable merges_;
  std::vector<HfAddedToken> added_;
  // The added tokens split out of the raw text (step 1) and of the normalized text (step 2): their
  // contents (normalized for step 2) and indices into added_.
  struct AddedSet {
    std::vector<std::string> contents;
    std::vector<size_t> tokens;
  };
  AddedSet raw_added_, normalized_added_;
  void append_with_added(std::string_view text, const AddedSet& set, bool at_start, bool normalized,
                         std::vector<int64_t>& out) const;
  bool ignore_merges_ = false, byte_fallback_ = false, fuse_unk_ = false;
  int64_t unk_id_ = -1;
  int32_t byte_ids_[256];  // "<0xAB>" tokens, -1 where absent
  int64_t eos_id_ = -1;
  std::optional<int64_t> bos_id_;
  bool adds_bos_ = false;

  mutable std::mutex cache_mutex_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Whether a parsed tokenizer.json is GPT-2's byte-level BPE exactly (no normalizer, a ByteLevel
// pre-tokenizer without a prefix space, or none): such a file loads as kind "gpt2-bpe".
bool tokenizer_json_is_gpt2(const nlohmann::json& tokenizer_json);

// `dir`/tokenizer.json with `dir`/tokenizer_config.json when present.
std::unique_ptr<HfTokenizer> hf_tokenizer_load(const std::string& dir);

}  // namespace reckoning
