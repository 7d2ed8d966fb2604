// `reckoning tokenize` and `reckoning tokenizer build` run as a user would: stdin/stdout JSON
// lines, exit codes (0 ok, 1 bad input naming stdin:N, 2 usage).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

namespace fs = std::filesystem;

struct Result {
  int code;
  std::string out, err;
};

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() / str("reckoning_cli_", info->name(), "_", ::getpid())).string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }

  std::string file(const std::string& name) const { return path_join(dir_, name); }

  // Runs `reckoning ARGS < stdin_text`.
  Result run(const std::string& args, const std::string& stdin_text = "") {
    write_file_atomic(file("stdin"), stdin_text);
    std::string command = str("'", RECKONING_CLI, "' ", args, " <'", file("stdin"), "' >'", file("stdout"),
                              "' 2>'", file("stderr"), "'");
    int status = std::system(command.c_str());
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_file(file("stdout")), read_file(file("stderr"))};
  }

  std::string dir_;
};

}  // namespace

TEST_F(CliTest, BuildThenEncodeThenDecode) {
  write_file_atomic(file("corpus.jsonl"), "{\"text\": \"the cat sat\"}\n{\"text\": \"the dog\"}\n");
  Result built = run(str("tokenizer build --corpus '", file("corpus.jsonl"), "' --out '", file("model"), "'"));
  ASSERT_EQ(built.code, 0) << built.err;
  EXPECT_THAT(built.out, HasSubstr("\"vocab_size\":261"));

  Result encoded = run(str("tokenize --tokenizer '", file("model"), "'"),
                       "{\"text\": \"the cat\"}\n{\"text\": \"é<|endoftext|>\"}\n");
  ASSERT_EQ(encoded.code, 0) << encoded.err;
  EXPECT_EQ(encoded.out, "{\"ids\":[257,258]}\n{\"ids\":[195,169,256]}\n");

  Result decoded = run(str("tokenize --decode --tokenizer '", file("model"), "'"), encoded.out);
  ASSERT_EQ(decoded.code, 0) << decoded.err;
  EXPECT_EQ(decoded.out, "{\"text\":\"the cat\"}\n{\"text\":\"é<|endoftext|>\"}\n");
}

TEST_F(CliTest, BadLinesNameTheLineAndExit1) {
  write_file_atomic(file("corpus.txt"), "the cat\n");
  ASSERT_EQ(run(str("tokenizer build --corpus '", file("corpus.txt"), "' --out '", file("model"), "'")).code, 0);
  std::string tok = str("--tokenizer '", file("model"), "'");
  Result r = run("tokenize " + tok, "{\"text\": \"a\"}\n{\"text\": 5}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:2: field 'text': expected a string, got 5"));
  r = run("tokenize " + tok, "not json\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:1: expected a JSON object, got invalid JSON"));
  r = run("tokenize --decode " + tok, "{\"ids\": [1, 2]}\n{\"ids\": [1, 9999]}\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_THAT(r.err, HasSubstr("stdin:2: field 'ids': decode: ids[1]: expected a token id in [0, 259), got 9999"));
  r = run("tokenize --decode " + tok, "{\"ids\": [1, \"x\"]}\n");
  EXPECT_THAT(r.err, HasSubstr("stdin:1: field 'ids': expected an array of integers, got an array holding \"x\""));
}

TEST_F(CliTest, UsageErrorsExit2AndHelpExits0) {
  EXPECT_EQ(run("tokenize").code, 2);
  EXPECT_EQ(run("tokenizer build --corpus /nonexistent --out x").code, 2);
  EXPECT_EQ(run(str("tokenizer build --corpus '", RECKONING_SOURCE_DIR, "/README.md' --out x --min-count 0")).code, 2);
  Result help = run("tokenize --help");
  EXPECT_EQ(help.code, 0);
  EXPECT_THAT(help.out, HasSubstr("--decode"));
  Result missing = run(str("tokenize --tokenizer '", dir_, "'"), "{\"text\": \"a\"}\n");
  EXPECT_EQ(missing.code, 1);
  EXPECT_THAT(missing.err, HasSubstr("got no tokenizer files"));
}
