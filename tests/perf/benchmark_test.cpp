// Benchmarks (benchmark.h) and the memory property they report: the analytic FLOP model against a
// hand count; the meta-step and answer benchmarks on tiny models return finite, consistent numbers
// and refuse bad settings with messages naming the setting; evaluation (InnerMode::Evaluate) peak
// memory does not grow with the number of inner steps, while second order does (so the
// measurement can see growth). Memory is measured in forked children (fresh peak via
// /proc/self/clear_refs), one inner loop each.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <iostream>

#include "reckoning/perf/benchmark.h"
#include "reckoning/base/error.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/base/resources.h"
#include "support/test_util.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

MetaStepBenchConfig tiny_meta() {
  MetaStepBenchConfig c;
  c.n_layer = 1;
  c.n_embd = 16;
  c.n_head = 2;
  c.n_vocab = 50;
  c.facts = 3;
  c.fact_len = 6;
  c.key_len = 2;
  c.question_len = 4;
  c.answer_len = 2;
  c.inner_steps = 2;
  c.threads = 1;
  c.warmup = 0;
  c.steps = 2;
  c.measure_peak = false;
  return c;
}

}  // namespace

TEST(Benchmark, FlopModelMatchesAHandCount) {
  MetaStepBenchConfig c = tiny_meta();
  // Facts: 3 x 6 tokens, 1 layer, C = 16: 2*18*12*256 + 4*3*36*16 = 110592 + 6912; head at
  // 3 * 4 targets: 2*12*16*50 = 19200.
  const MetaStepFlops f = meta_step_flops(c);
  EXPECT_DOUBLE_EQ(f.fact_forward, 110592.0 + 6912.0 + 19200.0);
  // Question: 6 tokens, 2 targets: 2*6*12*256 + 4*36*16 + 2*2*16*50.
  EXPECT_DOUBLE_EQ(f.question_forward, 36864.0 + 2304.0 + 3200.0);
  EXPECT_DOUBLE_EQ(f.total, 2 * 9 * f.fact_forward + 3 * f.question_forward);
  c.first_order = true;
  EXPECT_DOUBLE_EQ(meta_step_flops(c).total, 2 * 3 * f.fact_forward + 3 * f.question_forward);
}

TEST(Benchmark, MetaStepReportsFiniteConsistentNumbers) {
  for (bool first_order : {false, true}) {
    MetaStepBenchConfig c = tiny_meta();
    c.first_order = first_order;
    const nlohmann::json r = bench_meta_step(c);
    EXPECT_EQ(r.at("benchmark"), "meta-step");
    EXPECT_GT(r.at("seconds_min").get<double>(), 0);
    EXPECT_LE(r.at("seconds_min").get<double>(), r.at("seconds_median").get<double>());
    EXPECT_GE(r.at("peak_rss_bytes").get<int64_t>(), r.at("rss_before_bytes").get<int64_t>());
    EXPECT_DOUBLE_EQ(r.at("flops").get<double>(), meta_step_flops(c).total);
    EXPECT_NEAR(r.at("gflops_per_s").get<double>(),
                meta_step_flops(c).total / r.at("seconds_median").get<double>() / 1e9, 1e-9);
    EXPECT_TRUE(std::isfinite(r.at("loss").get<double>()));
    EXPECT_EQ(r.at("config").at("first_order"), first_order);
  }
}

TEST(Benchmark, TaskGradsStepAsTheBatchedStep) {
  // --task-grads (each task's meta-gradient apart through per-task replicas, then summed; the
  // gradients themselves: tests/meta/batched_test.cpp) runs the batched step's computation: the
  // same loss on the first step (float32 rounding apart); refused with --sequential.
  MetaStepBenchConfig c = tiny_meta();
  c.tasks = 3;
  c.steps = 1;
  c.dropout = false;
  const double batched = bench_meta_step(c).at("loss").get<double>();
  c.task_grads = true;
  const nlohmann::json r = bench_meta_step(c);
  EXPECT_EQ(r.at("config").at("task_grads"), true);
  EXPECT_NEAR(r.at("loss").get<double>(), batched, 1e-5 * std::abs(batched));
  c.batched = false;
  try {
    bench_meta_step(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--task-grads"));
  }
}

TEST(Benchmark, LlamaFamilyFlopsAndMetaStep) {
  MetaStepBenchConfig c = tiny_meta();
  c.arch = "qwen2";
  c.n_kv_head = 1;
  c.n_inner = 24;
  // Facts: 18 tokens, C = 16, q 16, kv 8: projections 16 (16 + 16) + 16 * 16 + 3 * 16 * 24 = 1920
  // per token, 2 * 18 * 1920 = 69120; attention 4 * 3 * 36 * 16 = 6912; head 19200.
  EXPECT_DOUBLE_EQ(meta_step_flops(c).fact_forward, 69120.0 + 6912.0 + 19200.0);
  for (const bool lora : {false, true}) {
    c.adapt = lora ? "lora" : "full";
    c.lora_rank = 2;
    const nlohmann::json r = bench_meta_step(c);
    EXPECT_EQ(r.at("config").at("arch"), "qwen2");
    EXPECT_EQ(r.at("config").at("n_kv_head"), 1);
    EXPECT_TRUE(std::isfinite(r.at("loss").get<double>()));
  }
  MetaStepBenchConfig shaped;
  meta_step_shape(shaped, "qwen2.5-0.5b");
  EXPECT_EQ(shaped.arch, "qwen2");
  EXPECT_EQ(shaped.n_layer, 24);
  EXPECT_EQ(shaped.n_vocab, 151936);
  // Qwen 2.5 0.5B's parameter count: 494,032,768 (its model card: 0.49B).
  int64_t parameters = 0;
  for (const WeightSpec& spec : decoder_weight_specs(meta_step_model_config(shaped, 32))) {
    int64_t n = 1;
    for (int64_t d : spec.shape) n *= d;
    parameters += n;
  }
  EXPECT_EQ(parameters, 494032768);
  EXPECT_THROW(meta_step_shape(shaped, "gpt-5"), Error);
}

TEST(Benchmark, MetaStepRefusesBadSettings) {
  MetaStepBenchConfig c = tiny_meta();
  c.key_len = 6;
  try {
    bench_meta_step(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("key length"));
  }
  c = tiny_meta();
  c.dtype = "float16";
  EXPECT_THROW(bench_meta_step(c), Error);
}

TEST(Benchmark, AnswerComparesEncodingOnceWithReadingInContext) {
  AnswerBenchConfig c;
  c.n_layer = 1;
  c.n_embd = 16;
  c.n_head = 2;
  c.n_vocab = 50;
  c.n_ctx = 64;
  c.facts = 4;
  c.fact_len = 10;
  c.question_len = 5;
  c.questions = {1, 3};
  c.threads = 1;
  const nlohmann::json r = bench_answer(c);
  ASSERT_EQ(r.at("by_questions").size(), 2u);
  const auto& one = r.at("by_questions")[0];
  const auto& three = r.at("by_questions")[1];
  EXPECT_EQ(one.at("questions"), 1);
  EXPECT_GE(one.at("reckoning_seconds").get<double>(), r.at("encode_seconds").get<double>());
  EXPECT_GT(three.at("icr_seconds").get<double>(), one.at("icr_seconds").get<double>());
  EXPECT_EQ(r.at("context_tokens"), 4 * 10 + 5);
  c.fact_len = 20;  // 4 x 20 + 5 + 1 > 64
  try {
    bench_answer(c);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("n_ctx = 64"));
  }
}

namespace {

// Peak resident memory added by one inner loop of `steps` steps, measured in a forked child.
int64_t inner_loop_peak_growth(InnerMode mode, int64_t steps) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int64_t growth = -1;
    {
      Gpt2Config config;
      config.n_layer = 2;
      config.n_embd = 128;
      config.n_head = 4;
      config.n_vocab = 8192;  // ~1.5M parameters: one copy of the weights is ~6 MB
      config.n_ctx = 32;
      config.bos_token_id = config.eos_token_id = 0;
      torch::manual_seed(3);
      Gpt2Weights base = gpt2_map(gpt2_init(config, 3), [](const torch::Tensor& t) {
        return t.detach().requires_grad_(true);
      });
      InnerLrs lrs = inner_lrs_init(config, LrMode::PerTensor, steps, 1e-3, false);
      LmBatch facts;
      facts.ids = torch::randint(config.n_vocab, {4, 16}, torch::dtype(torch::kLong));
      facts.attn_mask = torch::ones({4, 16}, torch::dtype(torch::kLong));
      facts.target_mask = torch::ones({4, 16}, torch::dtype(torch::kBool));
      std::ofstream clear("/proc/self/clear_refs");
      clear << "5";  // resets VmHWM to the current RSS
      clear.close();
      if (clear) {
        const int64_t before = resident_memory_bytes();
        InnerResult r = inner_loop(config, base, lrs, InnerLoopConfig{}, facts, mode, false);
        growth = peak_resident_memory_bytes() - before;
      }
    }
    (void)!write(fds[1], &growth, sizeof growth);
    _exit(0);
  }
  close(fds[1]);
  int64_t growth = -1;
  if (read(fds[0], &growth, sizeof growth) != sizeof growth) growth = -1;
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return growth;
}

}  // namespace

TEST(Benchmark, EvaluationMemoryDoesNotGrowWithInnerSteps) {
  RECKONING_SKIP_MEMORY_FIGURES_UNDER_ASAN();
  at::set_num_threads(1);  // the forked children must not inherit a thread pool
  const int64_t model_bytes = ((8192 + 32) * 128 + 2 * 12 * 128 * 128) * 4;  // ~5.8 MB
  // The least of two runs each: allocator noise only ever adds, a per-step leak shows every time.
  auto growth = [](InnerMode mode, int64_t steps) {
    return std::min(inner_loop_peak_growth(mode, steps), inner_loop_peak_growth(mode, steps));
  };
  const int64_t eval2 = growth(InnerMode::Evaluate, 2);
  const int64_t eval8 = growth(InnerMode::Evaluate, 8);
  if (eval2 < 0 || eval8 < 0) GTEST_SKIP() << "/proc/self/clear_refs not writable here";
  EXPECT_LT(eval8 - eval2, 4 * model_bytes) << "evaluation: 2 steps +" << eval2 << " B, 8 steps +" << eval8 << " B";
  // The same measurement sees second order's per-step growth (the graph of every step is kept).
  const int64_t second2 = growth(InnerMode::SecondOrder, 2);
  const int64_t second8 = growth(InnerMode::SecondOrder, 8);
  std::cout << "peak growth, evaluation: " << eval2 << " / " << eval8 << " B; second order: " << second2
            << " / " << second8 << " B (2 / 8 steps)\n";
  EXPECT_GT(second8 - second2, 6 * model_bytes) << "second order: 2 steps +" << second2 << " B, 8 steps +" << second8 << " B";
}
