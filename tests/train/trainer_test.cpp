// The outer loop end to end on a tiny model: resume equals uninterrupted training (to the bit),
// memory is flat over 50 training steps, evaluation is deterministic, checkpoints and logs are
// written, baselines run through the same trainer, the schedule is what trainer.h says.
#include <gtest/gtest.h>
#include <functional>

#include <gmock/gmock.h>

#include <filesystem>
#include <fstream>

#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/run_lock.h"
#include "reckoning/base/threads.h"
#include "reckoning/model/lora.h"
#include "reckoning/train/trainer.h"
#include "support/test_util.h"
#include "support/tiny_run.h"

using namespace reckoning;
using namespace reckoning::test;
namespace fs = std::filesystem;

TEST(Trainer, ResumeEqualsUninterruptedTraining) {
  for (const LrMode lr_mode : {LrMode::PerLayer, LrMode::Static}) {
    TempRun a("uninterrupted"), b("resumed");
    a.config.inner_lr_mode = b.config.inner_lr_mode = lr_mode;
    TrainSummary full = train(a.config, quiet());
    ASSERT_EQ(full.losses.size(), 6u);
    TrainOptions stop = quiet();
    stop.stop_after = 4;  // not at a validation step: the checkpoint is written because of the stop
    TrainSummary first = train(b.config, stop);
    ASSERT_EQ(first.losses.size(), 4u);
    torch::manual_seed(12345);  // a new process would start from another RNG state
    TrainOptions resume = quiet();
    resume.resume = true;
    TrainSummary rest = train(b.config, resume);
    ASSERT_EQ(rest.losses.size(), 2u);
    for (size_t i = 0; i < 4; ++i) EXPECT_EQ(first.losses[i], full.losses[i]) << enum_name(lr_mode) << " step " << i + 1;
    for (size_t i = 0; i < 2; ++i) EXPECT_EQ(rest.losses[i], full.losses[4 + i]) << enum_name(lr_mode) << " step " << i + 5;
    EXPECT_EQ(rest.steps, 6);
    // The final models are identical too.
    ReckoningModel ma = reckoning_model_load(full.last_dir), mb = reckoning_model_load(rest.last_dir);
    std::vector<torch::Tensor> wa = decoder_flatten(ma.weights), wb = decoder_flatten(mb.weights);
    for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i]));
    EXPECT_TRUE(torch::equal(ma.lrs.values, mb.lrs.values));
  }
}

// The default thread count depends on the load when a process starts; a resumed run keeps the
// count its run started with (results depend on it in their last bits).
TEST(Trainer, ResumeKeepsTheThreadCountTheRunStartedWith) {
  const int before = at::get_num_threads();
  TempRun r("threads");
  r.config.threads = 0;  // the default
  TrainOptions stop = quiet();
  stop.stop_after = 2;
  configure_threads(1);
  train(r.config, stop);
  const std::string recorded = path_join(r.config.run_dir, "config.json");
  EXPECT_EQ(read_json_file(recorded).at("threads"), 1);
  configure_threads(0);  // the default again; this process may now get more
  TrainOptions resume = quiet();
  resume.resume = true;
  train(r.config, resume);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_THAT(thread_summary(), ::testing::HasSubstr("the count this run started with"));
  EXPECT_EQ(read_json_file(recorded).at("threads"), 1);
  configure_threads(before);
}

// A LoRA inner loop through the trainer: the base frozen (outer.train_base false) stays bit for
// bit the initial model, the adapters' initial values and the rates are trained, the checkpoint
// holds PEFT adapter files, and a resumed run ends identical to an uninterrupted one.
TEST(Trainer, LoraInnerLoopTrainsAdaptersAndRatesWithAFrozenBase) {
  TempRun a("lora_full"), b("lora_resumed");
  for (TempRun* r : {&a, &b}) {
    r->config.inner_adapt = "lora";
    r->config.inner_lora_rank = 2;
    r->config.inner_lora_alpha = 4;
    r->config.outer_train_base = false;
    r->config.inner_lr = 1e-2;
    r->config.outer_lr = 1e-2;
  }
  const TrainSummary full = train(a.config, quiet());
  for (double loss : full.losses) EXPECT_TRUE(std::isfinite(loss));
  const ReckoningModel trained = reckoning_model_load(full.last_dir);
  EXPECT_TRUE(file_exists(path_join(full.last_dir, "adapter_model.safetensors")));
  EXPECT_EQ(trained.lrs.group_names, (std::vector<std::string>{"h.0"}));
  // The frozen base is the seeded initial model exactly; the adapters and rates moved.
  std::vector<Task> corpus = tiny_tasks(12, 0), valid = tiny_tasks(4, 20);  // TempRun's train + valid
  corpus.insert(corpus.end(), valid.begin(), valid.end());
  const ReckoningModel initial = model_for_training(a.config, corpus);
  const std::vector<torch::Tensor> w0 = decoder_flatten(initial.weights), w1 = decoder_flatten(trained.weights);
  for (size_t i = 0; i < w0.size(); ++i) EXPECT_TRUE(torch::equal(w0[i].detach(), w1[i])) << i;
  const std::vector<torch::Tensor> l0 = lora_flatten(initial.weights), l1 = lora_flatten(trained.weights);
  ASSERT_EQ(l0.size(), 8u);
  ASSERT_EQ(l1.size(), 8u);
  for (size_t i = 0; i < l0.size(); ++i) EXPECT_FALSE(torch::equal(l0[i].detach(), l1[i])) << i;
  EXPECT_FALSE(torch::equal(initial.lrs.values.detach(), trained.lrs.values));

  TrainOptions stop = quiet();
  stop.stop_after = 4;
  train(b.config, stop);
  TrainOptions resume = quiet();
  resume.resume = true;
  const TrainSummary rest = train(b.config, resume);
  const ReckoningModel resumed = reckoning_model_load(rest.last_dir);
  const std::vector<torch::Tensor> r1 = lora_flatten(resumed.weights);
  for (size_t i = 0; i < l1.size(); ++i) EXPECT_TRUE(torch::equal(l1[i], r1[i])) << i;
  EXPECT_TRUE(torch::equal(trained.lrs.values, resumed.lrs.values));
  // Changing the adapters or what the outer loop trains on resume is refused, naming the key.
  b.config.outer_train_base = true;
  EXPECT_THAT([&] { train(b.config, resume); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("configuration key 'outer.train_base' on resume")));
  b.config.outer_train_base = false;
  b.config.inner_lora_rank = 4;
  EXPECT_THAT([&] { train(b.config, resume); },
              ::testing::ThrowsMessage<Error>(::testing::HasSubstr("configuration key 'inner.lora_rank' on resume")));
}

// One run writes a run directory at a time: a second run on a directory in use refuses, naming
// the holder, and writes nothing there; once the first ends, the directory is free again.
TEST(Trainer, ASecondRunOnARunDirectoryInUseRefuses) {
  TempRun r("locked");
  r.config.outer_max_steps = 2;
  {
    const RunLock first(r.config.run_dir);  // as a run in another process would hold it
    EXPECT_THAT([&] { train(r.config, quiet()); },
                ::testing::ThrowsMessage<Error>(::testing::AllOf(
                    ::testing::HasSubstr("a run directory no other run is using"),
                    ::testing::HasSubstr(str("pid ", ::getpid())))));
    EXPECT_FALSE(file_exists(path_join(r.config.run_dir, "config.json")));
    EXPECT_FALSE(file_exists(path_join(r.config.run_dir, "metrics.jsonl")));
  }
  EXPECT_EQ(train(r.config, quiet()).steps, 2);  // released: the run proceeds
}

TEST(Trainer, ResumeCanLengthenTheRunButNotEndBeforeIt) {
  TempRun r("length");
  TrainOptions stop = quiet();
  stop.stop_after = 4;
  train(r.config, stop);
  TrainOptions resume = quiet();
  resume.resume = true;
  r.config.outer_max_steps = 3;  // 4 done already
  try {
    train(r.config, resume);
    FAIL() << "a resume ending before the steps done was accepted";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), ::testing::HasSubstr("outer.max_steps"));
    EXPECT_THAT(e.what(), ::testing::HasSubstr("at least 4"));
  }
  r.config.outer_max_steps = 8;  // planned for 6
  const TrainSummary longer = train(r.config, resume);
  EXPECT_EQ(longer.steps, 8);
  EXPECT_EQ(longer.losses.size(), 4u);
  EXPECT_EQ(read_json_file(path_join(longer.last_dir, "trainer_state.json"))["total_steps"], 8);
}

TEST(Trainer, ResumeRefusesChangedRatesNamingTheKey) {
  TempRun r("changed-rates");
  TrainOptions stop = quiet();
  stop.stop_after = 2;
  train(r.config, stop);
  TrainOptions resume = quiet();
  resume.resume = true;
  struct Change {
    const char* key;
    std::function<void(RunConfig&)> apply;
  };
  for (const Change& c : {Change{"inner.lr_mode", [](RunConfig& x) { x.inner_lr_mode = LrMode::PerTensor; }},
                          Change{"inner.steps", [](RunConfig& x) { x.inner_steps += 1; }},
                          Change{"inner.log_space", [](RunConfig& x) { x.inner_log_space = !x.inner_log_space; }}}) {
    RunConfig changed = r.config;
    c.apply(changed);
    try {
      train(changed, resume);
      ADD_FAILURE() << "a resume with a changed " << c.key << " was accepted";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), ::testing::HasSubstr(str("configuration key '", c.key, "' on resume")));
      EXPECT_THAT(e.what(), ::testing::HasSubstr("as in the checkpoint"));
    }
  }
  EXPECT_EQ(train(r.config, resume).steps, r.config.outer_max_steps);  // unchanged: resumes
}

TEST(Trainer, WritesCheckpointsMetricsAndResolvedConfig) {
  TempRun r("outputs");
  TrainSummary s = train(r.config, quiet());
  EXPECT_TRUE(file_exists(path_join(s.best_dir, "model.safetensors")));
  EXPECT_TRUE(file_exists(path_join(s.best_dir, "inner_lrs.safetensors")));
  EXPECT_TRUE(file_exists(path_join(s.last_dir, "optimizer.pt")));
  nlohmann::json config = read_json_file(path_join(r.config.run_dir, "config.json"));
  EXPECT_EQ(config["config"]["inner.steps"], 2);
  EXPECT_EQ(config["libtorch_version"], TORCH_VERSION);
  std::ifstream metrics(path_join(r.config.run_dir, "metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(metrics, line); ++lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"], lines + 1);
    EXPECT_EQ(j["inner_loss"].size(), 2u);
    EXPECT_EQ(j["rates"]["mean"].size(), 2u);
    EXPECT_TRUE(j["loss"].get<double>() > 0);
  }
  EXPECT_EQ(lines, 6);
  // Each validation records the rate table (rate space) next to the accuracy breakdown.
  std::ifstream evals(path_join(r.config.run_dir, "eval.jsonl"));
  int eval_lines = 0;
  for (std::string line; std::getline(evals, line); ++eval_lines) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_EQ(j["step"], 3 * (eval_lines + 1));
    EXPECT_TRUE(j["valid"].contains("by_hops"));
    EXPECT_EQ(j["inner_lrs"]["mode"], "per-layer");
    EXPECT_EQ(j["inner_lrs"]["rows"], nlohmann::json({"embeddings", "h.0", "ln_f"}));
    ASSERT_EQ(j["inner_lrs"]["values"].size(), 3u);
    EXPECT_EQ(j["inner_lrs"]["values"][0].size(), 2u);
  }
  EXPECT_EQ(eval_lines, 2);
  // The learned rates moved away from their initial value.
  ReckoningModel m = reckoning_model_load(s.last_dir);
  EXPECT_EQ(m.lrs.mode, LrMode::PerLayer);
  EXPECT_FALSE(torch::allclose(m.lrs.values, torch::full_like(m.lrs.values, 1e-2)));
}

TEST(Trainer, SavesTheGenerationBudgetItEvaluatedWith) {
  // eval.max_new_tokens 0 = derived (single-task: the longest training target + 4); the models it
  // saves carry the derived budget, which `reckoning eval` then uses.
  TempRun r("budget");
  r.config.eval_max_new_tokens = 0;
  r.config.outer_max_steps = 2;
  r.config.eval_every = 2;
  const TrainSummary s = train(r.config, quiet());
  const ReckoningModel best = reckoning_model_load(s.best_dir), last = reckoning_model_load(s.last_dir);
  const int64_t answer_tokens = static_cast<int64_t>(best.tokenizer->encode(" son").size());
  EXPECT_EQ(best.run.eval_max_new_tokens, answer_tokens + 4);  // the longest answer and 4 more
  EXPECT_EQ(last.run.eval_max_new_tokens, best.run.eval_max_new_tokens);
}

TEST(Trainer, AModelDirectoryKeepsOnlyTheModelsSettings) {
  TempRun r("model-settings");
  r.config.outer_max_steps = 2;
  r.config.eval_every = 2;
  const TrainSummary s = train(r.config, quiet());
  const nlohmann::json kept = read_json_file(path_join(s.best_dir, "reckoning.json"));
  EXPECT_EQ(kept.at("inner.steps"), 2);
  EXPECT_EQ(kept.at("method"), "reckoning");
  for (const char* run_only : {"data.train", "data.valid", "outer.lr", "run_dir", "model.n_layer", "threads"}) {
    EXPECT_FALSE(kept.contains(run_only)) << run_only;
  }
  EXPECT_EQ(reckoning_model_load(s.best_dir).run.inner_lr, r.config.inner_lr);
}

TEST(Trainer, TheTestSetIsEvaluatedWithTheBestCheckpoint) {
  TempRun r("test-set");
  r.config.outer_max_steps = 4;
  r.config.eval_every = 2;
  TrainOptions stop = quiet();
  stop.stop_after = 2;
  const TrainSummary partial = train(r.config, stop);
  EXPECT_FALSE(evaluate_test_set(r.config, partial, stop).has_value());  // no data.test
  r.config.data_test = r.config.data_valid;
  EXPECT_TRUE(evaluate_test_set(r.config, partial, stop).has_value()) << "stopped where --stop-after asked";
  TrainSummary short_of_it = partial;
  short_of_it.steps = 1;  // ended (early stopping) before the step --stop-after named
  EXPECT_FALSE(evaluate_test_set(r.config, short_of_it, stop).has_value());
  TrainOptions resume = quiet();
  resume.resume = true;
  const TrainSummary full = train(r.config, resume);
  const std::optional<EvalReport> report = evaluate_test_set(r.config, full, resume);
  ASSERT_TRUE(report.has_value());
  EXPECT_EQ(report->overall.n, 4);
  const nlohmann::json written = read_json_file(path_join(r.config.run_dir, "test_report.json"));
  EXPECT_EQ(written.at("overall").at("n"), 4);
  EXPECT_EQ(written.at("tasks").size(), 4u);
}

// eval.labels: "auto" is resolved to the training answers and kept in the model directory; a
// constrained prediction is always one of the labels, and with a single label the accuracy is
// exactly the share of tasks with that answer.
TEST(Trainer, ConstrainedAnsweringUsesTheTrainingLabels) {
  TempRun r("labels");
  r.config.outer_max_steps = 2;
  r.config.eval_every = 2;
  r.config.eval_labels = "auto";
  r.config.data_test = r.config.data_valid;
  const TrainSummary s = train(r.config, quiet());
  EXPECT_EQ(reckoning_model_load(s.best_dir).run.eval_labels, "daughter,father,mother,son");
  const std::optional<EvalReport> report = evaluate_test_set(r.config, s, quiet());
  ASSERT_TRUE(report.has_value());
  for (const TaskResult& t : report->tasks) {
    EXPECT_THAT((std::vector<std::string>{"daughter", "father", "mother", "son"}), ::testing::Contains(t.label));
  }
  ReckoningModel model = reckoning_model_load(s.best_dir);
  const std::vector<Task> tasks = tasks_load(r.config.data_valid);
  EvalOptions only_son = s.eval_options;
  only_son.labels = {"son"};
  int64_t sons = 0;
  for (const Task& t : tasks) sons += t.answer == "son";
  EXPECT_EQ(evaluate(model, tasks, only_son).overall.label, sons);
}

TEST(Trainer, OneGenerationBudgetRule) {
  ReckoningModel m;
  m.config.gpt2().n_ctx = 77;
  EXPECT_EQ(eval_generation_budget(m, 5, 3), 5);   // asked for
  EXPECT_EQ(eval_generation_budget(m, 0, 3), 7);   // the longest training target + 4
  EXPECT_EQ(eval_generation_budget(m, 0), 8);      // unknown targets
  m.run.multi_task = true;
  EXPECT_EQ(eval_generation_budget(m, 0, 3), 77);  // a fact list to recall: the whole context
  m.run.eval_max_new_tokens = 12;                  // what the trainer saved with the model
  EXPECT_EQ(eval_generation_budget(m, 0, 3), 12);
  EXPECT_EQ(eval_generation_budget(m, 6, 3), 6);
}

TEST(Trainer, MemoryIsFlatOver50Steps) {
  RECKONING_SKIP_MEMORY_FIGURES_UNDER_ASAN();
  TempRun r("memory");
  r.config.outer_max_steps = 50;
  r.config.eval_every = 0;
  r.config.data_valid.clear();
  train(r.config, quiet());
  std::ifstream metrics(path_join(r.config.run_dir, "metrics.jsonl"));
  std::vector<double> rss;
  for (std::string line; std::getline(metrics, line);) rss.push_back(nlohmann::json::parse(line)["rss_mb"]);
  ASSERT_EQ(rss.size(), 50u);
  // After warm-up (allocator pools filled), 40 more steps may not grow the resident set.
  EXPECT_LT(rss[49] - rss[9], 8.0) << "RSS at step 10: " << rss[9] << " MB, at step 50: " << rss[49] << " MB";
}

TEST(Trainer, EvaluationIsDeterministic) {
  TempRun r("eval");
  TrainSummary s = train(r.config, quiet());
  ReckoningModel m = reckoning_model_load(s.best_dir);
  m.run.model_dropout = 0.5;  // irrelevant: evaluation never uses dropout
  std::vector<Task> tasks = tiny_tasks(6, 30);
  EvalOptions o;
  o.max_new_tokens = 4;
  EvalReport x = evaluate(m, tasks, o), y = evaluate(m, tasks, o);
  ASSERT_EQ(x.tasks.size(), 6u);
  for (size_t i = 0; i < x.tasks.size(); ++i) {
    EXPECT_EQ(x.tasks[i].prediction, y.tasks[i].prediction);
    EXPECT_EQ(x.tasks[i].inner_losses, y.tasks[i].inner_losses);
    ASSERT_EQ(x.tasks[i].inner_losses.size(), 3u);
    EXPECT_LT(x.tasks[i].inner_losses.back(), x.tasks[i].inner_losses.front());  // facts were written
  }
  EXPECT_EQ(x.by_hops.size(), 2u);
  EXPECT_EQ(x.overall.n, 6);
}

TEST(Trainer, BaselinesRunThroughTheSameTrainer) {
  // Every method and control, also with a LoRA inner loop (FT-ICR then trains the adapters too).
  for (const char* setting : {"method=ft-icr", "control=no-facts", "control=random-facts", "control=no-question",
                              "multi_task=true", "inner.first_order=true", "inner.optimizer=sgd",
                              "method=ft-icr,control=random-facts", "inner.adapt=lora,method=ft-icr",
                              "inner.adapt=lora,control=random-facts", "inner.adapt=lora,control=no-facts",
                              "inner.adapt=lora,inner.first_order=true", "inner.adapt=lora,inner.optimizer=sgd",
                              "inner.adapt=lora,inner.lr_mode=static"}) {
    TempRun r("baseline");
    r.config.outer_max_steps = 2;
    const std::string both = setting;
    const size_t comma = both.find(',');
    run_config_set(r.config, both.substr(0, comma), "test");
    if (comma != std::string::npos) run_config_set(r.config, both.substr(comma + 1), "test");
    TrainSummary s = train(r.config, quiet());
    EXPECT_EQ(s.steps, 2) << setting;
    for (double l : s.losses) EXPECT_TRUE(std::isfinite(l)) << setting;
  }
}

TEST(Trainer, ScheduleWarmsUpThenDecaysLinearly) {
  EXPECT_DOUBLE_EQ(lr_schedule(0, 100, 0.1), 0.1);
  EXPECT_DOUBLE_EQ(lr_schedule(9, 100, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(lr_schedule(10, 100, 0.1), 1.0);
  EXPECT_DOUBLE_EQ(lr_schedule(55, 100, 0.1), 0.5);
  EXPECT_DOUBLE_EQ(lr_schedule(99, 100, 0.1), 1.0 / 90);
  EXPECT_DOUBLE_EQ(lr_schedule(0, 10, 0.0), 1.0);
}

TEST(Trainer, InvalidConfigurationIsRefusedBeforeWork) {
  TempRun r("invalid");
  // A wrong name is refused when the configuration is read (the keys are typed)...
  EXPECT_THAT([&] { run_config_set(r.config, "inner.lr_mode=per-head", "--set"); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("--set: key 'inner.lr_mode': expected one of per-tensor, per-layer, static, got 'per-head'")));
  // ... and an invalid value by train() before it writes anything.
  r.config.inner_steps = -1;
  EXPECT_THAT([&] { train(r.config, quiet()); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("configuration key 'inner.steps': expected a non-negative integer, got -1")));
  EXPECT_FALSE(fs::exists(r.config.run_dir));
  TempRun q("resume-missing");
  TrainOptions o = quiet();
  o.resume = true;
  EXPECT_THAT([&] { train(q.config, o); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("expected a checkpoint to resume from")));
}

// Where LibTorch has CUDA and a GPU (the GPU machine, not CI): a whole training run on the GPU -
// steps, metrics (read back to the host), validation, checkpoints, a stop and a resume - follows the
// CPU run. No dropout, so neither draws anything at random; float32 on both, so they agree to
// rounding at the first step, and later within a percent (this tiny model amplifies rounding: on
// the CPU alone, the fused AdamW node and plain ops differ by 5e-4 at step 5).
TEST(Trainer, TrainsOnTheGpuLikeOnTheCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU: GPU training is checked on the GPU machine";
  TempRun cpu("cpu"), gpu("gpu");
  cpu.config.model_dropout = gpu.config.model_dropout = 0.0;
  gpu.config.device = torch::Device(torch::kCUDA);
  const TrainSummary a = train(cpu.config, quiet());
  TrainOptions stop = quiet();
  stop.stop_after = 4;
  const TrainSummary first = train(gpu.config, stop);
  TrainOptions resume = quiet();
  resume.resume = true;
  const TrainSummary rest = train(gpu.config, resume);
  EXPECT_EQ(rest.steps, 6);
  std::vector<double> b = first.losses;
  b.insert(b.end(), rest.losses.begin(), rest.losses.end());
  ASSERT_EQ(a.losses.size(), b.size());
  EXPECT_NEAR(b[0], a.losses[0], 1e-5 * std::abs(a.losses[0]));
  for (size_t i = 0; i < b.size(); ++i) {
    EXPECT_NEAR(b[i], a.losses[i], 1e-2 * std::abs(a.losses[i])) << "step " << i + 1;
  }
  EXPECT_TRUE(file_exists(path_join(rest.last_dir, "optimizer.pt")));
  std::ifstream metrics(path_join(gpu.config.run_dir, "metrics.jsonl"));
  int lines = 0;
  for (std::string line; std::getline(metrics, line);) lines += nlohmann::json::parse(line)["rates"]["mean"].size() == 2u;
  EXPECT_EQ(lines, 6);
}

namespace {

std::vector<nlohmann::json> metrics_of(const RunConfig& config) {
  std::vector<nlohmann::json> lines;
  std::ifstream in(path_join(config.run_dir, "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) lines.push_back(nlohmann::json::parse(line));
  return lines;
}

}  // namespace

TEST(Trainer, PerTaskClippingBoundsEveryTasksShare) {
  // A clip no task reaches leaves training as it was (the same gradients, summed in the same order:
  // both take the tasks one at a time). The tight clip runs batched (per-task replicas).
  TempRun plain("task-clip-off"), loose("task-clip-loose"), tight("task-clip-tight");
  plain.config.outer_batched = false;
  const TrainSummary p = train(plain.config, quiet());
  loose.config.outer_batched = false;
  loose.config.outer_task_clip = 1e9;
  const TrainSummary l = train(loose.config, quiet());
  ASSERT_EQ(p.losses.size(), l.losses.size());
  for (size_t i = 0; i < p.losses.size(); ++i) EXPECT_NEAR(p.losses[i], l.losses[i], 1e-6) << "step " << i + 1;
  // A tight one: the step's averaged meta-gradient (recorded before the global clip) is no longer
  // than the per-task clip, while the tasks' own meta-gradients (task_grad_norm_max) are.
  tight.config.outer_task_clip = 0.05;
  tight.config.outer_clip = 0;
  train(tight.config, quiet());
  const std::vector<nlohmann::json> lines = metrics_of(tight.config), plain_lines = metrics_of(plain.config);
  ASSERT_EQ(lines.size(), 6u);
  for (size_t i = 0; i < lines.size(); ++i) {
    const double task_max = lines[i].at("task_grad_norm_max").get<double>();
    EXPECT_GT(task_max, 0.05) << "step " << i + 1 << ": the clip should bind";
    EXPECT_LE(lines[i].at("grad_norm").get<double>(), 0.05 * (1 + 1e-5)) << "step " << i + 1;
    EXPECT_FALSE(plain_lines[i].contains("task_grad_norm_max"));
  }
  EXPECT_GT(plain_lines[0].at("grad_norm").get<double>(), 0.05);
}

TEST(Trainer, TheStepHookSeesEachStepsTasksAndChangesNothing) {
  TempRun a("hook-off"), b("hook-on");
  const TrainSummary without = train(a.config, quiet());
  TrainOptions options = quiet();
  std::vector<int64_t> steps;
  size_t tasks_seen = 0;
  options.before_step = [&](const ReckoningModel& model, const std::vector<const EncodedTask*>& tasks, int64_t step) {
    steps.push_back(step);
    tasks_seen += tasks.size();
    // Work with the model the way the diagnostic does: its own forward passes, gradients of copies.
    torch::Tensor loss = masked_lm_loss(model.config, model.weights, tasks.front()->question, false);
    ASSERT_TRUE(std::isfinite(loss.item<double>()));
  };
  const TrainSummary with = train(b.config, options);
  EXPECT_EQ(steps, (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(tasks_seen, 12u);
  ASSERT_EQ(with.losses.size(), without.losses.size());
  for (size_t i = 0; i < with.losses.size(); ++i) EXPECT_EQ(with.losses[i], without.losses[i]) << "step " << i + 1;
}

namespace {

std::string train_error(const RunConfig& config, const TrainOptions& options) {
  try {
    train(config, options);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A hook that fills ln_f.weight with NaN before step `at` (0-based) and, when `restore`, puts the
// values back before the next step: every task of that one step has a NaN loss.
TrainOptions poisoned_at(int64_t at, bool restore) {
  TrainOptions options = quiet();
  auto saved = std::make_shared<torch::Tensor>();
  options.before_step = [=](const ReckoningModel& model, const std::vector<const EncodedTask*>&, int64_t step) {
    torch::NoGradGuard no_grad;
    if (step == at) {
      *saved = model.weights.gpt2().ln_f_weight.detach().clone();
      model.weights.gpt2().ln_f_weight.detach().fill_(std::nan(""));
    } else if (restore && step == at + 1) {
      model.weights.gpt2().ln_f_weight.detach().copy_(*saved);
    }
  };
  return options;
}

bool finite_model(const std::string& dir) {
  const ReckoningModel m = reckoning_model_load(dir);
  for (const torch::Tensor& t : decoder_flatten(m.weights))
    if (!torch::isfinite(t).all().item<bool>()) return false;
  return torch::isfinite(m.lrs.values).all().item<bool>();
}

}  // namespace

TEST(Trainer, ANonFiniteLossStopsTheRunNamingStepTaskAndLossAndNothingIsWritten) {
  TempRun run("nonfinite-stop");
  run.config.checkpoint_every = 1;
  const std::string error = train_error(run.config, poisoned_at(2, false));
  EXPECT_THAT(error, testing::HasSubstr("step 3, task "));
  EXPECT_THAT(error, testing::HasSubstr(": inner loss at inner step 1: expected a finite value "
                                        "(configuration key 'outer.nonfinite' is 'stop'"));
  EXPECT_THAT(error, testing::HasSubstr("got nan"));
  // The last checkpoint is the one of step 2, whole and finite.
  const nlohmann::json state = read_json_file(path_join(run.config.run_dir, "checkpoints/last/trainer_state.json"));
  EXPECT_EQ(state.at("step"), 2);
  EXPECT_TRUE(finite_model(path_join(run.config.run_dir, "checkpoints/last")));
}

TEST(Trainer, SkipLeavesOutTheTasksWithANonFiniteLossAndGoesOn) {
  TempRun run("nonfinite-skip");
  run.config.outer_nonfinite = "skip";
  // Poisoned for step 2 only (restored before step 3, whose validation saves checkpoints/best).
  const TrainSummary summary = train(run.config, poisoned_at(1, true));
  EXPECT_EQ(summary.steps, 6);
  const std::vector<nlohmann::json> lines = metrics_of(run.config);
  ASSERT_EQ(lines.size(), 6u);
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i == 1) {
      ASSERT_TRUE(lines[i].contains("skipped"));
      EXPECT_EQ(lines[i].at("skipped").size(), 2u);  // both tasks of the step
      EXPECT_THAT(lines[i].at("skipped")[0].get<std::string>(), testing::HasSubstr(": inner loss at inner step 1 is nan"));
      EXPECT_EQ(lines[i].at("loss"), 0.0);
      EXPECT_EQ(lines[i].at("inner_loss"), nlohmann::json::array());
    } else {
      EXPECT_FALSE(lines[i].contains("skipped")) << "step " << i + 1;
      EXPECT_TRUE(std::isfinite(lines[i].at("loss").get<double>()));
    }
  }
  EXPECT_TRUE(finite_model(summary.last_dir));
}

TEST(Trainer, ANonFiniteTaskMetaGradientInABatchedClippedStepLeavesOutThatTaskAlone) {
  // outer.task_clip through per-task replicas: a NaN in one task's meta-gradient (its loss finite)
  // is named with its task and tensor; with skip only that task is left out (the step's update
  // still happens, from the other task) and the model stays finite; with stop the run ends.
  auto poison_task_1_at = [](int64_t at) {
    TrainOptions options = quiet();
    auto step = std::make_shared<int64_t>(-1);
    options.before_step = [step](const ReckoningModel&, const std::vector<const EncodedTask*>&, int64_t s) { *step = s; };
    options.task_gradients = [step, at](std::vector<torch::Tensor>& grads) {
      if (*step == at) grads.back()[1].fill_(std::nan(""));  // the rate table's replica, task 1's row
    };
    return options;
  };
  TempRun skip("task-nan-skip"), stop("task-nan-stop");
  for (TempRun* r : {&skip, &stop}) r->config.outer_task_clip = 1.0;
  skip.config.outer_nonfinite = "skip";
  const TrainSummary summary = train(skip.config, poison_task_1_at(1));
  EXPECT_EQ(summary.steps, 6);
  const std::vector<nlohmann::json> lines = metrics_of(skip.config);
  ASSERT_EQ(lines.size(), 6u);
  ASSERT_TRUE(lines[1].contains("skipped"));
  ASSERT_EQ(lines[1].at("skipped").size(), 1u);  // one task of the two
  EXPECT_THAT(lines[1].at("skipped")[0].get<std::string>(), testing::HasSubstr(": meta-gradient of inner_lrs is NaN or Inf"));
  EXPECT_FALSE(lines[1].contains("update_skipped"));
  EXPECT_TRUE(std::isfinite(lines[1].at("grad_norm").get<double>()));
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i != 1) {
      EXPECT_FALSE(lines[i].contains("skipped")) << "step " << i + 1;
    }
  }
  EXPECT_TRUE(finite_model(summary.last_dir));
  const std::string error = train_error(stop.config, poison_task_1_at(1));
  EXPECT_THAT(error, testing::HasSubstr("step 2, task "));
  EXPECT_THAT(error, testing::HasSubstr(": meta-gradient of inner_lrs: expected a finite value"));
}

TEST(Trainer, ANonFiniteGradientIsNamedAndItsUpdateSkippedOrTheRunStopped) {
  // Finite losses, a NaN gradient (a hook on the rate table's gradient, which only the outer
  // backward computes): found before clipping.
  auto nan_gradient = [](int64_t at) {
    TrainOptions options = quiet();
    options.before_step = [=](const ReckoningModel& model, const std::vector<const EncodedTask*>&, int64_t step) {
      if (step == at) model.lrs.values.register_hook([](const torch::Tensor& g) { return g * std::nan(""); });
    };
    return options;
  };
  TempRun stop("nonfinite-grad-stop"), skip("nonfinite-grad-skip");
  const std::string error = train_error(stop.config, nan_gradient(1));
  EXPECT_THAT(error, testing::HasSubstr("step 2, gradient of inner_lrs: expected a finite value"));
  skip.config.outer_nonfinite = "skip";
  skip.config.outer_max_steps = 2;
  TrainOptions options = nan_gradient(1);
  std::vector<torch::Tensor> before;
  torch::Tensor rates_before;
  const auto hook = options.before_step;
  options.before_step = [&](const ReckoningModel& model, const std::vector<const EncodedTask*>& tasks, int64_t step) {
    if (step == 1) {
      before = decoder_flatten(decoder_map(model.weights, [](const torch::Tensor& t) { return t.detach().clone(); }));
      rates_before = model.lrs.values.detach().clone();
    }
    hook(model, tasks, step);
  };
  const TrainSummary summary = train(skip.config, options);
  EXPECT_EQ(summary.steps, 2);
  const std::vector<nlohmann::json> lines = metrics_of(skip.config);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[1].at("update_skipped"), true);
  EXPECT_THAT(lines[1].at("skipped")[0].get<std::string>(), testing::HasSubstr("gradient of inner_lrs is NaN or Inf"));
  // The skipped update changed nothing: the weights after step 2 are those after step 1.
  const ReckoningModel after = reckoning_model_load(summary.last_dir);
  const std::vector<torch::Tensor> now = decoder_flatten(after.weights);
  ASSERT_EQ(now.size(), before.size());
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(torch::equal(now[i], before[i])) << i;
  EXPECT_TRUE(torch::equal(after.lrs.values, rates_before));
}

TEST(Trainer, NonFinitePolicyIsValidated) {
  TempRun run("nonfinite-bad");
  run.config.outer_nonfinite = "ignore";
  EXPECT_THAT(train_error(run.config, quiet()),
              testing::HasSubstr("configuration key 'outer.nonfinite': expected 'stop' or 'skip', got 'ignore'"));
}
