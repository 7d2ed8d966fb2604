// The meta-gradient diagnostic (perf/meta_grad.h) on a tiny recipe: a task's float32 meta-gradient
// against float64 (what it reports, and that it sees the float32 error the remedies remove), and
// the training-run wrapper (one line per step, each step's tasks, no files left behind).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>

#include "reckoning/perf/meta_grad.h"
#include "reckoning/train/trainer.h"
#include "support/tiny_run.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

// A fresh tiny model of the TempRun recipe and its first training task, encoded.
struct TinyModel {
  TempRun run{"meta-grad"};
  ReckoningModel model;
  EncodedTask task;
  TinyModel() {
    run.config.model_dropout = 0;
    torch::manual_seed(3);
    const std::vector<Task> tasks = tasks_load(run.config.data_train);
    model = model_for_training(run.config, tasks);
    task = encode_task(tasks.front(), *model.tokenizer, model.prompt(), fact_pool_of(tasks));
  }
};

}  // namespace

TEST(MetaGrad, ComparesATasksFloat32MetaGradientWithFloat64) {
  TinyModel t;
  t.model.run.inner_eps = 1e-3;  // a smooth update: float32 is accurate
  const nlohmann::json smooth = meta_grad_compare(t.model, t.task, 2);
  EXPECT_GT(smooth.at("norm64").get<double>(), 0);
  EXPECT_NEAR(smooth.at("norm32").get<double>(), smooth.at("norm64").get<double>(),
              1e-4 * smooth.at("norm64").get<double>());
  EXPECT_GT(smooth.at("rel_error").get<double>(), 0) << "float32 and float64 cannot agree to the bit";
  EXPECT_LT(smooth.at("rel_error").get<double>(), 1e-4);
  ASSERT_EQ(smooth.at("top_norm").size(), 2u);
  double previous = 1;
  for (const auto& entry : smooth.at("top_norm")) {
    EXPECT_FALSE(entry.at("tensor").get<std::string>().empty());
    EXPECT_LE(entry.at("share").get<double>(), previous);
    previous = entry.at("share").get<double>();
  }
  EXPECT_GT(smooth.at("adapted_elements").get<int64_t>(), 0);
  // eps 1e-3: the bounded counterfactual (eps_root = 1) changes the maths, so its norm differs.
  EXPECT_GT(smooth.at("norm64_bounded").get<double>(), 0);
  EXPECT_NE(smooth.at("norm64_bounded").get<double>(), smooth.at("norm64").get<double>());
  ASSERT_EQ(smooth.at("small").size(), 4u);
  int64_t previous_elements = 0;
  for (const auto& band : smooth.at("small")) {  // nested bands: each holds the one before
    EXPECT_GE(band.at("elements").get<int64_t>(), previous_elements);
    EXPECT_LE(band.at("elements").get<int64_t>(), smooth.at("adapted_elements").get<int64_t>());
    previous_elements = band.at("elements").get<int64_t>();
    for (const char* share : {"norm_share", "error_share"}) {
      EXPECT_GE(band.at(share).get<double>(), 0) << share;
      EXPECT_LE(band.at(share).get<double>(), 1) << share;
    }
  }
}

TEST(MetaGrad, SeesTheFloat32ErrorAtTheRealEpsilonAndABoundedDerivativeRemovesIt) {
  // At the default epsilon (1e-8) the update's steep derivative amplifies float32 rounding; the
  // float64 update alone does not remove it (the model's float32 products carry most of it), an
  // epsilon inside the root does (docs/TRAINING.md, "Stable meta-gradients").
  TinyModel t;
  t.model.run.inner_eps = 1e-8;
  const double plain = meta_grad_compare(t.model, t.task).at("rel_error").get<double>();
  t.model.run.inner_eps_root = 1e-10;
  const double bounded = meta_grad_compare(t.model, t.task).at("rel_error").get<double>();
  EXPECT_GT(plain, 1e-3) << "the diagnostic should see the float32 error of AdamW's derivative";
  EXPECT_LT(bounded, plain / 10) << "plain " << plain;
}

TEST(MetaGrad, DiagnosesEveryStepOfATrainingRunAndLeavesNoFiles) {
  TempRun r("meta-grad-run");
  const std::string tmp = path_join(r.dir, "tmp");
  std::filesystem::create_directories(tmp);
  ASSERT_EQ(::setenv("TMPDIR", tmp.c_str(), 1), 0);
  MetaGradBenchConfig c;
  c.run = r.config;
  c.steps = 3;
  std::vector<nlohmann::json> lines;
  const nlohmann::json summary = bench_meta_grad(c, [&](const nlohmann::json& line) { lines.push_back(line); });
  ::unsetenv("TMPDIR");
  ASSERT_EQ(lines.size(), 3u);
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].at("step").get<int64_t>(), static_cast<int64_t>(i));
    EXPECT_EQ(lines[i].at("tasks").size(), 2u);  // outer.batch_tasks
  }
  EXPECT_EQ(summary.at("steps").get<int64_t>(), 3);
  EXPECT_EQ(summary.at("tasks").get<int64_t>(), 6);
  EXPECT_GE(summary.at("max_rel_error").get<double>(), summary.at("median_rel_error").get<double>());
  EXPECT_GT(summary.at("max_norm64").get<double>(), 0);
  EXPECT_TRUE(summary.at("worst").contains("step"));
  EXPECT_TRUE(std::filesystem::is_empty(tmp)) << "the temporary run directory is removed";
  EXPECT_FALSE(std::filesystem::exists(r.config.run_dir)) << "the configured run directory is not touched";
}
