// GPT-2 byte-level BPE on tiny hand-built vocabularies: byte table, merge order (against a plain
// re-implementation of GPT-2's loop), cache, special tokens, pre-tokenizer pieces, every loader
// error, save/load round trips.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/pretokenizer.h"
#include "support/test_util.h"

using reckoning::test::error_of;
using reckoning::test::TempDir;

using namespace reckoning;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

// The 256 byte symbols (ids 0..255 in byte order), then `extra` tokens, then <|endoftext|>.
std::unordered_map<std::string, int64_t> tiny_vocab(const std::vector<std::string>& extra) {
  std::unordered_map<std::string, int64_t> vocab;
  for (int b = 0; b < 256; ++b) vocab[gpt2_bytes_to_unicode(std::string(1, static_cast<char>(b)))] = b;
  for (const auto& token : extra) vocab.emplace(token, static_cast<int64_t>(vocab.size()));
  vocab.emplace(kEndOfText, static_cast<int64_t>(vocab.size()));
  return vocab;
}

std::vector<BpeMerge> merges_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::vector<BpeMerge> merges;
  for (const auto& [l, r] : pairs) merges.push_back({l, r, 0});
  return merges;
}

std::vector<std::string> pieces(const std::string& text) {
  std::vector<std::string> out;
  for (auto p : gpt2_pretokenize(text)) out.emplace_back(p);
  return out;
}

// A fresh directory per test, removed afterwards.
std::string vocab_json(const std::unordered_map<std::string, int64_t>& vocab) {
  return nlohmann::json(vocab).dump();
}

// GPT-2's encoder.py loop, written plainly: find the lowest-ranked pair, merge it everywhere left
// to right, repeat.
std::vector<std::string> reference_bpe(const std::string& word,
                                       const std::vector<std::pair<std::string, std::string>>& merges) {
  std::vector<std::string> symbols;
  for (char c : word) symbols.push_back(std::string(1, c));
  for (;;) {
    size_t best = merges.size();
    for (size_t i = 0; i + 1 < symbols.size(); ++i)
      for (size_t r = 0; r < best; ++r)
        if (merges[r].first == symbols[i] && merges[r].second == symbols[i + 1]) best = r;
    if (best == merges.size()) return symbols;
    std::vector<std::string> next;
    for (size_t i = 0; i < symbols.size();) {
      if (i + 1 < symbols.size() && symbols[i] == merges[best].first &&
          symbols[i + 1] == merges[best].second) {
        next.push_back(symbols[i] + symbols[i + 1]);
        i += 2;
      } else {
        next.push_back(symbols[i++]);
      }
    }
    symbols = next;
  }
}

}  // namespace

TEST(BpeByteTable, MatchesGpt2BytesToUnicode) {
  EXPECT_EQ(gpt2_byte_to_unicode('a'), static_cast<uint32_t>('a'));
  EXPECT_EQ(gpt2_byte_to_unicode('!'), static_cast<uint32_t>('!'));
  EXPECT_EQ(gpt2_byte_to_unicode(0x00), 256u);         // 'Ā'
  EXPECT_EQ(gpt2_byte_to_unicode(' '), 0x120u);        // 'Ġ'
  EXPECT_EQ(gpt2_byte_to_unicode('\n'), 0x10Au);       // 'Ċ'
  EXPECT_EQ(gpt2_byte_to_unicode(0x7F), 0x121u);
  EXPECT_EQ(gpt2_byte_to_unicode(0xAD), 0x143u);       // the last one
  EXPECT_EQ(gpt2_byte_to_unicode(0xE9), 0xE9u);        // 'é' stands for itself
  EXPECT_EQ(gpt2_bytes_to_unicode(" hi\n"), "\xc4\xa0hi\xc4\x8a");  // "Ġhi" + "Ċ"
  std::string all;
  for (int b = 0; b < 256; ++b) all += static_cast<char>(b);
  EXPECT_EQ(gpt2_unicode_to_bytes(gpt2_bytes_to_unicode(all)), all);
  EXPECT_EQ(gpt2_unicode_to_bytes(" "), std::nullopt);  // U+0020 is not in the table
  EXPECT_EQ(gpt2_unicode_to_bytes("\xe6\x97\xa5"), std::nullopt);
}

TEST(BpeModel, LowerRankMergesFirst) {
  BpeTokenizer ab_first(tiny_vocab({"ab", "bc"}), merges_of({{"a", "b"}, {"b", "c"}}), {});
  EXPECT_EQ(ab_first.encode("abc"), (std::vector<int64_t>{256, 'c'}));
  BpeTokenizer bc_first(tiny_vocab({"ab", "bc"}), merges_of({{"b", "c"}, {"a", "b"}}), {});
  EXPECT_EQ(bc_first.encode("abc"), (std::vector<int64_t>{'a', 257}));
}

TEST(BpeModel, SameRankMergesLeftToRightWithoutOverlap) {
  BpeTokenizer tok(tiny_vocab({"aa", "aaaa"}), merges_of({{"a", "a"}, {"aa", "aa"}}), {});
  EXPECT_EQ(tok.encode("aaa"), (std::vector<int64_t>{256, 'a'}));
  EXPECT_EQ(tok.encode("aaaa"), (std::vector<int64_t>{257}));
  EXPECT_EQ(tok.encode("aaaaa"), (std::vector<int64_t>{257, 'a'}));
}

TEST(BpeModel, SpaceIsPartOfTheByteLevelSymbols) {
  // " a" is the byte-level symbol "Ġa"; merges name it that way.
  BpeTokenizer tok(tiny_vocab({"\xc4\xa0" "a"}), merges_of({{"\xc4\xa0", "a"}}), {});
  EXPECT_EQ(tok.encode("a a"), (std::vector<int64_t>{'a', 256}));
  EXPECT_EQ(tok.decode({'a', 256}), "a a");
}

TEST(BpeModel, QueueMergeEqualsGpt2LoopOnRandomVocabularies) {
  std::mt19937 rng(3);
  for (int vocab_trial = 0; vocab_trial < 20; ++vocab_trial) {
    std::vector<std::string> symbols = {"a", "b", "c"};
    std::vector<std::pair<std::string, std::string>> merges;
    std::vector<std::string> extra;
    for (int m = 0; m < 25; ++m) {
      std::string l = symbols[rng() % symbols.size()], r = symbols[rng() % symbols.size()];
      if (std::find(merges.begin(), merges.end(), std::make_pair(l, r)) != merges.end()) continue;
      merges.emplace_back(l, r);
      if (std::find(symbols.begin(), symbols.end(), l + r) == symbols.end()) {
        symbols.push_back(l + r);
        extra.push_back(l + r);
      }
    }
    BpeTokenizer tok(tiny_vocab(extra), merges_of(merges), {});
    for (int word_trial = 0; word_trial < 200; ++word_trial) {
      std::string word;
      for (int n = 1 + rng() % 24; n > 0; --n) word += "abc"[rng() % 3];
      std::vector<int32_t> want;
      for (const auto& s : reference_bpe(word, merges)) want.push_back(static_cast<int32_t>(*tok.token_id(s)));
      ASSERT_EQ(tok.bpe_piece_uncached(word), want) << "vocab " << vocab_trial << " word " << word;
      ASSERT_EQ(tok.bpe_piece(word), want) << "cached, word " << word;
    }
  }
}

TEST(BpeModel, CacheCanBeTurnedOff) {
  BpeTokenizer tok(tiny_vocab({"ab"}), merges_of({{"a", "b"}}), {});
  std::vector<int64_t> cached = tok.encode("ab ab abab");
  tok.set_cache_capacity(0);
  EXPECT_EQ(tok.encode("ab ab abab"), cached);
  tok.set_cache_capacity(1);  // emptied on every insert
  EXPECT_EQ(tok.encode("ab ab abab"), cached);
}

TEST(BpeSpecials, SplitBeforePreTokenization) {
  BpeTokenizer tok(tiny_vocab({"<pad>"}), {}, {"<pad>"});
  int64_t pad = *tok.token_id("<pad>");
  int64_t eos = tok.eos_id();
  EXPECT_EQ(eos, 257);
  EXPECT_EQ(tok.encode("x<|endoftext|>y<pad>"), (std::vector<int64_t>{'x', eos, 'y', pad}));
  EXPECT_EQ(tok.decode({'x', eos, 'y', pad}), "x<|endoftext|>y<pad>");
  EXPECT_EQ(tok.encode_ordinary("<pad>"), (std::vector<int64_t>{'<', 'p', 'a', 'd', '>'}));
  EXPECT_EQ(tok.encode("<|endoftext"), (std::vector<int64_t>{'<', '|', 'e', 'n', 'd', 'o', 'f', 't', 'e', 'x', 't'}));
}

TEST(BpeSpecials, LeftmostThenLongest) {
  std::vector<std::string> specials = {"<a>", "<a>b", "b"};
  auto segments = split_special_tokens("x<a>by<a>", specials);
  ASSERT_EQ(segments.size(), 4u);
  EXPECT_EQ(segments[0].text, "x");
  EXPECT_EQ(segments[0].special, -1);
  EXPECT_EQ(segments[1].special, 1);  // "<a>b", not "<a>" then "b"
  EXPECT_EQ(segments[2].text, "y");
  EXPECT_EQ(segments[3].special, 0);
}

TEST(Gpt2PreTokenizer, PiecesFollowTheGpt2Pattern) {
  EXPECT_THAT(pieces("I'm here  now\n"), ElementsAre("I", "'m", " here", " ", " now", "\n"));
  EXPECT_THAT(pieces("He'S 123abc"), ElementsAre("He", "'", "S", " 123", "abc"));
  EXPECT_THAT(pieces("fact_1: Bob."), ElementsAre("fact", "_", "1", ":", " Bob", "."));
  EXPECT_THAT(pieces("a  \n\n b"), ElementsAre("a", "  \n\n", " b"));
  EXPECT_THAT(pieces("end   "), ElementsAre("end", "   "));
  EXPECT_THAT(pieces(" café 東京!?"), ElementsAre(" café", " 東京", "!?"));
  EXPECT_THAT(pieces("x\xc2\xa0y"), ElementsAre("x", "\xc2\xa0", "y"));  // NBSP is whitespace
  EXPECT_THAT(pieces("x \xc2\x85y"), ElementsAre("x", " ", "\xc2\x85", "y"));  // so is U+0085
  EXPECT_THAT(pieces("x\xe1\xa0\x8ey"), ElementsAre("x", "\xe1\xa0\x8e", "y"));  // U+180E is not
  EXPECT_THAT(pieces(""), ElementsAre());
}

TEST(Gpt2PreTokenizer, BytesThatAreNotUtf8FormPiecesOfTheirOwn) {
  EXPECT_THAT(pieces("ab\xff\xfe" "cd"), ElementsAre("ab", "\xff\xfe", "cd"));
  EXPECT_THAT(pieces("ab\xc3"), ElementsAre("ab", "\xc3"));
  EXPECT_THAT(pieces("\x80 x"), ElementsAre("\x80", " x"));
  EXPECT_THAT(pieces("a\xed\xa0\x80"), ElementsAre("a", "\xed\xa0\x80"));  // a UTF-16 surrogate
}

TEST(Gpt2PreTokenizer, LongRunsAreOnePiece) {
  std::string spaces(200000, ' ');
  EXPECT_THAT(pieces(spaces + "x"), ElementsAre(std::string(199999, ' '), " x"));
  BpeTokenizer tok(tiny_vocab({"\xc4\xa0\xc4\xa0"}), merges_of({{"\xc4\xa0", "\xc4\xa0"}}), {});
  std::vector<int64_t> ids = tok.encode(spaces);  // O(n log n) merging
  EXPECT_EQ(ids.size(), 100000u);
  EXPECT_EQ(tok.decode(ids), spaces);
}

TEST(BpeDecode, RefusesIdsOutOfRange) {
  BpeTokenizer tok(tiny_vocab({}), {}, {});
  EXPECT_THAT(error_of([&] { tok.decode({1, 257}); }),
              HasSubstr("decode: ids[1]: expected a token id in [0, 257), got 257"));
  EXPECT_THAT(error_of([&] { tok.decode({-1}); }), HasSubstr("got -1"));
}

TEST(BpeLoad, VocabErrorsNameTheFileAndToken) {
  TempDir dir;
  dir.write("merges.txt", "#version: 0.2\n");
  auto load = [&] { bpe_tokenizer_load(dir.file("vocab.json"), dir.file("merges.txt")); };

  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: cannot open"));
  dir.write("vocab.json", "{\"a\": 1,");
  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: invalid JSON"));
  dir.write("vocab.json", "[1, 2]");
  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: expected a JSON object {token: id}, got array"));
  auto vocab = nlohmann::json(tiny_vocab({}));
  vocab["a"] = "x";
  dir.write("vocab.json", vocab.dump());
  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: token 'a': expected an integer id, got \"x\""));
  vocab["a"] = 1.5;
  dir.write("vocab.json", vocab.dump());
  EXPECT_THAT(error_of(load), HasSubstr("expected an integer id, got 1.5"));
  vocab = nlohmann::json(tiny_vocab({}));
  vocab["a"] = 98;  // 'b' has id 98 too
  vocab["zz"] = 97;
  dir.write("vocab.json", vocab.dump());
  EXPECT_THAT(error_of(load), HasSubstr("expected an id no other token has, got id"));
  vocab = nlohmann::json(tiny_vocab({}));
  vocab["zz"] = 300;
  dir.write("vocab.json", vocab.dump());
  EXPECT_THAT(error_of(load), HasSubstr("token 'zz': expected an id in [0, 258)"));
  vocab = nlohmann::json(tiny_vocab({}));
  vocab.erase(kEndOfText);
  dir.write("vocab.json", vocab.dump());
  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: special token '<|endoftext|>': expected it in "
                                        "the vocabulary, got none"));
  auto no_a = tiny_vocab({});
  int64_t a_id = no_a.at("a");
  no_a.erase("a");
  no_a["Z Z"] = a_id;  // keeps ids dense
  dir.write("vocab.json", vocab_json(no_a));
  EXPECT_THAT(error_of(load), HasSubstr("token 'Z Z': expected a non-empty string of GPT-2 "
                                        "byte-level characters"));
  no_a.erase("Z Z");
  no_a["ZZ"] = a_id;
  dir.write("vocab.json", vocab_json(no_a));
  EXPECT_THAT(error_of(load), HasSubstr("vocab.json: expected a token for every byte (GPT-2 "
                                        "byte-level BPE), got none for byte 0x61"));
}

TEST(BpeLoad, MergeErrorsNameTheFileAndLine) {
  TempDir dir;
  dir.write("vocab.json", vocab_json(tiny_vocab({"ab"})));
  auto load = [&] { bpe_tokenizer_load(dir.file("vocab.json"), dir.file("merges.txt")); };
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt: cannot open"));
  dir.write("merges.txt", "#version: 0.2\na b\na b c\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:3: expected two symbols separated by one "
                                        "space, got 'a b c'"));
  dir.write("merges.txt", "#version: 0.2\nab\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:2: expected two symbols separated by one space, got 'ab'"));
  dir.write("merges.txt", "a  b\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:1: expected two symbols"));
  dir.write("merges.txt", "#version: 0.2\n\na b\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:2: expected two symbols separated by one "
                                        "space, got an empty line"));
  dir.write("merges.txt", "#version: 0.2\na b\nb Z\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:3: merge 'b Z': expected the merged symbol 'bZ' in"));
  dir.write("merges.txt", "#version: 0.2\na b\nab Q\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:3: merge 'ab Q': expected the merged symbol"));
  dir.write("merges.txt", "#version: 0.2\na b\nabc d\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:3: merge 'abc d': expected symbol 'abc' in"));
  dir.write("merges.txt", "#version: 0.2\na b\na b\n");
  EXPECT_THAT(error_of(load), HasSubstr("merges.txt:3: merge 'a b': expected each merge once, got a "
                                        "repeat of line 2"));
  dir.write("merges.txt", "#version: 0.2\r\na b\r\n\n\n");  // CRLF and trailing empty lines are fine
  EXPECT_EQ(error_of(load), "(no error)");
}

TEST(BpeLoad, TokenizerJsonFormatAndErrors) {
  TempDir dir;
  auto vocab = tiny_vocab({"ab", "abc"});
  vocab.erase(kEndOfText);  // tokenizer.json may keep specials in added_tokens only
  nlohmann::json json = {
      {"version", "1.0"},
      {"normalizer", nullptr},
      {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}}},
      {"added_tokens", {{{"id", 258}, {"content", kEndOfText}, {"special", true}}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", {"a b", {"ab", "c"}}}}}};
  std::string path = dir.file("tokenizer.json");
  write_json_file_atomic(path, json);
  auto tok = bpe_tokenizer_load_json(path);
  EXPECT_EQ(tok->encode("abc<|endoftext|>"), (std::vector<int64_t>{257, 258}));
  EXPECT_EQ(tok->vocab_size(), 259);

  auto broken = [&](const std::function<void(nlohmann::json&)>& edit) {
    nlohmann::json j = json;
    edit(j);
    write_json_file_atomic(path, j);
    return error_of([&] { bpe_tokenizer_load_json(path); });
  };
  EXPECT_THAT(broken([](auto& j) { j["model"]["type"] = "WordPiece"; }),
              HasSubstr("tokenizer.json: field 'model.type': expected \"BPE\", got 'WordPiece'"));
  EXPECT_THAT(broken([](auto& j) { j["model"]["merges"][1] = {"ab"}; }),
              HasSubstr("tokenizer.json: model.merges[1]: expected \"left right\" or"));
  EXPECT_THAT(broken([](auto& j) { j["model"]["merges"][0] = "a  b"; }),
              HasSubstr("tokenizer.json: model.merges[0]: expected two symbols"));
  EXPECT_THAT(broken([](auto& j) { j["model"]["merges"][1] = {"ab", "q"}; }),
              HasSubstr("tokenizer.json: model.merges[1]: merge 'ab q': expected the merged symbol"));
  EXPECT_THAT(broken([](auto& j) { j["pre_tokenizer"]["add_prefix_space"] = true; }),
              HasSubstr("field 'pre_tokenizer.add_prefix_space': expected false"));
  EXPECT_THAT(broken([](auto& j) { j["pre_tokenizer"] = {{"type", "Whitespace"}}; }),
              HasSubstr("field 'pre_tokenizer': expected null or {\"type\": \"ByteLevel\"}"));
  EXPECT_THAT(broken([](auto& j) { j["model"]["continuing_subword_prefix"] = "##"; }),
              HasSubstr("field 'model.continuing_subword_prefix'"));
  EXPECT_THAT(broken([](auto& j) { j["added_tokens"].push_back({{"id", 5}, {"content", "ab"}}); }),
              HasSubstr("tokenizer.json: added_tokens[1]: expected the id the vocabulary gives 'ab' "
                        "(256), got 5"));
  EXPECT_THAT(broken([](auto& j) { j["added_tokens"][0]["id"] = 5; }),
              HasSubstr("also used by '<|endoftext|>'"));
  EXPECT_THAT(broken([](auto& j) { j["added_tokens"][0].erase("content"); }),
              HasSubstr("tokenizer.json: added_tokens[0]: expected {\"id\": integer"));
  EXPECT_THAT(broken([](auto& j) { j["model"]["vocab"]["ab"] = "x"; }),
              HasSubstr("tokenizer.json: model.vocab: token 'ab': expected an integer id"));
  EXPECT_THAT(broken([](auto& j) { j.erase("model"); }),
              HasSubstr("tokenizer.json: expected a tokenizers JSON object with an object field 'model'"));
}

TEST(BpeSave, RoundTripsWithAddedSpecialTokens) {
  TempDir dir;
  BpeTokenizer tok(tiny_vocab({"ab", "<pad>"}), merges_of({{"a", "b"}}), {"<pad>"});
  bpe_tokenizer_save(tok, dir.path());
  EXPECT_TRUE(file_exists(dir.file("vocab.json")));
  EXPECT_EQ(read_file(dir.file("merges.txt")), "#version: 0.2\na b\n");
  nlohmann::json config = read_json_file(dir.file("tokenizer_config.json"));
  EXPECT_EQ(config["tokenizer_class"], "GPT2Tokenizer");
  EXPECT_EQ(config["added_tokens_decoder"]["257"]["content"], "<pad>");
  auto loaded = bpe_tokenizer_load(dir.file("vocab.json"), dir.file("merges.txt"));
  std::string text = "abab <pad> x<|endoftext|>";
  EXPECT_EQ(loaded->encode(text), tok.encode(text));
  EXPECT_EQ(loaded->special_tokens().size(), 2u);
  EXPECT_EQ(loaded->vocab_size(), tok.vocab_size());

  nlohmann::json bad = config;
  bad["added_tokens_decoder"]["x1"] = {{"content", "<q>"}};
  write_json_file_atomic(dir.file("tokenizer_config.json"), bad);
  EXPECT_THAT(error_of([&] { bpe_tokenizer_load(dir.file("vocab.json"), dir.file("merges.txt")); }),
              HasSubstr("tokenizer_config.json: added_tokens_decoder.x1: expected a non-negative integer key"));
}
