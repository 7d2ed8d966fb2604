// tokenizer_detect / tokenizer_load: every directory layout, the markers (config.json and
// tokenizer_config.json), their precedence and conflicts, and save() -> load() for both kinds.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/tokenizer.h"
#include "reckoning/text/word_tokenizer.h"
#include "support/test_util.h"

using reckoning::test::error_of;
using reckoning::test::TempDir;

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

// 256 byte symbols, "ab" (id 256), <|endoftext|> (257); one merge "a b".
nlohmann::json tiny_vocab() {
  nlohmann::json vocab = nlohmann::json::object();
  for (int b = 0; b < 256; ++b) vocab[gpt2_bytes_to_unicode(std::string(1, static_cast<char>(b)))] = b;
  vocab["ab"] = 256;
  vocab[kEndOfText] = 257;
  return vocab;
}

void write_vocab_merges(const TempDir& dir, const std::string& vocab_name, const std::string& merges_name) {
  dir.write(vocab_name, tiny_vocab().dump());
  dir.write(merges_name, "#version: 0.2\na b\n");
}

void write_tokenizer_json(const TempDir& dir) {
  nlohmann::json json = {{"model", {{"type", "BPE"}, {"vocab", tiny_vocab()}, {"merges", {"a b"}}}},
                         {"added_tokens", {{{"id", 257}, {"content", kEndOfText}, {"special", true}}}}};
  dir.write("tokenizer.json", json.dump());
}

void write_word(const TempDir& dir) {
  nlohmann::json json = {{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {" cat", "the"}}};
  dir.write(kWordTokenizerFile, json.dump());
}

}  // namespace

TEST(TokenizerDetect, EachLayoutAlone) {
  {
    TempDir dir;
    write_vocab_merges(dir, "vocab.json", "merges.txt");
    EXPECT_EQ(tokenizer_detect(dir.path()), "vocab.json+merges.txt");
    auto tok = tokenizer_load(dir.path());
    EXPECT_EQ(tok->kind(), "gpt2-bpe");
    EXPECT_EQ(tok->encode("ab<|endoftext|>"), (std::vector<int64_t>{256, 257}));
  }
  {
    TempDir dir;
    write_tokenizer_json(dir);
    EXPECT_EQ(tokenizer_detect(dir.path()), "tokenizer.json");
    EXPECT_EQ(tokenizer_load(dir.path())->encode("ab"), std::vector<int64_t>{256});
  }
  {
    TempDir dir;
    write_vocab_merges(dir, "encoder.json", "vocab.bpe");
    EXPECT_EQ(tokenizer_detect(dir.path()), "encoder.json+vocab.bpe");
    EXPECT_EQ(tokenizer_load(dir.path())->eos_id(), 257);
  }
  {
    TempDir dir;
    write_word(dir);
    EXPECT_EQ(tokenizer_detect(dir.path()), "word_tokenizer.json");
    auto tok = tokenizer_load(dir.path());
    EXPECT_EQ(tok->kind(), "word");
    EXPECT_EQ(tok->encode("the cat"), (std::vector<int64_t>{258, 257}));
  }
}

TEST(TokenizerDetect, MissingOrIncompleteFilesSayWhatWasFound) {
  TempDir dir;
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr(": tokenizer: expected vocab.json+merges.txt, tokenizer.json, "
                        "encoder.json+vocab.bpe or word_tokenizer.json, got no tokenizer files"));
  dir.write("vocab.json", tiny_vocab().dump());
  EXPECT_THAT(error_of([&] { tokenizer_load(dir.path()); }), HasSubstr("got vocab.json"));
  EXPECT_THAT(error_of([&] { tokenizer_load(dir.path() + "/nope"); }), HasSubstr("got no tokenizer files"));
}

TEST(TokenizerDetect, BpeLayoutsTogetherPreferVocabJsonThenTokenizerJson) {
  TempDir dir;
  write_vocab_merges(dir, "encoder.json", "vocab.bpe");
  write_tokenizer_json(dir);
  EXPECT_EQ(tokenizer_detect(dir.path()), "tokenizer.json");
  write_vocab_merges(dir, "vocab.json", "merges.txt");
  EXPECT_EQ(tokenizer_detect(dir.path()), "vocab.json+merges.txt");
}

TEST(TokenizerDetect, BothKindsNeedAMarker) {
  TempDir dir;
  write_vocab_merges(dir, "vocab.json", "merges.txt");
  write_word(dir);
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("expected the files of one tokenizer kind, or a marker \"reckoning_tokenizer\""));
  dir.write("tokenizer_config.json", R"({"tokenizer_class": "GPT2Tokenizer"})");
  EXPECT_EQ(tokenizer_detect(dir.path()), "vocab.json+merges.txt");
  dir.write("tokenizer_config.json", R"({"tokenizer_class": "ReckoningWordTokenizer"})");
  EXPECT_EQ(tokenizer_detect(dir.path()), "word_tokenizer.json");
  // reckoning_tokenizer wins over tokenizer_class in the same file.
  dir.write("tokenizer_config.json", R"({"tokenizer_class": "GPT2Tokenizer", "reckoning_tokenizer": "word"})");
  EXPECT_EQ(tokenizer_detect(dir.path()), "word_tokenizer.json");
  // config.json alone can name it too.
  fs::remove(dir.file("tokenizer_config.json"));
  dir.write("config.json", R"({"model_type": "gpt2", "reckoning_tokenizer": "gpt2-bpe"})");
  EXPECT_EQ(tokenizer_detect(dir.path()), "vocab.json+merges.txt");
}

TEST(TokenizerDetect, MarkerErrors) {
  TempDir dir;
  write_vocab_merges(dir, "vocab.json", "merges.txt");
  dir.write("tokenizer_config.json", R"({"tokenizer_class": "BertTokenizer"})");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("tokenizer_config.json: field 'tokenizer_class': expected GPT2Tokenizer, "
                        "GPT2TokenizerFast, ReckoningWordTokenizer or a BPE tokenizer.json's class (LlamaTokenizer, "));
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }), HasSubstr("got \"BertTokenizer\""));
  dir.write("tokenizer_config.json", R"({"reckoning_tokenizer": "sentencepiece"})");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("tokenizer_config.json: field 'reckoning_tokenizer': expected \"gpt2-bpe\", "
                        "\"word\" or \"hf-tokenizer\", got \"sentencepiece\""));
  dir.write("tokenizer_config.json", R"({"reckoning_tokenizer": "word"})");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("tokenizer 'word' (named by " + dir.file("tokenizer_config.json") +
                        "): expected word_tokenizer.json, got vocab.json, merges.txt"));
  dir.write("tokenizer_config.json", R"({"reckoning_tokenizer": "gpt2-bpe"})");
  dir.write("config.json", R"({"reckoning_tokenizer": "word"})");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("tokenizer_config.json: tokenizer 'gpt2-bpe': expected the tokenizer that "));
  dir.write("config.json", R"({"reckoning_tokenizer": 3})");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }),
              HasSubstr("config.json: field 'reckoning_tokenizer': expected \"gpt2-bpe\", \"word\" or \"hf-tokenizer\", got 3"));
  dir.write("config.json", "{");
  EXPECT_THAT(error_of([&] { tokenizer_detect(dir.path()); }), HasSubstr("config.json: invalid JSON"));
}

TEST(TokenizerSave, WritesTheMarkerAndLoadsBackTheSameTokenizer) {
  TempDir dir;
  write_vocab_merges(dir, "encoder.json", "vocab.bpe");
  auto bpe = tokenizer_load(dir.path());
  TempDir out;
  // An existing Hugging Face config keeps its other fields.
  out.write("tokenizer_config.json", R"({"model_max_length": 1024, "tokenizer_class": "Other"})");
  bpe->save(out.path());
  nlohmann::json marker = read_json_file(out.file("tokenizer_config.json"));
  EXPECT_EQ(marker["reckoning_tokenizer"], "gpt2-bpe");
  EXPECT_EQ(marker["tokenizer_class"], "GPT2Tokenizer");
  EXPECT_EQ(marker["model_max_length"], 1024);
  auto again = tokenizer_load(out.path());
  EXPECT_EQ(tokenizer_detect(out.path()), "vocab.json+merges.txt");
  EXPECT_EQ(again->encode("abba <|endoftext|>"), bpe->encode("abba <|endoftext|>"));

  // A word tokenizer saved into the same directory takes it over through the marker.
  auto word = word_tokenizer_build({"the cat", "the dog"}, 1, 0);
  word->save(out.path());
  EXPECT_EQ(tokenizer_detect(out.path()), "word_tokenizer.json");
  auto word_again = tokenizer_load(out.path());
  EXPECT_EQ(word_again->kind(), "word");
  EXPECT_EQ(word_again->encode("the dog"), word->encode("the dog"));
  EXPECT_EQ(word_again->vocab_size(), word->vocab_size());
}

TEST(TokenizerDetect, AGeneralTokenizerJsonIsKindHfTokenizer) {
  TempDir dir;
  // GPT-2's byte-level BPE plus a normalizer: not GPT-2's tokenizer.json any more.
  nlohmann::json json = {{"normalizer", {{"type", "NFC"}}},
                         {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
                         {"model", {{"type", "BPE"}, {"vocab", tiny_vocab()}, {"merges", {"a b"}}}},
                         {"added_tokens", {{{"id", 257}, {"content", kEndOfText}, {"special", true}}}}};
  dir.write("tokenizer.json", json.dump());
  EXPECT_EQ(tokenizer_detect(dir.path()), "tokenizer.json");
  EXPECT_EQ(tokenizer_kind(dir.path()), "hf-tokenizer");
  auto tok = tokenizer_load(dir.path());
  EXPECT_EQ(tok->kind(), "hf-tokenizer");
  EXPECT_EQ(tok->encode("ab<|endoftext|>"), (std::vector<int64_t>{256, 257}));
  EXPECT_EQ(tok->eos_id(), 257);
  // A GPT-2 tokenizer.json is gpt2-bpe by its content, hf-tokenizer when a marker or class says so.
  write_tokenizer_json(dir);
  EXPECT_EQ(tokenizer_kind(dir.path()), "gpt2-bpe");
  dir.write("tokenizer_config.json", R"({"tokenizer_class": "LlamaTokenizerFast"})");
  EXPECT_EQ(tokenizer_kind(dir.path()), "hf-tokenizer");
  dir.write("tokenizer_config.json", R"({"reckoning_tokenizer": "hf-tokenizer"})");
  EXPECT_EQ(tokenizer_load(dir.path())->encode("ab"), std::vector<int64_t>{256});
}
