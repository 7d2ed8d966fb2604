// Word tokenizer: deterministic vocabulary order, min_count / max_size, byte fallback, EOS,
// lossless round trips of any bytes, file format and its errors, corpus reading.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/word_tokenizer.h"
#include "support/test_util.h"

using reckoning::test::error_of;
using reckoning::test::TempDir;

using namespace reckoning;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

const std::vector<std::string> kCorpus = {"the cat sat on the mat.", "the dog, the cat",
                                          "fact_1: Bob is kind."};

}  // namespace

TEST(WordTokenizerBuild, OrdersByCountThenBytes) {
  auto tok = word_tokenizer_build(kCorpus, 1, 0);
  // " cat", " the" and "the" twice each (ties in byte order), then the rest once each; single
  // bytes ("." "," "_" "1" ":") are left to the byte ids.
  EXPECT_THAT(tok->words(), ElementsAre(" cat", " the", "the", " Bob", " dog", " is", " kind",
                                        " mat", " on", " sat", "fact"));
  EXPECT_EQ(tok->vocab_size(), 257 + 11);
  EXPECT_EQ(tok->eos_id(), 256);
  EXPECT_THAT(word_tokenizer_build(kCorpus, 2, 0)->words(), ElementsAre(" cat", " the", "the"));
  EXPECT_THAT(word_tokenizer_build(kCorpus, 1, 259)->words(), ElementsAre(" cat", " the"));
  EXPECT_EQ(word_tokenizer_build(kCorpus, 1, 259)->vocab_size(), 259);
}

TEST(WordTokenizerBuild, RefusesBadLimits) {
  EXPECT_THAT(error_of([] { word_tokenizer_build(kCorpus, 0, 0); }),
              HasSubstr("word_tokenizer_build: min_count: expected an integer >= 1, got 0"));
  EXPECT_THAT(error_of([] { word_tokenizer_build(kCorpus, 1, 100); }),
              HasSubstr("max_size: expected 0 (no limit) or at least 257"));
}

TEST(WordTokenizerEncode, WordsBytesAndEos) {
  auto tok = word_tokenizer_build(kCorpus, 1, 0);
  EXPECT_EQ(tok->encode("the cat."), (std::vector<int64_t>{259, 257, '.'}));
  // An unknown word is spelled in bytes, its leading space included.
  EXPECT_EQ(tok->encode(" Cat"), (std::vector<int64_t>{' ', 'C', 'a', 't'}));
  EXPECT_EQ(tok->encode("the<|endoftext|>"), (std::vector<int64_t>{259, 256}));
  EXPECT_EQ(tok->decode({259, 256, 0xC3, 0xA9}), "the<|endoftext|>\xc3\xa9");
  EXPECT_THAT(error_of([&] { tok->decode({1, 268}); }),
              HasSubstr("decode: ids[1]: expected a token id in [0, 268), got 268"));
}

TEST(WordTokenizerEncode, AnyBytesRoundTrip) {
  auto tok = word_tokenizer_build(kCorpus, 1, 0);
  std::mt19937 rng(11);
  const std::vector<std::string> fragments = {" the", " cat", "é", "日本", "\xe6\x97", "\xff", " ",
                                              "\n\n", "'s", "😀", "<|endoftext|>", "<|", "1"};
  for (int trial = 0; trial < 3000; ++trial) {
    std::string s;
    for (int n = rng() % 25; n > 0; --n)
      s += rng() % 4 == 0 ? std::string(1, static_cast<char>(rng() % 256)) : fragments[rng() % fragments.size()];
    ASSERT_EQ(tok->decode(tok->encode(s)), s) << "trial " << trial;
  }
}

TEST(WordTokenizerFile, SaveLoadRoundTrip) {
  TempDir dir;
  auto tok = word_tokenizer_build(kCorpus, 1, 0);
  tok->save(dir.path());
  auto loaded = word_tokenizer_load(dir.file(kWordTokenizerFile));
  EXPECT_EQ(loaded->words(), tok->words());
  EXPECT_EQ(read_json_file(dir.file("tokenizer_config.json"))["reckoning_tokenizer"], "word");
}

TEST(WordTokenizerFile, ErrorsNameTheFileAndEntry) {
  TempDir dir;
  std::string path = dir.file(kWordTokenizerFile);
  auto broken = [&](const nlohmann::json& json) {
    write_json_file_atomic(path, json);
    return error_of([&] { word_tokenizer_load(path); });
  };
  nlohmann::json good = {{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {" a", "bc"}}};
  EXPECT_EQ(broken(good), "(no error)");
  EXPECT_THAT(error_of([&] { word_tokenizer_load(dir.file("missing.json")); }), HasSubstr("cannot open"));
  EXPECT_THAT(broken({{"format", "other"}, {"version", 1}, {"words", {}}}),
              HasSubstr("word_tokenizer.json: field 'format': expected \"reckoning-word-tokenizer\", got \"other\""));
  // A number there threw the JSON library's type_error (found by fuzz/word_tokenizer_fuzz.cpp).
  EXPECT_THAT(broken({{"format", 256}, {"version", 1}, {"words", {}}}),
              HasSubstr("word_tokenizer.json: field 'format': expected \"reckoning-word-tokenizer\", got 256"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 2}, {"words", {}}}),
              HasSubstr("field 'version': expected 1, got 2"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 1}}),
              HasSubstr("field 'words': expected an array of strings, got none"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {" a", 5}}}),
              HasSubstr("word_tokenizer.json: words[1]: expected a string, got 5"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {" a", " a"}}}),
              HasSubstr("words[1]: expected each word once, got ' a', also at index 0"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {"x"}}}),
              HasSubstr("words[0]: expected a word of at least two bytes"));
  EXPECT_THAT(broken({{"format", "reckoning-word-tokenizer"}, {"version", 1}, {"words", {"<|endoftext|>"}}}),
              HasSubstr("words[0]: expected an ordinary word"));
  write_file_atomic(path, "[");
  EXPECT_THAT(error_of([&] { word_tokenizer_load(path); }), HasSubstr("word_tokenizer.json: invalid JSON"));
}

TEST(WordTokenizerCorpus, JsonLinesAndPlainText) {
  TempDir dir;
  dir.write("c.jsonl", "{\"text\": \"the cat\", \"facts\": [\"a b\", \"c\"]}\n\n{\"text\": \"x\", \"facts\": []}\n");
  EXPECT_THAT(word_tokenizer_read_corpus(dir.file("c.jsonl")), ElementsAre("the cat", "x"));
  EXPECT_THAT(word_tokenizer_read_corpus(dir.file("c.jsonl"), {"facts", "text"}),
              ElementsAre("a b", "c", "the cat", "x"));
  EXPECT_THAT(error_of([&] { word_tokenizer_read_corpus(dir.file("c.jsonl"), {"question"}); }),
              HasSubstr("c.jsonl:1: field 'question': expected a string or an array of strings, got none"));
  dir.write("d.jsonl", "{\"text\": \"ok\"}\n{\"text\": 5}\n");
  EXPECT_THAT(error_of([&] { word_tokenizer_read_corpus(dir.file("d.jsonl")); }),
              HasSubstr("d.jsonl:2: field 'text': expected a string or an array of strings, got 5"));
  dir.write("e.jsonl", "{\"text\": \"ok\"}\n{oops\n");
  EXPECT_THAT(error_of([&] { word_tokenizer_read_corpus(dir.file("e.jsonl")); }),
              HasSubstr("e.jsonl:2: expected a JSON object, got invalid JSON"));
  dir.write("f.txt", "the cat\r\n{not json}\n");
  EXPECT_THAT(word_tokenizer_read_corpus(dir.file("f.txt")), ElementsAre("the cat", "{not json}"));
}
