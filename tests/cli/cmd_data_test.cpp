// The data commands end to end through the executable: convert (every format, from the real
// samples in data/samples and the fixtures), generate clutrr (file and splits) and proofwriter
// (canonical and meta; meta read back by the converter), prove (one-off and --batch), stats
// (table, --json, --tokenizer). Bad records exit 1 naming file:line and field, --skip-invalid
// lists what it skipped, bad option values exit 2.
// ctest-labels: cli
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "reckoning/base/io.h"
#include "reckoning/data/task.h"
#include "support/test_util.h"

using reckoning::test::CommandResult;
using reckoning::test::run_cli;

using testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t end; (end = text.find('\n', start)) != std::string::npos; start = end + 1)
    out.push_back(text.substr(start, end - start));
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

std::string repo(const std::string& relative) {
  return (fs::path(RECKONING_SOURCE_DIR) / relative).string();
}

std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  for (const std::string& line : split_lines(reckoning::read_file(path)))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

class CmdDataTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("reckoning_cmd_data_test_" + std::to_string(::getpid()))).string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }
  std::string path(const std::string& name) const { return dir_ + "/" + name; }
  std::string dir_;
};

}  // namespace

TEST_F(CmdDataTest, ConvertsEveryFormatFromTheSamples) {
  struct Case {
    std::string from, input, extra, dataset;
  };
  const std::vector<Case> cases = {
      {"clutrr", repo("data/samples/clutrr/1.2_test.csv"), "", "clutrr"},
      {"clutrr", repo("data/samples/clutrr/1.4_test.csv"), "--letters", "clutrr"},
      {"clutrr-sg", repo("tests/fixtures/clutrr_sg_sample.txt"), "--letters", "clutrr-sg"},
      {"folio", repo("data/samples/folio/folio-validation.jsonl"), "", "folio"},
  };
  for (const Case& c : cases) {
    const std::string out = path(c.from + ".jsonl");
    CommandResult r = run_cli("data convert --from " + c.from + " " + c.input + " " + c.extra + " --out " + out);
    ASSERT_EQ(r.code, 0) << c.input << ": " << r.out;
    std::vector<reckoning::Task> tasks = reckoning::tasks_load(out);  // valid canonical records
    ASSERT_FALSE(tasks.empty()) << c.input;
    EXPECT_THAT(r.out, HasSubstr("wrote " + std::to_string(tasks.size()) + " tasks"));
    for (const reckoning::Task& t : tasks) EXPECT_EQ(t.dataset(), c.dataset) << t.guid;
  }
  // FOLIO: one task per record, answers mapped to true|false|unknown.
  std::vector<reckoning::Task> folio = reckoning::tasks_load(path("folio.jsonl"));
  EXPECT_EQ(folio.size(), json_lines(repo("data/samples/folio/folio-validation.jsonl")).size());
  std::set<std::string> answers;
  for (const auto& t : folio) answers.insert(t.answer);
  EXPECT_EQ(answers, (std::set<std::string>{"false", "true", "unknown"}));
  // --letters: "Z C son" triples.
  for (const auto& t : reckoning::tasks_load(path("clutrr-sg.jsonl")))
    for (const std::string& f : t.facts) EXPECT_EQ(std::count(f.begin(), f.end(), ' '), 2) << f;
}

TEST_F(CmdDataTest, GeneratesClutrrToFileAndSplits) {
  CommandResult r = run_cli("data generate clutrr --hops 2,3 --per-hop 5 --seed 1 --out " + path("c.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<reckoning::Task> tasks = reckoning::tasks_load(path("c.jsonl"));
  ASSERT_EQ(tasks.size(), 10u);
  std::map<int64_t, int> hops;
  for (const auto& t : tasks) ++hops[t.hops];
  EXPECT_EQ(hops, (std::map<int64_t, int>{{2, 5}, {3, 5}}));

  r = run_cli("data generate clutrr --hops 2 --per-hop 6 --valid-per-hop 2 --test-per-hop 1 --test-hops 2,4 "
          "--style letters --seed 1 --out-dir " + path("splits"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(reckoning::tasks_load(path("splits/train.jsonl")).size(), 6u);
  EXPECT_EQ(reckoning::tasks_load(path("splits/valid.jsonl")).size(), 2u);
  EXPECT_EQ(reckoning::tasks_load(path("splits/test.jsonl")).size(), 2u);
  EXPECT_EQ(reckoning::tasks_load(path("splits/train.jsonl"))[0].dataset(), "clutrr-sg");

  // Same seed, same bytes.
  ASSERT_EQ(run_cli("data generate clutrr --hops 2,3 --per-hop 5 --seed 1 --out " + path("c2.jsonl")).code, 0);
  EXPECT_EQ(reckoning::read_file(path("c.jsonl")), reckoning::read_file(path("c2.jsonl")));
}

TEST_F(CmdDataTest, GeneratesProofwriterAndReadsItsMetaFormatBack) {
  for (const char* world : {"owa", "cwa"}) {
    const std::string base = std::string("data generate proofwriter --depth 3 --theories 12 --seed 4 --world ") + world;
    CommandResult r = run_cli(base + " --out " + path("pw.jsonl"));
    ASSERT_EQ(r.code, 0) << r.out;
    r = run_cli(base + " --format meta --out " + path("meta.jsonl"));
    ASSERT_EQ(r.code, 0) << r.out;
    std::vector<reckoning::Task> canonical = reckoning::tasks_load(path("pw.jsonl"));
    std::vector<nlohmann::json> meta = json_lines(path("meta.jsonl"));
    ASSERT_EQ(meta.size(), 12u);
    size_t questions = 0;
    for (const auto& m : meta) questions += m["questions"].size();
    ASSERT_EQ(canonical.size(), questions);

    // Every question of the meta file converts (min statements 0) into a valid canonical task
    // with the generator's label and depth; proved questions get the generator's proof statements.
    r = run_cli("data convert --from proofwriter " + path("meta.jsonl") + " --min-statements 0 --out " +
            path("back.jsonl"));
    ASSERT_EQ(r.code, 0) << r.out;
    std::vector<reckoning::Task> back = reckoning::tasks_load(path("back.jsonl"));
    ASSERT_EQ(back.size(), canonical.size());
    std::map<std::string, const reckoning::Task*> by_guid;  // the reader orders Q1, Q10, Q2...
    for (const auto& t : canonical) by_guid[t.guid] = &t;
    int proved = 0;
    for (const reckoning::Task& b : back) {
      ASSERT_TRUE(by_guid.count(b.guid)) << b.guid;
      const reckoning::Task& c = *by_guid[b.guid];
      EXPECT_EQ(b.answer, c.answer) << b.guid;
      EXPECT_EQ(b.hops, c.hops) << b.guid;
      EXPECT_EQ(b.question, c.question);
      EXPECT_EQ(b.facts.size() + b.distractors.size(), c.facts.size() + c.distractors.size());
      if (!b.source["proof_failure"].get<bool>()) {
        EXPECT_EQ(b.facts, c.facts) << b.guid;
        ++proved;
      }
    }
    EXPECT_GT(proved, 20) << world;

    // --balance: per theory, every label the same number of times.
    r = run_cli("data convert --from proofwriter " + path("meta.jsonl") + " --balance --seed 2 --out " + path("bal.jsonl"));
    ASSERT_EQ(r.code, 0) << r.out;
    std::map<std::string, std::map<std::string, int>> per_theory;
    for (const auto& t : reckoning::tasks_load(path("bal.jsonl")))
      ++per_theory[t.source["id"].get<std::string>()][t.answer];
    ASSERT_FALSE(per_theory.empty());
    for (const auto& [id, labels] : per_theory) {
      std::set<int> counts;
      for (const auto& [label, n] : labels) counts.insert(n);
      EXPECT_EQ(counts.size(), 1u) << id;
      EXPECT_EQ(labels.count("unknown"), std::string(world) == "owa" ? 1u : 0u) << id;
    }
  }
}

TEST_F(CmdDataTest, ProvesOneQuestionAndBatches) {
  reckoning::write_file_atomic(path("theory.txt"),
                               "The cow is big.\nIf something is big then it is red.\n"
                               "If something is red and not kind then it is round.\n");
  CommandResult r = run_cli("data prove --theory " + path("theory.txt") + " --question 'The cow is red.'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("true\ndepth: 1\nproof: [(((triple1) -> rule1))]"));
  r = run_cli("data prove --cwa --theory " + path("theory.txt") + " --question 'The cow is round.'");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("true\ndepth: 2"));
  r = run_cli("data prove --theory " + path("theory.txt") + " --question 'The cow is round.'");
  EXPECT_THAT(r.out, HasSubstr("unknown"));

  reckoning::write_file_atomic(
      path("batch.jsonl"),
      "{\"theory\": \"Bob is big. If someone is big then they are kind.\", \"question\": \"Bob is kind.\"}\n"
      "{\"theory\": \"Bob is big.\", \"question\": \"Bob is not big.\"}\n"
      "not json\n");
  r = run_cli("data prove --batch < " + path("batch.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<std::string> lines = split_lines(r.out);
  ASSERT_GE(lines.size(), 3u);
  EXPECT_EQ(nlohmann::json::parse(lines[0])["answer"], "true");
  EXPECT_EQ(nlohmann::json::parse(lines[0])["depth"], 1);
  EXPECT_EQ(nlohmann::json::parse(lines[1])["answer"], "false");
  EXPECT_THAT(nlohmann::json::parse(lines[2])["error"].get<std::string>(), HasSubstr("stdin:3"));
}

TEST_F(CmdDataTest, StatsAsTableJsonAndWithATokenizer) {
  ASSERT_EQ(run_cli("data generate clutrr --hops 2,3 --per-hop 4 --seed 2 --out " + path("c.jsonl")).code, 0);
  CommandResult table = run_cli("data stats " + path("c.jsonl"));
  ASSERT_EQ(table.code, 0) << table.out;
  EXPECT_THAT(table.out, HasSubstr("tasks: 8"));
  EXPECT_THAT(table.out, HasSubstr("tokens per fact (whitespace)"));
  CommandResult js = run_cli("data stats --json " + path("c.jsonl"));
  ASSERT_EQ(js.code, 0) << js.out;
  nlohmann::json words = nlohmann::json::parse(js.out);
  EXPECT_EQ(words["tasks"], 8);
  EXPECT_EQ(words["per_hop"]["2"], 4);
  EXPECT_EQ(words["token_counter"], "whitespace");

  // A word tokenizer built from the same facts: whole words plus the final "." and "'s" as
  // their own tokens, so more tokens per fact than whitespace words.
  CommandResult built = run_cli("tokenizer build --corpus " + path("c.jsonl") + " --field facts distractors question --out " +
                     path("tok"));
  ASSERT_EQ(built.code, 0) << built.out;
  js = run_cli("data stats --json " + path("c.jsonl") + " --tokenizer " + path("tok"));
  ASSERT_EQ(js.code, 0) << js.out;
  nlohmann::json tokens = nlohmann::json::parse(js.out);
  EXPECT_EQ(tokens["token_counter"], "word (" + path("tok") + ")");
  EXPECT_GT(tokens["tokens_per_fact"]["mean"].get<double>(), words["tokens_per_fact"]["mean"].get<double>());
  EXPECT_EQ(tokens["tokens_per_fact"]["count"], words["tokens_per_fact"]["count"]);
  table = run_cli("data stats " + path("c.jsonl") + " --tokenizer " + path("tok"));
  EXPECT_THAT(table.out, HasSubstr("tokens per fact (word ("));

  CommandResult missing = run_cli("data stats " + path("c.jsonl") + " --tokenizer " + path("nowhere"));
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_THAT(missing.out, HasSubstr("nowhere"));
}

TEST_F(CmdDataTest, BadRecordsExit1AndSkipInvalidListsThem) {
  ASSERT_EQ(run_cli("data generate clutrr --hops 2 --per-hop 2 --seed 1 --out " + path("c.jsonl")).code, 0);
  std::string good = reckoning::read_file(path("c.jsonl"));
  nlohmann::json bad = nlohmann::json::parse(split_lines(good)[0]);
  bad["hops"] = "two";
  reckoning::write_file_atomic(path("bad.jsonl"), good + bad.dump() + "\n");
  CommandResult r = run_cli("data stats " + path("bad.jsonl"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("bad.jsonl:3: field 'hops'"));
  r = run_cli("data stats --json --skip-invalid " + path("bad.jsonl"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("skipped 1 invalid record(s)"));
  EXPECT_THAT(r.out, HasSubstr("bad.jsonl:3: field 'hops'"));

  // A FOLIO record without a conclusion; a ProofWriter theory with a bad answer.
  std::string folio = split_lines(reckoning::read_file(repo("data/samples/folio/folio-validation.jsonl")))[0];
  nlohmann::json no_conclusion = nlohmann::json::parse(folio);
  no_conclusion.erase("conclusion");
  reckoning::write_file_atomic(path("folio.jsonl"), folio + "\n" + no_conclusion.dump() + "\n");
  r = run_cli("data convert --from folio " + path("folio.jsonl") + " --out " + path("f.jsonl"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("folio.jsonl:2"));
  EXPECT_THAT(r.out, HasSubstr("conclusion"));
  r = run_cli("data convert --from folio --skip-invalid " + path("folio.jsonl") + " --out " + path("f.jsonl"));
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("skipped 1 invalid record(s)"));
  EXPECT_EQ(reckoning::tasks_load(path("f.jsonl")).size(), 1u);

  ASSERT_EQ(run_cli("data generate proofwriter --theories 2 --format meta --out " + path("m.jsonl")).code, 0);
  std::vector<std::string> theories = split_lines(reckoning::read_file(path("m.jsonl")));
  nlohmann::json maybe = nlohmann::json::parse(theories[1]);
  maybe["questions"]["Q1"]["answer"] = "Maybe";
  reckoning::write_file_atomic(path("m.jsonl"), theories[0] + "\n" + maybe.dump() + "\n");
  r = run_cli("data convert --from proofwriter " + path("m.jsonl") + " --out " + path("p.jsonl"));
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_THAT(r.out, HasSubstr("m.jsonl:2: questions.Q1: field 'answer'"));
}

TEST_F(CmdDataTest, BadOptionValuesExit2) {
  const std::string in = repo("data/samples/folio/folio-validation.jsonl");
  for (const std::string& args : {
           "data convert --from csv " + in + " --out " + path("x.jsonl"),
           "data convert --from proofwriter " + in + " --distractors -3 --out " + path("x.jsonl"),
           "data generate proofwriter --depth 11 --out " + path("x.jsonl"),
           "data generate proofwriter --world maybe --out " + path("x.jsonl"),
           "data generate proofwriter --distractors some --out " + path("x.jsonl"),
           "data generate clutrr --hops 0 --out " + path("x.jsonl"),
           "data generate clutrr --noise loud --out " + path("x.jsonl"),
           std::string("data stats"),
       }) {
    CommandResult r = run_cli(args);
    EXPECT_EQ(r.code, 2) << args << "\n" << r.out;
  }
  EXPECT_FALSE(fs::exists(path("x.jsonl")));
}
