// The executable end to end on a tiny run: data generate -> train -> eval -> answer (facts,
// knowledge file, stdin questions) -> inspect; init -> generate; usage errors exit 2, input
// errors exit 1 with a message naming the key or file.
// ctest-labels: cli
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "reckoning/base/io.h"
#include "support/test_util.h"

using reckoning::test::CommandResult;
using reckoning::test::run_cli;

using testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

class CliTest : public testing::Test {
 protected:
  void SetUp() override {
    dir_ = (fs::temp_directory_path() / ("reckoning_cli_test_" + std::to_string(::getpid()))).string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }
  // Generated tiny kinship data in dir_/data and a 4-step recipe dir_/c.yaml training into
  // dir_/run; `inner_extra` adds lines to its `inner:` map.
  void write_tiny_run(const std::string& inner_extra) {
    CommandResult gen = run_cli("data generate clutrr --hops 2 --per-hop 24 --valid-per-hop 4 --test-per-hop 4 --test-hops 2 "
                                "--style letters --seed 3 --out-dir " + dir_ + "/data");
    ASSERT_EQ(gen.code, 0) << gen.out;
    reckoning::write_file_atomic(dir_ + "/c.yaml",
                                 "data:\n  train: " + dir_ + "/data/train.jsonl\n  valid: " + dir_ +
                                     "/data/valid.jsonl\n  test: " + dir_ + "/data/test.jsonl\n"
                                     "model:\n  n_layer: 1\n  n_embd: 16\n  n_head: 2\n  n_ctx: 48\n"
                                     "inner:\n  steps: 2\n  lr: 1.0e-2\n" + inner_extra +
                                     "outer:\n  max_steps: 4\n  batch_tasks: 2\n  grad_accum: 1\n"
                                     "eval:\n  every: 2\nrun_dir: " + dir_ + "/run\n");
  }
  std::string dir_;
};

}  // namespace

TEST_F(CliTest, TrainEvalAnswerInspect) {
  ASSERT_NO_FATAL_FAILURE(write_tiny_run(""));
  CommandResult train = run_cli("train --config " + dir_ + "/c.yaml --set outer.lr=1e-3");
  ASSERT_EQ(train.code, 0) << train.out;
  EXPECT_THAT(train.out, HasSubstr("validation at step 4"));
  EXPECT_THAT(train.out, HasSubstr("2 hops"));
  EXPECT_TRUE(fs::exists(dir_ + "/run/test_report.json"));
  const std::string model = dir_ + "/run/checkpoints/best";

  CommandResult eval = run_cli("eval --model " + model + " --data " + dir_ + "/data/test.jsonl --out " + dir_ + "/r.json --tasks");
  ASSERT_EQ(eval.code, 0) << eval.out;
  EXPECT_THAT(eval.out, HasSubstr("overall"));
  EXPECT_EQ(reckoning::read_json_file(dir_ + "/r.json")["tasks"].size(), 4u);

  reckoning::write_file_atomic(dir_ + "/facts.txt", "B K daughter\nK N wife\n");
  CommandResult answer = run_cli("answer --model " + model + " --facts " + dir_ + "/facts.txt --save-knowledge " + dir_ +
                      "/k.safetensors --question 'How are N and B related to each other ?' --json");
  ASSERT_EQ(answer.code, 0) << answer.out;
  EXPECT_THAT(answer.out, HasSubstr("\"question\":\"How are N and B related to each other ?\""));
  CommandResult again = run_cli("answer --model " + model + " --knowledge " + dir_ + "/k.safetensors --json < /dev/null");
  ASSERT_EQ(again.code, 0) << again.out;
  CommandResult piped = run_cli("answer --model " + model + " --knowledge " + dir_ +
                     "/k.safetensors --json <<'EOF'\nHow are N and B related to each other ?\nHow are K and B related to each other ?\nEOF");
  ASSERT_EQ(piped.code, 0) << piped.out;
  EXPECT_THAT(piped.out, HasSubstr("How are K and B"));

  CommandResult inspect = run_cli("inspect " + model);
  ASSERT_EQ(inspect.code, 0) << inspect.out;
  EXPECT_THAT(inspect.out, HasSubstr("learned inner learning rates, per-layer"));
  EXPECT_THAT(inspect.out, HasSubstr("\nh.0 "));

  // A resume may lengthen the run (validation every 2 steps: one at step 6 shows it ran to 6).
  CommandResult resume = run_cli("train --config " + dir_ + "/c.yaml --resume --set outer.max_steps=6 --no-test");
  EXPECT_EQ(resume.code, 0) << resume.out;
  EXPECT_THAT(resume.out, HasSubstr("the run was planned for 4"));
  EXPECT_THAT(resume.out, HasSubstr("validation at step 6"));
}

// A LoRA inner loop through the executable (with truncated unrolling and fact mini-batches):
// train, eval, answer with a knowledge file of adapters only, and --merge answering the same.
TEST_F(CliTest, LoraTrainEvalAnswerMerged) {
  ASSERT_NO_FATAL_FAILURE(write_tiny_run("  adapt: lora\n  lora_rank: 2\n  lora_targets: c_attn,c_fc\n  unroll_from: 1\n  fact_batch: 1\n"));
  CommandResult train = run_cli("train --config " + dir_ + "/c.yaml");
  ASSERT_EQ(train.code, 0) << train.out;
  const std::string model = dir_ + "/run/checkpoints/best";
  EXPECT_TRUE(fs::exists(model + "/adapter_model.safetensors"));
  EXPECT_EQ(reckoning::read_json_file(model + "/adapter_config.json")["target_modules"],
            nlohmann::json({"attn.c_attn", "mlp.c_fc"}));
  CommandResult eval = run_cli("eval --model " + model + " --data " + dir_ + "/data/test.jsonl");
  ASSERT_EQ(eval.code, 0) << eval.out;
  EXPECT_THAT(eval.out, HasSubstr("overall"));

  reckoning::write_file_atomic(dir_ + "/facts.txt", "B K daughter\nK N wife\n");
  const std::string question = " --question 'How are N and B related to each other ?' --labels daughter,wife,son --json";
  CommandResult answer = run_cli("answer --model " + model + " --facts " + dir_ + "/facts.txt --save-knowledge " + dir_ +
                                 "/k.safetensors" + question);
  ASSERT_EQ(answer.code, 0) << answer.out;
  // The knowledge file is the adapters: 1 layer x 2 modules x (A, B), a few kilobytes.
  EXPECT_LT(fs::file_size(dir_ + "/k.safetensors"), 16384u);
  CommandResult merged = run_cli("answer --model " + model + " --knowledge " + dir_ + "/k.safetensors --merge" + question);
  ASSERT_EQ(merged.code, 0) << merged.out;
  auto json_line = [](const std::string& out) {  // the answer's JSON line among the messages
    const size_t start = out.find("{\"");
    return nlohmann::json::parse(out.substr(start, out.find('\n', start) - start));
  };
  const nlohmann::json a = json_line(answer.out), b = json_line(merged.out);
  EXPECT_EQ(a["answer"], b["answer"]);
  for (const char* label : {"daughter", "wife", "son"}) {
    EXPECT_NEAR(a["log_likelihood"][label].get<double>(), b["log_likelihood"][label].get<double>(), 1e-4) << label;
  }
}

TEST_F(CliTest, InitAndGenerate) {
  reckoning::write_file_atomic(dir_ + "/config.json", R"({"n_layer": 1, "n_embd": 16, "n_head": 2, "n_positions": 32})");
  reckoning::write_file_atomic(dir_ + "/corpus.txt", "the cat sees the dog\nthe dog sees the cat\n");
  CommandResult init = run_cli("init --config " + dir_ + "/config.json --corpus " + dir_ + "/corpus.txt --seed 2 --out " + dir_ + "/m");
  ASSERT_EQ(init.code, 0) << init.out;
  CommandResult ids = run_cli("generate --model " + dir_ + "/m --prompt 'the cat' --max-new-tokens 3 --ids");
  ASSERT_EQ(ids.code, 0) << ids.out;
  EXPECT_EQ(nlohmann::json::parse(ids.out).size(), 3u);
  CommandResult beam = run_cli("generate --model " + dir_ + "/m --prompt 'the cat' --max-new-tokens 3 --beams 2");
  EXPECT_EQ(beam.code, 0) << beam.out;
}

TEST_F(CliTest, PrintConfigResolvesBasesAndSetsAndLoadsBack) {
  reckoning::write_file_atomic(dir_ + "/base.yaml", "inner:\n  steps: 6\nrun_dir: runs/x\n");
  reckoning::write_file_atomic(dir_ + "/arm.yaml", "base: base.yaml\ninner:\n  lr_mode: static\n");
  CommandResult printed = run_cli("train --config " + dir_ + "/arm.yaml --set seed=9 --print-config");
  ASSERT_EQ(printed.code, 0) << printed.out;
  EXPECT_THAT(printed.out, HasSubstr("inner.steps: 6\n"));
  EXPECT_THAT(printed.out, HasSubstr("inner.lr_mode: \"static\"\n"));
  EXPECT_THAT(printed.out, HasSubstr("run_dir: \"runs/x\"\n"));
  EXPECT_THAT(printed.out, HasSubstr("seed: 9\n"));
  reckoning::write_file_atomic(dir_ + "/printed.yaml", printed.out);
  CommandResult again = run_cli("train --config " + dir_ + "/printed.yaml --print-config");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(again.out, printed.out);
}

TEST_F(CliTest, ErrorsAndUsage) {
  CommandResult bad_option = run_cli("train --bogus");
  EXPECT_EQ(bad_option.code, 2);
  EXPECT_THAT(bad_option.out, HasSubstr("Usage"));
  CommandResult bad_value = run_cli("eval --model /nonexistent --data x");
  EXPECT_EQ(bad_value.code, 2);
  reckoning::write_file_atomic(dir_ + "/c.yaml", "inner:\n  lr_mode: per-head\n");
  CommandResult bad_key = run_cli("train --config " + dir_ + "/c.yaml");
  EXPECT_EQ(bad_key.code, 1);
  EXPECT_THAT(bad_key.out, HasSubstr("c.yaml: key 'inner.lr_mode': expected one of per-tensor, per-layer, static, got 'per-head'"));
  CommandResult bad_set = run_cli("train --set nope=1");
  EXPECT_EQ(bad_set.code, 1);
  EXPECT_THAT(bad_set.out, HasSubstr("--set: key 'nope'"));
  CommandResult bad_device = run_cli("train --set data.train=" + dir_ + "/none.jsonl --set device=gpu");
  EXPECT_EQ(bad_device.code, 1);
  EXPECT_THAT(bad_device.out, HasSubstr("--set: key 'device': expected cpu, cuda or cuda:N, got 'gpu'"));
  CommandResult bad_bench_device = run_cli("bench meta-step --device tpu --steps 1");
  EXPECT_EQ(bad_bench_device.code, 1);
  EXPECT_THAT(bad_bench_device.out, HasSubstr("bench: device: expected cpu, cuda or cuda:N, got 'tpu'"));
  for (const char* sub : {"train", "eval", "answer", "init", "generate", "inspect", "tokenize", "data convert",
                          "data generate clutrr", "data generate proofwriter", "data prove", "data stats",
                          "report"}) {
    CommandResult help = run_cli(std::string(sub) + " --help");
    EXPECT_EQ(help.code, 0) << sub;
  }
}
