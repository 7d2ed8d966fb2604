// ctest-labels: cli
// Runs over several processes (issue 19), as users start them: `reckoning launch` (and, for the
// fault tests, two processes started by hand with torchrun's environment), on the loopback
// interface with the tiny recipe of support/tiny_run.h.
//
// - N processes x b tasks per step train as 1 process x N b (RECKONING and FT-ICR): the same
//   losses step by step, the same weights up to the order of floating-point sums.
// - A 2-process run stopped and resumed ends identical to the bit to an uninterrupted one; a run
//   resumed on another number of processes completes.
// - Sharded evaluation equals one process's exactly, for task counts that do not divide evenly.
// - A rank killed (or frozen) mid-run: the other stops with an error naming the collective within
//   dist.timeout; resuming completes the run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <thread>

#include "reckoning/base/io.h"
#include "reckoning/dist/launch.h"
#include "reckoning/dist/process_group.h"
#include "support/test_util.h"
#include "support/tiny_run.h"

namespace reckoning {
namespace {

using test::run_command;

bool gloo_built() { return dist_backends_built().find("gloo") != std::string::npos; }

// A configuration file of `config` (one `key: value` line per key, as --print-config writes).
std::string write_config(const RunConfig& config, const std::string& path) {
  std::string text;
  const nlohmann::json resolved = run_config_to_json(config);
  for (const auto& [key, value] : resolved.items()) text += key + ": " + value.dump() + "\n";
  write_file_atomic(path, text);
  return path;
}

std::vector<nlohmann::json> json_lines(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

std::string cli() { return RECKONING_CLI; }

// The tiny run without dropout (so that how tasks are spread over processes is the only difference).
struct DistRun : test::TempRun {
  explicit DistRun(const std::string& name) : TempRun(name) {
    config.model_dropout = 0;
    config.inner_dropout = false;
    config.outer_max_steps = 4;
    config.eval_every = 2;
    config.dist_timeout = 60;
  }
  std::string yaml() { return write_config(config, path_join(dir, "run.yaml")); }
  std::string run_dir(const std::string& name) const { return path_join(dir, name); }
};

// Trains as `procs` processes of `tasks_each` tasks per step (1 process: plain `train`).
test::CommandResult train(DistRun& run, const std::string& name, int procs, int tasks_each, const std::string& more = "") {
  const std::string yaml = run.yaml();
  const std::string sets = " --set run_dir=" + run.run_dir(name) + " --set outer.batch_tasks=" + std::to_string(tasks_each) +
                           " --no-test " + more;
  const std::string command = procs == 1 ? cli() + " train --config " + yaml + sets
                                         : cli() + " launch --nproc " + std::to_string(procs) + " -- train --config " + yaml + sets;
  return run_command(command + " 2>&1");
}

std::map<std::string, torch::Tensor> weights(const std::string& run_dir, const std::string& which = "last") {
  return test::tensors_by_name(path_join(run_dir, "checkpoints/" + which + "/model.safetensors"));
}

// 1 x 4 tasks against 2 x 2 tasks: every step's loss to float rounding; the weights the same up to
// the few elements whose gradient is so near zero that the order of the sum flips AdamW's sign-like
// first steps (a wrong share of tasks moves most elements differently).
void expect_like_one_process(DistRun& run) {
  const test::CommandResult one = train(run, "one", 1, 4);
  ASSERT_EQ(one.code, 0) << one.out;
  const test::CommandResult two = train(run, "two", 2, 2);
  ASSERT_EQ(two.code, 0) << two.out;
  EXPECT_NE(two.out.find("processes: 2"), std::string::npos) << two.out;
  const auto a = json_lines(path_join(run.run_dir("one"), "metrics.jsonl"));
  const auto b = json_lines(path_join(run.run_dir("two"), "metrics.jsonl"));
  ASSERT_EQ(a.size(), 4u);
  ASSERT_EQ(b.size(), 4u);  // rank 0 alone writes
  for (size_t i = 0; i < a.size(); ++i) {
    const double la = a[i].at("loss").get<double>(), lb = b[i].at("loss").get<double>();
    EXPECT_NEAR(la, lb, 1e-5 * std::abs(la)) << "step " << i + 1;
  }
  const auto ea = json_lines(path_join(run.run_dir("one"), "eval.jsonl"));
  const auto eb = json_lines(path_join(run.run_dir("two"), "eval.jsonl"));
  ASSERT_EQ(ea.size(), 2u);
  ASSERT_EQ(eb.size(), 2u);
  const auto wa = weights(run.run_dir("one")), wb = weights(run.run_dir("two"));
  int64_t elements = 0, differ = 0;
  for (const auto& [name, t] : wa) {
    elements += t.numel();
    differ += (t - wb.at(name)).abs().gt(1e-6).sum().item<int64_t>();
  }
  EXPECT_LT(static_cast<double>(differ), 0.01 * static_cast<double>(elements)) << differ << " of " << elements;
}

TEST(Distributed, TwoProcessesTrainLikeOneWithTwiceTheTasks) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  DistRun run("dist_equal");
  // The inner SGD: through the inner AdamW's normalised steps float32 rounding (here: of padding a
  // batch of 4 tasks vs 2) grows ~1e4-fold per step (docs/TRAINING.md, "Stable meta-gradients"), so
  // that after 3 steps the runs differ as two seeds would, whatever the processes do (one process
  // with inner AdamW: losses 5.6051 / 5.5953 at steps 3 / 4 batched, 5.6162 / 5.6118 one task at
  // a time; two processes 5.6048 / 5.6146).
  run.config.inner_optimizer = InnerOptimizer::Sgd;
  expect_like_one_process(run);
}

TEST(Distributed, FtIcrTwoProcessesTrainLikeOne) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  DistRun run("dist_equal_fticr");
  run.config.method = Method::FtIcr;
  expect_like_one_process(run);
}

TEST(Distributed, ResumedTwoProcessRunEqualsUninterruptedToTheBit) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  DistRun run("dist_resume");
  run.config.model_dropout = 0.1;  // each process's random stream must come back from the checkpoint
  run.config.inner_dropout = true;
  const test::CommandResult whole = train(run, "whole", 2, 2);
  ASSERT_EQ(whole.code, 0) << whole.out;
  const test::CommandResult first = train(run, "parts", 2, 2, "--stop-after 2");
  ASSERT_EQ(first.code, 0) << first.out;
  const Safetensors rng = safetensors_load(path_join(run.run_dir("parts"), "checkpoints/last/rng.safetensors"));
  ASSERT_NE(rng.find("cpu_generator"), nullptr);
  ASSERT_NE(rng.find("cpu_generator_rank1"), nullptr);
  EXPECT_FALSE(torch::equal(*rng.find("cpu_generator"), *rng.find("cpu_generator_rank1")));  // streams of their own
  const test::CommandResult rest = train(run, "parts", 2, 2, "--resume");
  ASSERT_EQ(rest.code, 0) << rest.out;
  const auto a = weights(run.run_dir("whole")), b = weights(run.run_dir("parts"));
  for (const auto& [name, t] : a) EXPECT_TRUE(torch::equal(t, b.at(name))) << name;
  const auto ma = json_lines(path_join(run.run_dir("whole"), "metrics.jsonl"));
  const auto mb = json_lines(path_join(run.run_dir("parts"), "metrics.jsonl"));
  ASSERT_EQ(ma.size(), mb.size());
  for (size_t i = 0; i < ma.size(); ++i) EXPECT_EQ(ma[i].at("loss"), mb[i].at("loss")) << "step " << i + 1;

  // A checkpoint of two processes resumed on one, then on three (rank 2 starts a fresh random
  // stream), completes.
  const test::CommandResult partial = train(run, "mixed", 2, 2, "--stop-after 2");
  ASSERT_EQ(partial.code, 0) << partial.out;
  const test::CommandResult alone = train(run, "mixed", 1, 4, "--resume");
  ASSERT_EQ(alone.code, 0) << alone.out;
  EXPECT_EQ(read_json_file(path_join(run.run_dir("mixed"), "checkpoints/last/trainer_state.json")).at("step"), 4);
  const test::CommandResult three = train(run, "mixed", 3, 1, "--resume --set outer.max_steps=6");
  ASSERT_EQ(three.code, 0) << three.out;
  EXPECT_EQ(read_json_file(path_join(run.run_dir("mixed"), "checkpoints/last/trainer_state.json")).at("step"), 6);
}

TEST(Distributed, ShardedEvaluationEqualsOneProcessExactly) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  DistRun run("dist_eval");
  run.config.outer_max_steps = 2;
  ASSERT_EQ(train(run, "model", 1, 2).code, 0);
  const std::string model = path_join(run.run_dir("model"), "checkpoints/best");
  const std::string data = path_join(run.dir, "eval.jsonl");
  tasks_save(data, test::tiny_tasks(7, 30));  // 7 tasks, groups of 2: 4 groups over 3 processes
  auto eval = [&](int procs, const std::string& out) {
    const std::string args = " eval --model " + model + " --data " + data + " --batch-tasks 2 --tasks --out " + out;
    return run_command((procs == 1 ? cli() + args : cli() + " launch --nproc " + std::to_string(procs) + " --" + args) + " 2>&1");
  };
  const test::CommandResult one = eval(1, path_join(run.dir, "one.json"));
  ASSERT_EQ(one.code, 0) << one.out;
  for (int procs : {2, 3}) {
    const std::string out = path_join(run.dir, "sharded" + std::to_string(procs) + ".json");
    const test::CommandResult sharded = eval(procs, out);
    ASSERT_EQ(sharded.code, 0) << sharded.out;
    nlohmann::json a = read_json_file(path_join(run.dir, "one.json")), b = read_json_file(out);
    a.erase("seconds");
    b.erase("seconds");
    EXPECT_EQ(a, b) << procs << " processes";
    EXPECT_EQ(b.at("overall").at("n"), 7);
    // The table is printed once (rank 0).
    size_t tables = 0;
    for (size_t at = sharded.out.find("overall"); at != std::string::npos; at = sharded.out.find("overall", at + 1)) ++tables;
    EXPECT_EQ(tables, 1u) << sharded.out;
  }
}

// A process of a two-process run started by hand, as torchrun would, its output in `log`.
pid_t start_rank(int rank, int port, const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::setenv("RANK", std::to_string(rank).c_str(), 1);
    ::setenv("WORLD_SIZE", "2", 1);
    ::setenv("MASTER_ADDR", "127.0.0.1", 1);
    ::setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
    FILE* out = std::freopen(log.c_str(), "w", stderr);
    (void)out;
    std::vector<char*> argv;
    std::string exe = cli();
    argv.push_back(exe.data());
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(exe.c_str(), argv.data());
    ::_exit(127);
  }
  return pid;
}

// Waits for `pid` at most `seconds`: its exit code, or -1 (still running: killed).
int wait_for(pid_t pid, double seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return -1;
}

// Kills (SIGKILL) or freezes (SIGSTOP) rank 1 once the run has written a checkpoint; rank 0 must stop
// with an error naming the collective within dist.timeout; `reckoning launch ... --resume` completes.
void expect_survives_losing_rank_1(const std::string& name, int signal) {
  DistRun run(name);
  run.config.outer_max_steps = 100000;  // far more than runs before the fault
  run.config.eval_every = 100000;
  run.config.checkpoint_every = 3;
  run.config.dist_timeout = 5;
  const std::string yaml = run.yaml();
  const std::vector<std::string> args{"train", "--config", yaml, "--set", "run_dir=" + run.run_dir("run"), "--no-test"};
  const int port = free_tcp_port("127.0.0.1");
  const pid_t rank0 = start_rank(0, port, args, path_join(run.dir, "rank0.log"));
  const pid_t rank1 = start_rank(1, port, args, path_join(run.dir, "rank1.log"));
  const std::string state = path_join(run.run_dir("run"), "checkpoints/last/trainer_state.json");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!file_exists(state) && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_TRUE(file_exists(state)) << read_file(path_join(run.dir, "rank0.log"));
  ::kill(rank1, signal);
  const auto killed = std::chrono::steady_clock::now();
  const int code = wait_for(rank0, 60);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed).count();
  ::kill(rank1, SIGKILL);
  ::waitpid(rank1, nullptr, 0);
  const std::string log = read_file(path_join(run.dir, "rank0.log"));
  EXPECT_GT(code, 0) << log;
  EXPECT_LT(seconds, 5 + 20) << log;
  EXPECT_NE(log.find("rank 0 of 2, collective '"), std::string::npos) << log;
  EXPECT_NE(log.find("--resume"), std::string::npos) << log;

  // The checkpoint is intact and the run completes from it.
  const int64_t at = read_json_file(state).at("step").get<int64_t>();
  EXPECT_GE(at, 3);
  const test::CommandResult resumed = train(run, "run", 2, 2, "--resume --set outer.max_steps=" + std::to_string(at + 3));
  ASSERT_EQ(resumed.code, 0) << resumed.out;
  EXPECT_EQ(read_json_file(state).at("step").get<int64_t>(), at + 3);
}

TEST(Distributed, AKilledRankStopsTheOtherWithinTheTimeoutAndTheRunResumes) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  expect_survives_losing_rank_1("dist_kill", SIGKILL);
}

TEST(Distributed, AFrozenRankStopsTheOtherWithinTheTimeoutAndTheRunResumes) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  expect_survives_losing_rank_1("dist_hang", SIGSTOP);
}

TEST(Distributed, ProcessesWhoseWeightsDivergeStopTheRun) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  // Two processes started with different outer learning rates (a misconfigured job): after the
  // first update their weights differ, and the check after each step (dist.check_every 1) stops both.
  DistRun run("dist_diverge");
  run.config.dist_check_every = 1;
  const std::string yaml = run.yaml();
  const int port = free_tcp_port("127.0.0.1");
  auto args = [&](const std::string& lr) {
    return std::vector<std::string>{"train", "--config", yaml, "--set", "run_dir=" + run.run_dir("run"),
                                    "--set", "outer.lr=" + lr, "--no-test"};
  };
  const pid_t rank0 = start_rank(0, port, args("1e-3"), path_join(run.dir, "rank0.log"));
  const pid_t rank1 = start_rank(1, port, args("2e-3"), path_join(run.dir, "rank1.log"));
  EXPECT_EQ(wait_for(rank0, 60), 1);
  EXPECT_EQ(wait_for(rank1, 60), 1);
  const std::string log = read_file(path_join(run.dir, "rank0.log"));
  EXPECT_NE(log.find("processes of the run at step 1: expected identical weights and rates on every process"),
            std::string::npos) << log;
  EXPECT_NE(log.find("on rank 1"), std::string::npos) << log;
}

TEST(Launch, SetsTheEnvironmentAndStopsTheOthersWhenOneFails) {
  // Children that are a shell: rank 1 fails at once, rank 0 would sleep for a minute.
  test::TempDir dir("launch_env");
  LaunchOptions options;
  options.nproc = 2;
  options.grace_seconds = 2;
  options.executable = "/bin/sh";
  const std::string script = "env | grep -E '^(RANK|LOCAL_RANK|WORLD_SIZE|LOCAL_WORLD_SIZE|MASTER_ADDR|MASTER_PORT)=' "
                             "| sort > " + dir.path() + "/env.$RANK; if [ $RANK = 1 ]; then exit 3; fi; exec sleep 60";
  const auto start = std::chrono::steady_clock::now();
  const int code = launch({"-c", script}, options);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(code, 3);
  EXPECT_LT(seconds, 30);
  const std::string env0 = read_file(dir.path() + "/env.0"), env1 = read_file(dir.path() + "/env.1");
  EXPECT_NE(env0.find("RANK=0\n"), std::string::npos) << env0;
  EXPECT_NE(env1.find("RANK=1\n"), std::string::npos) << env1;
  EXPECT_NE(env1.find("WORLD_SIZE=2\n"), std::string::npos) << env1;
  EXPECT_NE(env1.find("MASTER_ADDR=127.0.0.1\n"), std::string::npos) << env1;
  EXPECT_NE(env1.find("MASTER_PORT="), std::string::npos) << env1;
  // Every child exiting 0: 0.
  options.executable = "/bin/sh";
  EXPECT_EQ(launch({"-c", "exit 0"}, options), 0);
}

}  // namespace
}  // namespace reckoning
