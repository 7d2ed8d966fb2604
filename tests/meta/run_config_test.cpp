// Run configuration: YAML (nested keys flatten), --set overrides, validation naming the key, JSON
// round trip.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/meta/run_config.h"
#include "support/test_util.h"

using reckoning::test::write_temp;

using namespace reckoning;
using testing::HasSubstr;
using testing::ThrowsMessage;

namespace {

}  // namespace

TEST(RunConfig, YamlNestedKeysAndOverrides) {
  std::string path = write_temp("cfg.yaml", "inner:\n  steps: 6\n  lr_mode: static\nouter:\n  lr: 1.0e-3\nmulti_task: true\n");
  RunConfig c = run_config_load(path);
  EXPECT_EQ(c.inner_steps, 6);
  EXPECT_EQ(c.inner_lr_mode, LrMode::Static);
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
  EXPECT_EQ(c.inner_lr_mode, LrMode::PerTensor);  // from leaf, over main
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
  // A key that is itself a map ("? lr: 1" in YAML) escaped as yaml-cpp's BadConversion (found by
  // fuzz/run_config_fuzz.cpp, fuzz/regressions/run_config/).
  write_file_atomic(path, "outer:\n  ? lr: 1\n");
  EXPECT_THAT([&] { run_config_load(path); },
              ThrowsMessage<Error>(HasSubstr(": a key under 'outer.': expected a name (e.g. inner.steps), got a map")));
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
  refused("outer.warmup=1.5", "configuration key 'outer.warmup'");
  refused("data.distractors=-2", "configuration key 'data.distractors'");
  refused("inner.steps=-1", "configuration key 'inner.steps'");
  // Enum-valued keys are refused already when they are read, naming the source and the key.
  for (const auto& [assignment, message] :
       std::vector<std::pair<const char*, const char*>>{
           {"inner.optimizer=adam", "--set: key 'inner.optimizer': expected one of adamw, sgd, got 'adam'"},
           {"matmul_dtype=fp16", "--set: key 'matmul_dtype': expected one of float32, bfloat16, got 'fp16'"}}) {
    RunConfig c;
    EXPECT_THAT([&] { run_config_set(c, assignment, "--set"); }, ThrowsMessage<Error>(HasSubstr(message)));
  }
  // bfloat16 products: refused for second-order AdamW meta-training (tests/model/precision_test.cpp),
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

// The defaults a new user can trust: rates in log space with their own outer rate, and the inner
// optimizer's decay and momentum chosen by the optimizer unless set.
TEST(RunConfig, DefaultsFollowTheOptimizerAndTheRateParametrisation) {
  RunConfig c;
  EXPECT_TRUE(c.inner_log_space);
  EXPECT_EQ(c.rates_lr(), 1e-2);
  c.inner_log_space = false;
  EXPECT_EQ(c.rates_lr(), c.outer_lr);  // raw rates move by the weights' rate
  c.outer_lr_rates = 5e-3;
  EXPECT_EQ(c.rates_lr(), 5e-3);
  RunConfig adamw;
  EXPECT_EQ(adamw.inner_loop().weight_decay, 0.01);
  RunConfig sgd;
  run_config_set(sgd, "inner.optimizer=sgd", "--set");
  EXPECT_EQ(sgd.inner_loop().weight_decay, 0.0);  // the authors' SGD: momentum 0.9, no decay
  EXPECT_EQ(sgd.inner_loop().momentum, 0.9);
  run_config_set(sgd, "inner.momentum=0", "--set");
  run_config_set(sgd, "inner.weight_decay=0.1", "--set");
  EXPECT_EQ(sgd.inner_loop().momentum, 0.0);  // set: kept
  EXPECT_EQ(sgd.inner_loop().weight_decay, 0.1);
  RunConfig bad;
  run_config_set(bad, "inner.momentum=1.5", "--set");
  EXPECT_THAT([&] { run_config_validate(bad); },
              ThrowsMessage<Error>(HasSubstr("configuration key 'inner.momentum': expected a number below 1")));
}

namespace {

TEST(RunConfigDocs, TrainingGuideListsEveryKeyWithItsDefaultAndHelp) {
  // docs/TRAINING.md's key table is `reckoning train --list-keys`; a key added without its row
  // (or a changed default or help text) fails here.
  const std::string doc = read_file(std::string(RECKONING_SOURCE_DIR) + "/docs/TRAINING.md");
  for (const RunConfigKey& k : run_config_keys()) {
    const std::string row =
        str("| `", k.key, "` | ", k.type, " | `", k.default_value, "` | ", k.model ? "yes" : "", " | ", k.help, " |");
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/TRAINING.md lacks the row\n" << row;
  }
}

}  // namespace

TEST(RunConfig, EnumKeysAreParsedOnceFromTheirTables) {
  RunConfig c;
  run_config_set(c, "method=ft-icr", "--set");
  run_config_set(c, "control=no-facts", "--set");
  run_config_set(c, "inner.optimizer=sgd", "--set");
  run_config_set(c, "inner.lr_mode=per-tensor", "--set");
  run_config_set(c, "matmul_dtype=bfloat16", "--set");
  run_config_set(c, "device=cuda:1", "--set");  // a GPU name loads anywhere; using it is checked later
  EXPECT_EQ(c.method, Method::FtIcr);
  EXPECT_EQ(c.control, Control::NoFacts);
  EXPECT_EQ(c.inner_optimizer, InnerOptimizer::Sgd);
  EXPECT_EQ(c.inner_lr_mode, LrMode::PerTensor);
  EXPECT_EQ(c.matmul_dtype, MatmulDtype::BFloat16);
  EXPECT_EQ(c.device, torch::Device(torch::kCUDA, 1));
  const nlohmann::json j = run_config_to_json(c);  // written as names, read back as values
  EXPECT_EQ(j.at("method"), "ft-icr");
  EXPECT_EQ(j.at("inner.lr_mode"), "per-tensor");
  EXPECT_EQ(j.at("device"), "cuda:1");
  EXPECT_EQ(run_config_to_json(run_config_from_json(j, "json")), j);
  EXPECT_THAT([&] { run_config_set(c, "control=some-facts", "--set"); },
              ThrowsMessage<Error>(HasSubstr("--set: key 'control': expected one of none, no-facts, random-facts, no-question, got 'some-facts'")));
  EXPECT_THAT([] { run_config_from_json({{"method", "icr"}}, "reckoning.json"); },
              ThrowsMessage<Error>(HasSubstr("reckoning.json: key 'method': expected one of reckoning, ft-icr, got 'icr'")));
  EXPECT_THAT([] { run_config_from_json({{"device", "gpu"}}, "reckoning.json"); },
              ThrowsMessage<Error>(HasSubstr("reckoning.json: key 'device': expected cpu, cuda or cuda:N, got 'gpu'")));
  // The key table's type column and the enum keys' allowed values come from the same tables.
  for (const RunConfigKey& k : run_config_keys()) {
    if (k.key == "inner.optimizer") {
      EXPECT_EQ(k.type, "one of adamw, sgd");
    }
    if (k.key == "control") {
      EXPECT_EQ(k.type, "one of none, no-facts, random-facts, no-question");
    }
  }
}

TEST(RunConfig, AModelKeepsOnlyItsOwnKeysAndOldFilesWithEveryKeyStillLoad) {
  RunConfig c;
  c.data_train = "data/train.jsonl";
  c.outer_lr = 0.5;
  c.inner_steps = 7;
  c.multi_task = true;
  const nlohmann::json model = run_config_model_json(c);
  EXPECT_FALSE(model.contains("data.train"));
  EXPECT_FALSE(model.contains("outer.lr"));
  EXPECT_FALSE(model.contains("run_dir"));
  EXPECT_EQ(model.at("inner.steps"), 7);
  EXPECT_EQ(model.at("multi_task"), true);
  EXPECT_TRUE(model.contains("method") && model.contains("device") && model.contains("eval.max_new_tokens"));
  RunConfig back = run_config_from_json(model, "reckoning.json");
  EXPECT_EQ(back.inner_steps, 7);
  EXPECT_TRUE(back.data_train.empty());  // not kept: the default
  // A reckoning.json of an earlier version held every key, enum values as names: it loads.
  RunConfig old = run_config_from_json(run_config_to_json(c), "reckoning.json");
  EXPECT_EQ(old.data_train, "data/train.jsonl");
  EXPECT_EQ(run_config_model_json(old), model);
}
