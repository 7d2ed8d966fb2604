// Word-level tokenizer for small models trained from scratch on synthetic data, where GPT-2's
// 50257-token vocabulary would make the model mostly output layer.
//
// Tokens: ids 0..255 are the bytes (fallback, so any text encodes losslessly), id 256 is
// "<|endoftext|>" (EOS), ids 257.. are whole GPT-2 pre-tokens (pretokenizer.h) with their leading
// space (" son", "fact", ":"... ) found in a corpus, most frequent first, ties in byte order.
// A pre-token that is not a word is spelled in bytes, so decode(encode(s)) == s for every s.
// Saved as one JSON file, word_tokenizer.json:
//   {"format": "reckoning-word-tokenizer", "version": 1, "words": [" son", "fact", ...]}
// Not here: subword merges (use gpt2-bpe), normalisation, unknown-token ids.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "reckoning/text/tokenizer.h"

namespace reckoning {

inline constexpr const char* kWordTokenizerFile = "word_tokenizer.json";

class WordTokenizer : public Tokenizer {
 public:
  static constexpr int64_t kEosId = 256;
  static constexpr int64_t kFirstWordId = 257;

  // `words` get ids 257, 258, ...; each must be valid UTF-8, at least two bytes long, unique and
  // not "<|endoftext|>". Throws reckoning::Error naming `where` and the index otherwise.
  explicit WordTokenizer(std::vector<std::string> words, const std::string& where = "words");

  std::vector<int64_t> encode(const std::string& text) const override;
  std::string decode(const std::vector<int64_t>& ids) const override;
  int64_t eos_id() const override { return kEosId; }
  int64_t vocab_size() const override { return kFirstWordId + static_cast<int64_t>(words_.size()); }
  std::string kind() const override { return "word"; }
  // word_tokenizer.json + tokenizer_config.json marker.
  void save(const std::string& dir) const override;

  const std::vector<std::string>& words() const { return words_; }

 private:
  std::vector<std::string> words_;
  std::unordered_map<std::string, int64_t> word_ids_;
};

// Counts the pre-tokens of `corpus` (each text pre-tokenized on its own, "<|endoftext|>" split
// out) and keeps those of at least two bytes, valid UTF-8, seen >= `min_count` times; most
// frequent first, ties in byte order; at most `max_size` - 257 of them so that vocab_size() <=
// `max_size` (0 = no limit). Throws reckoning::Error for min_count < 1 or 0 < max_size < 257.
std::unique_ptr<WordTokenizer> word_tokenizer_build(const std::vector<std::string>& corpus,
                                                    int64_t min_count, int64_t max_size);

// Reads the texts of a corpus file: JSON lines (name ending in .jsonl or .json) whose `fields`
// hold a string or an array of strings, else plain text, one text per line. Errors name the file,
// line and field.
std::vector<std::string> word_tokenizer_read_corpus(const std::string& path,
                                                    const std::vector<std::string>& fields = {"text"});

std::unique_ptr<WordTokenizer> word_tokenizer_load(const std::string& path);
// Writes `dir`/word_tokenizer.json and the tokenizer_config.json marker.
void word_tokenizer_save(const WordTokenizer& tokenizer, const std::string& dir);

}  // namespace reckoning
