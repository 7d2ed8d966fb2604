// The tokenizer.json pipeline pieces (hf_pipeline.h) and the general tokenizer's BPE model on small
// hand-made files: what each step does with the library's semantics, and the errors that name the
// file and field. Conformance with the library itself on real files: hf_tokenizer_peer_test.cpp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/text/hf_pipeline.h"
#include "reckoning/text/hf_tokenizer.h"
#include "reckoning/text/utf8.h"
#include "support/test_util.h"

using namespace reckoning;
using testing::HasSubstr;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::vector<std::string> texts(const std::vector<HfPiece>& pieces) {
  std::vector<std::string> out;
  for (const HfPiece& p : pieces) out.push_back(p.text);
  return out;
}

std::vector<std::string> split(const nlohmann::json& pre, const std::string& text) {
  return texts(hf_pre_tokenizer_from_json(pre, "t")({{text, true}}));
}

nlohmann::json split_spec(const std::string& behavior, bool invert = false) {
  return {{"type", "Split"}, {"pattern", {{"String", "-"}}}, {"behavior", behavior}, {"invert", invert}};
}

using Strings = std::vector<std::string>;

}  // namespace

TEST(HfPipeline, WhiteSpaceInPatternsIsUnicodeWhiteSpace) {
  const std::string ws = kPcre2WhiteSpace;
  EXPECT_EQ(hf_regex_translate("\\s+(?!\\S)", "p"), "[" + ws + "]+(?![^" + ws + "])");
  EXPECT_EQ(hf_regex_translate("[^\\s\\p{L}]", "p"), "[^" + ws + "\\p{L}]");
  EXPECT_EQ(hf_regex_translate("\\\\s", "p"), "\\\\s");  // an escaped backslash, then a letter
  EXPECT_EQ(hf_regex_translate("[]\\s]", "p"), "[]" + ws + "]");  // "]" first in a class is literal
  EXPECT_THAT(error_of([] { hf_regex_translate("[\\S]", "tokenizer.json: pre_tokenizer.pattern.Regex"); }),
              HasSubstr("tokenizer.json: pre_tokenizer.pattern.Regex: expected no \\S inside a character class"));
  // U+180E (Mongolian vowel separator) is not White_Space; U+0085 is.
  const auto pieces = split({{"type", "Split"}, {"pattern", {{"Regex", "\\s+"}}}, {"behavior", "Removed"}},
                            "a\xe1\xa0\x8e" "b\xc2\x85" "c");
  EXPECT_EQ(pieces, (Strings{"a\xe1\xa0\x8e" "b", "c"}));
}

TEST(HfPipeline, SplitBehavioursAsTheLibrary) {
  EXPECT_EQ(split(split_spec("Removed"), "a-b--c"), (Strings{"a", "b", "c"}));
  EXPECT_EQ(split(split_spec("Isolated"), "a-b--c"), (Strings{"a", "-", "b", "-", "-", "c"}));
  EXPECT_EQ(split(split_spec("MergedWithPrevious"), "a-b--c"), (Strings{"a-", "b-", "-", "c"}));
  EXPECT_EQ(split(split_spec("MergedWithNext"), "a-b--c"), (Strings{"a", "-b", "-", "-c"}));
  EXPECT_EQ(split(split_spec("Contiguous"), "a-b--c"), (Strings{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split(split_spec("Removed", true), "a-b--c"), (Strings{"-", "-", "-"}));  // each "-" its own match
  EXPECT_THAT(error_of([] { split(split_spec("Merged"), "x"); }),
              HasSubstr("t.behavior: expected Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous, got 'Merged'"));
}

TEST(HfPipeline, DigitsMetaspaceAndByteLevel) {
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", true}}, "ab123c"), (Strings{"ab", "1", "2", "3", "c"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}, "ab123c4"), (Strings{"ab", "123", "c", "4"}));
  // Digits are Unicode numerals (Rust's char::is_numeric): superscripts, fractions, other scripts.
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}, "a1\xc2\xb3\xc2\xbd\xd9\xa3" "b"),
            (Strings{"a", "1\xc2\xb3\xc2\xbd\xd9\xa3", "b"}));
  const std::string bar = "\xe2\x96\x81";  // ▁
  const nlohmann::json first = {{"type", "Metaspace"}, {"replacement", bar}, {"prepend_scheme", "first"}, {"split", true}};
  EXPECT_EQ(split(first, "hi there"), (Strings{bar + "hi", bar + "there"}));
  // "first": only a piece at the start of the text gets the prefix.
  EXPECT_EQ(texts(hf_pre_tokenizer_from_json(first, "t")({{"hi", false}})), (Strings{"hi"}));
  EXPECT_EQ(split({{"type", "Metaspace"}, {"add_prefix_space", false}, {"split", false}}, "a b"), (Strings{"a" + bar + "b"}));
  EXPECT_EQ(split({{"type", "ByteLevel"}, {"add_prefix_space", true}}, "hi there"), (Strings{"\xc4\xa0hi", "\xc4\xa0there"}));
  EXPECT_EQ(split({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}, "a b"), (Strings{"a\xc4\xa0" "b"}));
  EXPECT_THAT(error_of([] { split({{"type", "BertPreTokenizer"}}, "x"); }),
              HasSubstr("t.type: expected a supported pre-tokenizer: Sequence, Split, ByteLevel, Metaspace or Digits, got 'BertPreTokenizer'"));
}

TEST(HfPipeline, Normalizers) {
  auto normalize = [](const nlohmann::json& json, const std::string& text) {
    return hf_normalizer_from_json(json, "n")({text, true}).text;
  };
  EXPECT_EQ(normalize({{"type", "NFC"}}, "e\xcc\x81"), "\xc3\xa9");              // e + combining acute -> é
  EXPECT_EQ(normalize({{"type", "NFD"}}, "\xc3\xa9"), "e\xcc\x81");
  EXPECT_EQ(normalize({{"type", "NFKC"}}, "\xef\xbc\x91\xe2\x91\xa0"), "11");     // fullwidth 1, circled 1
  EXPECT_EQ(normalize({{"type", "NFC"}}, "a\xff" "e\xcc\x81"), "a\xff\xc3\xa9");  // a byte that is not UTF-8 stays
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "_"}}, "x"), "_x");
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "_"}}, ""), "");
  EXPECT_EQ(normalize({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "_"}}, "a b  c"), "a_b__c");
  EXPECT_EQ(normalize({{"type", "Replace"}, {"pattern", {{"Regex", "\\s+"}}}, {"content", " "}}, "a \t\nb"), "a b");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}}, " \xe3\x80\x80x y\n"), "x y");
  EXPECT_EQ(normalize({{"type", "Sequence"}, {"normalizers", {{{"type", "Strip"}}, {{"type", "Prepend"}, {"prepend", "_"}}}}}, "  a "),
            "_a");
  // A stripped start is no longer the text's start (Metaspace's prepend_scheme "first").
  EXPECT_FALSE(hf_normalizer_from_json({{"type", "Strip"}}, "n")({" a", true}).start_kept);
  EXPECT_TRUE(hf_normalizer_from_json({{"type", "Strip"}}, "n")({"a ", true}).start_kept);
  EXPECT_FALSE(hf_normalizer_from_json({{"type", "Replace"}, {"pattern", {{"String", "x"}}}, {"content", ""}}, "n")({"xa", true})
                   .start_kept);
  // Lowercase as Rust's char::to_lowercase, character by character: full mappings, no final sigma.
  EXPECT_EQ(normalize({{"type", "Lowercase"}}, "ABC \xc4\xb0" "Z"), "abc i\xcc\x87z");
  EXPECT_EQ(normalize({{"type", "Lowercase"}}, "\xce\x9f\xce\xa3 \xce\xa3\xce\x9f"),  // ΟΣ ΣΟ -> οσ σο
            "\xce\xbf\xcf\x83 \xcf\x83\xce\xbf");
  EXPECT_THAT(error_of([&] { normalize({{"type", "BertNormalizer"}}, "x"); }),
              HasSubstr("n.type: expected a supported normalizer"));
}

TEST(HfPipeline, Decoders) {
  auto decode = [](const nlohmann::json& json, const Strings& tokens) {
    std::string out;
    for (const std::string& s : hf_decoder_from_json(json, "d")(tokens)) out += s;
    return out;
  };
  const std::string bar = "\xe2\x96\x81";
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"\xc4\xa0hi", "<|im_end|>"}), " hi<|im_end|>");
  EXPECT_EQ(decode({{"type", "ByteLevel"}}, {"\xc3\xa6"}), "\xef\xbf\xbd");  // a lone 0xE6 byte: U+FFFD
  const nlohmann::json llama2 = {{"type", "Sequence"},
                                 {"decoders",
                                  {{{"type", "Replace"}, {"pattern", {{"String", bar}}}, {"content", " "}},
                                   {{"type", "ByteFallback"}},
                                   {{"type", "Fuse"}},
                                   {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  EXPECT_EQ(decode(llama2, {bar + "hi", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>", bar + "x"}), "hi\xf0\x9f\xa6\x99 x");
  EXPECT_EQ(decode(llama2, {"<0xF0>", "a"}), "\xef\xbf\xbd" "a");  // cut short: one U+FFFD per byte
  EXPECT_EQ(decode({{"type", "Metaspace"}, {"replacement", bar}, {"prepend_scheme", "always"}}, {bar + "a", bar + "b"}), "a b");
  EXPECT_EQ(decode(nullptr, {"a", "b"}), "a b");  // no decoder: the library joins with spaces
}

TEST(HfTokenizer, BpeModelUnknownsByteFallbackAndIgnoreMerges) {
  nlohmann::json json = {
      {"model",
       {{"type", "BPE"},
        {"unk_token", "<unk>"},
        {"fuse_unk", true},
        {"byte_fallback", false},
        {"vocab", {{"<unk>", 0}, {"a", 1}, {"b", 2}, {"ab", 3}, {"c", 4}, {"abc", 5}, {"bc", 6}}},
        {"merges", {"a b", "ab c", "b c"}}}},
      {"added_tokens", {{{"id", 7}, {"content", "<eos>"}, {"special", true}, {"normalized", false}}}}};
  HfTokenizer tok(json, nullptr, "t.json");
  EXPECT_EQ(tok.encode("abc"), (std::vector<int64_t>{5}));
  EXPECT_EQ(tok.encode("xyab"), (std::vector<int64_t>{0, 3}));  // fused unknowns
  EXPECT_EQ(tok.encode("ab<eos>c"), (std::vector<int64_t>{3, 7, 4}));
  EXPECT_EQ(tok.eos_id(), 7);
  EXPECT_EQ(tok.decode({3, 7}), "ab <eos>");  // no decoder: joined with spaces
  json["model"]["fuse_unk"] = false;
  EXPECT_EQ(HfTokenizer(json, nullptr, "t.json").encode("xyab"), (std::vector<int64_t>{0, 0, 3}));
  // Byte fallback: a character outside the vocabulary becomes its bytes' <0xAB> tokens.
  json["model"]["byte_fallback"] = true;
  json["model"]["vocab"]["<0xC3>"] = 8;
  json["model"]["vocab"]["<0xA9>"] = 9;
  EXPECT_EQ(HfTokenizer(json, nullptr, "t.json").encode("\xc3\xa9" "a"), (std::vector<int64_t>{8, 9, 1}));
  // ignore_merges: a piece that is a token is that token, whatever the merges would give.
  json["model"]["merges"] = {"b c"};
  EXPECT_EQ(HfTokenizer(json, nullptr, "t.json").encode("abc"), (std::vector<int64_t>{1, 6}));
  json["model"]["ignore_merges"] = true;
  EXPECT_EQ(HfTokenizer(json, nullptr, "t.json").encode("abc"), (std::vector<int64_t>{5}));
}

TEST(HfTokenizer, AddedTokensStripAndNormalizedMatching) {
  nlohmann::json json = {
      {"normalizer", {{"type", "Replace"}, {"pattern", {{"String", "X"}}}, {"content", "x"}}},
      {"model", {{"type", "BPE"}, {"vocab", {{" ", 0}, {"a", 1}, {"x", 2}}}, {"merges", nlohmann::json::array()}}},
      {"added_tokens",
       {{{"id", 3}, {"content", "<L>"}, {"lstrip", true}, {"normalized", false}},
        {{"id", 4}, {"content", "<R>"}, {"rstrip", true}, {"normalized", false}},
        {{"id", 5}, {"content", "<X>"}, {"normalized", true}}}}};
  HfTokenizer tok(json, {{"eos_token", "<R>"}}, "t.json");
  EXPECT_EQ(tok.encode("a  <L>a"), (std::vector<int64_t>{1, 3, 1}));   // spaces before <L> taken by it
  EXPECT_EQ(tok.encode("a<R>  a"), (std::vector<int64_t>{1, 4, 1}));   // spaces after <R> taken by it
  EXPECT_EQ(tok.encode("a <x>"), (std::vector<int64_t>{1, 0, 5}));     // matched in the normalized text
  EXPECT_EQ(tok.encode("a <X>"), (std::vector<int64_t>{1, 0, 5}));     // ... its content normalized too
  EXPECT_EQ(tok.eos_id(), 4);
  // single_word: only where no letter, digit or '_' touches it.
  json["added_tokens"].push_back({{"id", 6}, {"content", "ax"}, {"single_word", true}, {"normalized", false}});
  HfTokenizer word(json, {{"eos_token", "<R>"}}, "t.json");
  EXPECT_EQ(word.encode("a ax a"), (std::vector<int64_t>{1, 0, 6, 0, 1}));
  EXPECT_EQ(word.encode("aax"), (std::vector<int64_t>{1, 1, 2}));
  EXPECT_EQ(word.encode("ax_"), (std::vector<int64_t>{1, 2}));  // '_' is a word character... and not in the vocabulary
}

TEST(HfTokenizer, ErrorsNameTheFileAndField) {
  const nlohmann::json model = {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}}}, {"merges", {"a b"}}};
  EXPECT_THAT(error_of([&] { HfTokenizer({{"model", model}}, nullptr, "dir/tokenizer.json"); }),
              HasSubstr("dir/tokenizer.json: model.merges[0]: expected the merged symbol 'ab' in model.vocab, got none"));
  nlohmann::json wordpiece = {{"model", {{"type", "WordPiece"}, {"vocab", {{"a", 0}}}}}};
  EXPECT_THAT(error_of([&] { HfTokenizer(wordpiece, nullptr, "t.json"); }),
              HasSubstr("t.json: field 'model.type': expected \"BPE\""));
  nlohmann::json no_eos = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", nlohmann::json::array()}}}};
  EXPECT_THAT(error_of([&] { HfTokenizer(no_eos, nullptr, "t.json"); }), HasSubstr("expected an eos_token"));
  EXPECT_THAT(error_of([&] { HfTokenizer(no_eos, {{"eos_token", "</s>"}}, "t.json"); }),
              HasSubstr("field 'eos_token': expected a token of the vocabulary, got '</s>'"));
}
