// Run configuration: YAML (nested keys flatten), --set overrides, validation naming the key, JSON
// round trip.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>

#include "reckoning/error.h"
#include "reckoning/io.h"
#include "reckoning/run_config.h"

using namespace reckoning;
using testing::HasSubstr;
using testing::ThrowsMessage;

namespace {

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::temp_directory_path() / (name + std::to_string(::getpid()))).string();
  write_file_atomic(path, text);
  return path;
}

}  // namespace

TEST(RunConfig, YamlNestedKeysAndOverrides) {
  std::string path = write_temp("cfg.yaml", "inner:\n  steps: 6\n  lr_mode: static\nouter:\n  lr: 1.0e-3\nmulti_task: true\n");
  RunConfig c = run_config_load(path);
  EXPECT_EQ(c.inner_steps, 6);
  EXPECT_EQ(c.inner_lr_mode, "static");
  EXPECT_DOUBLE_EQ(c.outer_lr, 1e-3);
  EXPECT_TRUE(c.multi_task);
  run_config_set(c, "inner.steps=2", "--set");
  run_config_set(c, "run_dir=out/x", "--set");
  EXPECT_EQ(c.inner_steps, 2);
  EXPECT_EQ(c.run_dir, "out/x");
  RunConfig back = run_config_from_json(run_config_to_json(c), "json");
  EXPECT_EQ(run_config_to_json(back), run_config_to_json(c));
  std::filesystem::remove(path);
}

TEST(RunConfig, BaseFileIsLoadedFirstAndOverridden) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("cfg-base-" + std::to_string(::getpid()));
  write_file_atomic((dir / "main.yaml").string(), "inner:\n  steps: 6\n  lr_mode: static\nouter:\n  lr: 1.0e-3\n");
  write_file_atomic((dir / "arms/mid.yaml").string(), "base: ../main.yaml\ninner:\n  steps: 2\nseed: 7\n");
  write_file_atomic((dir / "arms/leaf.yaml").string(), "base: mid.yaml\ninner:\n  lr_mode: per-tensor\n");
  RunConfig c = run_config_load((dir / "arms/leaf.yaml").string());
  EXPECT_EQ(c.inner_steps, 2);              // from mid, over main
  EXPECT_EQ(c.inner_lr_mode, "per-tensor");  // from leaf, over main
  EXPECT_DOUBLE_EQ(c.outer_lr, 1e-3);        // from main
  EXPECT_EQ(c.seed, 7u);
  write_file_atomic((dir / "cycle-a.yaml").string(), "base: cycle-b.yaml\n");
  write_file_atomic((dir / "cycle-b.yaml").string(), "base: ./cycle-a.yaml\n");
  EXPECT_THAT([&] { run_config_load((dir / "cycle-a.yaml").string()); },
              ThrowsMessage<Error>(HasSubstr("cycle-b.yaml: key 'base': expected a chain of configuration files without a cycle")));
  write_file_atomic((dir / "missing.yaml").string(), "base: nowhere.yaml\n");
  EXPECT_THAT([&] { run_config_load((dir / "missing.yaml").string()); },
              ThrowsMessage<Error>(HasSubstr("missing.yaml: key 'base': " + (dir / "nowhere.yaml").string() +
                                             ": cannot open the configuration file")));
  write_file_atomic((dir / "listed.yaml").string(), "base: [a, b]\n");
  EXPECT_THAT([&] { run_config_load((dir / "listed.yaml").string()); },
              ThrowsMessage<Error>(HasSubstr("listed.yaml: key 'base': expected the path of a configuration file")));
  reckoning::remove_tree(dir);
}

TEST(RunConfig, ErrorsNameFileAndKey) {
  std::string path = write_temp("bad.yaml", "inner:\n  stepz: 6\n");
  EXPECT_THAT([&] { run_config_load(path); }, ThrowsMessage<Error>(HasSubstr(": key 'inner.stepz': expected one of:")));
  write_file_atomic(path, "inner:\n  steps: four\n");
  EXPECT_THAT([&] { run_config_load(path); }, ThrowsMessage<Error>(HasSubstr("key 'inner.steps': expected an integer, got 'four'")));
  write_file_atomic(path, "inner: [1, 2\n");
  EXPECT_THAT([&] { run_config_load(path); }, ThrowsMessage<Error>(HasSubstr("invalid YAML")));
  std::filesystem::remove(path);
  RunConfig c;
  EXPECT_THAT([&] { run_config_set(c, "outer.lr", "--set"); }, ThrowsMessage<Error>(HasSubstr("expected key=value")));
  EXPECT_THAT([&] { run_config_set(c, "multi_task=maybe", "--set"); },
              ThrowsMessage<Error>(HasSubstr("--set: key 'multi_task': expected true or false, got 'maybe'")));
}

TEST(RunConfig, ValidationNamesTheKey) {
  auto refused = [](const char* assignment, const char* message) {
    RunConfig c;
    run_config_set(c, assignment, "--set");
    EXPECT_THAT([&] { run_config_validate_training(c); }, ThrowsMessage<Error>(HasSubstr(message))) << assignment;
  };
  refused("outer.lr=0", "configuration key 'outer.lr': expected a positive number");
  refused("model.n_head=5", "configuration key 'model.n_head': expected a divisor of model.n_embd = 128, got 5");
  refused("inner.optimizer=adam", "configuration key 'inner.optimizer': expected one of adamw, sgd");
  refused("outer.warmup=1.5", "configuration key 'outer.warmup'");
  refused("data.distractors=-2", "configuration key 'data.distractors'");
  refused("inner.steps=-1", "configuration key 'inner.steps'");
  refused("matmul_dtype=fp16", "configuration key 'matmul_dtype': expected float32 or bfloat16, got 'fp16'");
  // bfloat16 products: refused for second-order AdamW meta-training (tests/precision_test.cpp),
  // accepted where the meta-gradient stays accurate.
  refused("matmul_dtype=bfloat16", "configuration key 'matmul_dtype': expected float32 for second-order");
  for (const char* other : {"inner.optimizer=sgd", "inner.first_order=true", "method=ft-icr"}) {
    RunConfig c;
    run_config_set(c, "matmul_dtype=bfloat16", "--set");
    run_config_set(c, other, "--set");
    EXPECT_NO_THROW(run_config_validate_training(c)) << other;
  }
  {
    // Evaluation (run_config_validate alone) takes no meta-gradient: bfloat16 is accepted there.
    RunConfig eval;
    run_config_set(eval, "matmul_dtype=bfloat16", "--set");
    EXPECT_NO_THROW(run_config_validate(eval));
  }
  RunConfig ok;
  EXPECT_NO_THROW(run_config_validate(ok));
  EXPECT_GT(run_config_keys().size(), 40u);
}

namespace {

TEST(RunConfigDocs, TrainingGuideListsEveryKeyWithItsDefaultAndHelp) {
  // docs/TRAINING.md's key table is `reckoning train --list-keys`; a key added without its row
  // (or a changed default or help text) fails here.
  const std::string doc = read_file(std::string(RECKONING_SOURCE_DIR) + "/docs/TRAINING.md");
  for (const RunConfigKey& k : run_config_keys()) {
    const std::string row = str("| `", k.key, "` | ", k.type, " | `", k.default_value, "` | ", k.help, " |");
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/TRAINING.md lacks the row\n" << row;
  }
}

}  // namespace
