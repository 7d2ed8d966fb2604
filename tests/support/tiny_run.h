// A tiny training run for tests (trainer, meta-gradient diagnostic): kinship-like tasks ("X Y r"
// facts, a two-hop question) and a temporary run directory with a 1-layer, 16-wide recipe that
// trains 6 steps of 2 tasks in well under a second.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "reckoning/base/io.h"
#include "reckoning/data/task.h"
#include "reckoning/meta/run_config.h"
#include "reckoning/train/trainer.h"

namespace reckoning::test {

// Tiny kinship-like tasks: "X Y r" facts, a two-hop question.
inline std::vector<Task> tiny_tasks(int n, int offset) {
  const std::vector<std::string> letters{"A", "B", "C", "D", "H", "J", "K", "L"};
  const std::vector<std::string> rel{"son", "daughter", "father", "mother"};
  std::vector<Task> tasks;
  for (int i = 0; i < n; ++i) {
    Task t;
    const std::string& a = letters[(i + offset) % 8];
    const std::string& b = letters[(i + offset + 3) % 8];
    const std::string& c = letters[(i + offset + 5) % 8];
    t.guid = "t" + std::to_string(i + offset);
    t.facts = {b + " " + a + " " + rel[i % 4], c + " " + b + " " + rel[(i + 1) % 4]};
    t.distractors = {a + " " + c + " " + rel[(i + 2) % 4]};
    t.question = "How are " + a + " and " + c + " related to each other ?";
    t.answer = rel[(i + 3) % 4];
    t.hops = 2 + (i % 2);
    t.source = {{"dataset", "clutrr-sg"}};
    tasks.push_back(t);
  }
  return tasks;
}

// Training options for tests: no progress line.
inline TrainOptions quiet() {
  TrainOptions o;
  o.progress = false;
  return o;
}

struct TempRun {
  std::string dir;
  RunConfig config;
  explicit TempRun(const std::string& name) {
    dir = (std::filesystem::temp_directory_path() / ("reckoning_tiny_run_" + name + "_" + std::to_string(::getpid()))).string();
    reckoning::remove_tree(dir);
    std::filesystem::create_directories(dir);
    tasks_save(path_join(dir, "train.jsonl"), tiny_tasks(12, 0));
    tasks_save(path_join(dir, "valid.jsonl"), tiny_tasks(4, 20));
    config.data_train = path_join(dir, "train.jsonl");
    config.data_valid = path_join(dir, "valid.jsonl");
    config.model_n_layer = 1;
    config.model_n_embd = 16;
    config.model_n_head = 2;
    config.model_n_ctx = 48;
    config.model_dropout = 0.1;  // so that resuming must restore the RNG
    config.inner_steps = 2;
    config.inner_lr = 1e-2;
    config.outer_lr = 1e-3;
    config.outer_batch_tasks = 2;
    config.outer_grad_accum = 1;
    config.outer_max_steps = 6;
    config.eval_every = 3;
    config.eval_max_new_tokens = 4;
    config.run_dir = path_join(dir, "run");
    config.threads = 1;
  }
  ~TempRun() { reckoning::remove_tree(dir); }
};

}  // namespace reckoning::test
