// Crash safety, tried as it happens: a training run (the `reckoning` executable) is killed with
// SIGKILL at random moments (scaled to the machine's speed) - a checkpoint is written after every
// step, so some kills land inside a write - eight times in a row, resumed after each kill; after
// every kill the last checkpoint must load, and the run that finally completes must end bit for
// bit where an uninterrupted run ends (weights, rates, trainer state, every step's loss, each
// validation once).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "reckoning/base/io.h"
#include "reckoning/meta/reckoning_model.h"
#include "support/test_util.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

// Starts `command` with /bin/sh in its own process group; returns the pid.
pid_t spawn(const std::string& command) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    ::execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  return pid;
}

// Each step's loss as the metrics lines give it; a step written twice (re-run after a kill) keeps
// its last line.
std::map<int64_t, double> losses(const std::string& run_dir) {
  std::map<int64_t, double> out;
  std::ifstream in(path_join(run_dir, "metrics.jsonl"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) continue;  // a line cut by the kill
    out[j.at("step").get<int64_t>()] = j.at("loss").get<double>();
  }
  return out;
}

}  // namespace

TEST(KillResume, EightKillsAtRandomMomentsEndBitIdenticalToAnUninterruptedRun) {
  TempDir dir("kill_resume");
  const auto gen = run_cli("data generate clutrr --hops 2 --per-hop 24 --valid-per-hop 4 --test-per-hop 4 --test-hops 2 "
                           "--style letters --seed 3 --out-dir " + dir.file("data"));
  ASSERT_EQ(gen.code, 0) << gen.out;
  dir.write("c.yaml", "data:\n  train: " + dir.file("data/train.jsonl") + "\n  valid: " + dir.file("data/valid.jsonl") +
                          "\nmodel:\n  n_layer: 1\n  n_embd: 16\n  n_head: 2\n  n_ctx: 48\n  dropout: 0.1\n"
                          "inner:\n  steps: 2\n  lr: 1.0e-2\n"
                          "outer:\n  max_steps: 60\n  batch_tasks: 2\n  grad_accum: 1\n"
                          "eval:\n  every: 10\ncheckpoint:\n  every: 1\nthreads: 1\n");
  const std::string train = std::string(RECKONING_CLI) + " train --no-test --config " + dir.file("c.yaml") + " --set run_dir=";

  const auto started = std::chrono::steady_clock::now();
  const auto whole = run_command(train + dir.file("whole") + " 2>&1");
  ASSERT_EQ(whole.code, 0) << whole.out;
  // Kill moments scaled to this machine: 15-45 % of an uninterrupted run's wall time, so that a run
  // is killed long before it could finish, whatever the machine's speed.
  const double whole_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();

  const std::string run = dir.file("killed");
  const std::string last = path_join(run, "checkpoints/last");
  std::mt19937 rng(20261201);
  std::uniform_real_distribution<double> delay_ms(0.15 * whole_ms, 0.45 * whole_ms);
  int kills = 0;
  for (int attempt = 0; attempt < 60 && kills < 8; ++attempt) {
    const bool resume = is_directory(last);
    const pid_t pid = spawn(train + run + (resume ? " --resume" : "") + " >/dev/null 2>&1");
    std::this_thread::sleep_for(std::chrono::duration<double, std::milli>(delay_ms(rng)));
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      remove_tree(run);  // finished before the kill: start the whole sequence again
      continue;
    }
    ::kill(-pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    ++kills;
    // Whatever the moment, the last checkpoint is whole: it loads, and its state names a step.
    if (is_directory(last)) {
      EXPECT_NO_THROW(reckoning_model_load(last)) << "after kill " << kills;
      EXPECT_NO_THROW(read_json_file(path_join(last, "trainer_state.json")).at("step")) << "after kill " << kills;
    }
  }
  ASSERT_EQ(kills, 8);
  const auto rest = run_command(train + run + (is_directory(last) ? " --resume" : "") + " 2>&1");
  ASSERT_EQ(rest.code, 0) << rest.out;

  const ReckoningModel a = reckoning_model_load(path_join(dir.file("whole"), "checkpoints/last"));
  const ReckoningModel b = reckoning_model_load(last);
  const std::vector<torch::Tensor> wa = decoder_flatten(a.weights), wb = decoder_flatten(b.weights);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i])) << "weight " << i;
  EXPECT_TRUE(torch::equal(a.lrs.values, b.lrs.values));
  EXPECT_EQ(read_json_file(path_join(dir.file("whole"), "checkpoints/last/trainer_state.json")),
            read_json_file(path_join(last, "trainer_state.json")));
  // Nothing half-written is left by the kills once a run has started again.
  for (const auto& e : std::filesystem::directory_iterator(path_join(run, "checkpoints"))) {
    const std::string name = e.path().filename().string();
    EXPECT_TRUE(name == "last" || name == "best") << name;
  }
  // Validations (every 10 steps) once each, as in the uninterrupted run.
  auto eval_steps = [](const std::string& run_dir) {
    std::vector<int64_t> steps;
    std::ifstream in(path_join(run_dir, "eval.jsonl"));
    for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line).at("step"));
    return steps;
  };
  EXPECT_EQ(eval_steps(run), eval_steps(dir.file("whole")));
  EXPECT_EQ(eval_steps(run), (std::vector<int64_t>{10, 20, 30, 40, 50, 60}));
  const auto la = losses(dir.file("whole")), lb = losses(run);
  ASSERT_EQ(la.size(), 60u);
  EXPECT_EQ(la, lb);
}
