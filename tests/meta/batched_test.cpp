// Task-batched inner loops (inner_loop_tasks, task_batch.h): several tasks with different numbers
// and lengths of facts and questions, adapted as one batch, give - in float64, to 1e-10 - each task's
// adapted weights, inner losses and gradient norms, outer loss and meta-gradient (base weights and
// learned rates) of its own inner loop; for second and first order, fused and plain AdamW, SGD with
// momentum, every rate mode, inner gradient clipping that clips some tasks only, fact chunks,
// truncated unrolling, a partial `adapt`, LoRA adapters, evaluation mode, GPT-2 and the Llama family.
// The meta-gradient through a batch equals finite differences. Padding: lm_batch_stack and the
// per-task loss. The trainer (outer.batched) and evaluation (eval.batch_tasks) give what one task at a
// time gives.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/eval/answer.h"
#include "reckoning/eval/evaluate.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/model/lora.h"
#include "reckoning/model/task_batch.h"
#include "reckoning/train/trainer.h"
#include "support/test_util.h"
#include "support/tiny_meta.h"
#include "support/tiny_run.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

// n right-padded sequences of up to `length` tokens (the i-th shorter by i % 3), targets after a
// 2-token key; vocabulary 13. Seeded.
LmBatch random_batch(int64_t n, int64_t length, uint64_t seed, int64_t key = 2) {
  torch::manual_seed(seed);
  LmBatch b;
  b.ids = torch::randint(1, 13, {n, length}, torch::dtype(torch::kLong));
  b.attn_mask = torch::ones({n, length}, torch::dtype(torch::kLong));
  for (int64_t i = 0; i < n; ++i) b.attn_mask[i].slice(0, length - i % 3).fill_(0);
  b.ids.masked_fill_(b.attn_mask == 0, 0);
  b.target_mask = b.attn_mask.to(torch::kBool).clone();
  b.target_mask.slice(1, 0, key).fill_(false);
  return b;
}

DecoderConfig family(const std::string& type) {
  if (type == "gpt2") return tiny_config();
  LlamaConfig c = llama_config_for(type, 2, 8, 2, 1, 12, 13, 16);
  if (type == "llama") c.attention_bias = c.mlp_bias = true;
  return c;
}

struct Setting {
  std::string name;
  InnerMode mode = InnerMode::SecondOrder;
  LrMode lr_mode = LrMode::PerLayer;
  std::function<void(InnerLoopConfig&)> edit = [](InnerLoopConfig&) {};
  bool lora = false;
};

struct Batch3 {
  DecoderConfig config;
  DecoderWeights base;
  InnerLrs lrs;
  InnerLoopConfig inner;
  // Three tasks: 3 facts of 7 tokens, 2 of 5, 4 of 6 (padding within each), questions of 6, 4, 8 tokens.
  std::vector<LmBatch> facts{tiny_facts(), random_batch(2, 5, 31), random_batch(4, 6, 32)};
  std::vector<LmBatch> questions{tiny_question(), random_batch(1, 4, 33, 3), random_batch(1, 8, 34, 6)};

  Batch3(const std::string& type, const Setting& s) : config(family(type)) {
    base = decoder_init(config, 5, torch::kFloat64);
    if (s.lora) {
      attach_test_adapters(base);  // trained-looking adapters: b != 0
      inner.adapt = "lora";
    }
    base = decoder_map(base, [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); });
    s.edit(inner);
    lrs = inner_lrs_init(inner_rate_specs(config, inner, base), config.n_layer(), s.lr_mode, 2, 0.05, false,
                         torch::kFloat64);
  }

  std::vector<torch::Tensor> params() const {
    std::vector<torch::Tensor> p = decoder_flatten(base);
    for (const torch::Tensor& t : lora_flatten(base)) p.push_back(t);
    if (lrs.learned()) p.push_back(lrs.values);
    return p;
  }
};

std::vector<torch::Tensor> grads_of(const torch::Tensor& loss, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> g = torch::autograd::grad({loss}, params, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < g.size(); ++i) {
    if (!g[i].defined()) g[i] = torch::zeros_like(params[i]);
  }
  return g;
}

double max_diff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

// Batched against one at a time, for one family and setting.
void expect_batched_equals_separate(const std::string& type, const Setting& s) {
  const std::string what = type + " " + s.name;
  Batch3 p(type, s);
  const bool meta = s.mode != InnerMode::Evaluate;
  const std::vector<torch::Tensor> params = p.params();
  // One at a time: adapted weights, traces, outer losses, the sum of the meta-gradients.
  std::vector<InnerResult> separate;
  std::vector<double> losses;
  std::vector<torch::Tensor> grad_sum(params.size());
  for (size_t t = 0; t < 3; ++t) {
    separate.push_back(inner_loop(p.config, p.base, p.lrs, p.inner, p.facts[t], s.mode, false));
    torch::Tensor loss = masked_lm_loss(p.config, separate.back().weights, p.questions[t], false);
    losses.push_back(loss.item<double>());
    if (!meta) continue;
    const std::vector<torch::Tensor> g = grads_of(loss, params);
    for (size_t i = 0; i < g.size(); ++i) grad_sum[i] = grad_sum[i].defined() ? grad_sum[i] + g[i] : g[i];
  }
  // As one batch.
  InnerBatchResult batch = inner_loop_tasks(p.config, p.base, p.lrs, p.inner, p.facts, s.mode, false);
  ASSERT_EQ(batch.tasks, 3) << what;
  ASSERT_EQ(batch.traces.size(), 3u) << what;
  torch::Tensor batched_losses = masked_lm_loss_per_task(p.config, batch.weights, lm_batch_stack(p.questions), 3, false);
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(batched_losses[t].item<double>(), losses[static_cast<size_t>(t)], 1e-10) << what << " task " << t;
    const DecoderWeights mine = decoder_task(p.config, batch.weights, t);
    const auto expected = p.inner.adapt == "lora" ? lora_flatten(separate[static_cast<size_t>(t)].weights)
                                                  : decoder_flatten(separate[static_cast<size_t>(t)].weights);
    const auto got = p.inner.adapt == "lora" ? lora_flatten(mine) : decoder_flatten(mine);
    ASSERT_EQ(got.size(), expected.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(got[i].sizes(), expected[i].sizes()) << what << " tensor " << i;
      EXPECT_LT(max_diff(got[i], expected[i]), 1e-10) << what << " task " << t << " tensor " << i;
    }
    const auto& trace = batch.traces[static_cast<size_t>(t)];
    const auto& one = separate[static_cast<size_t>(t)].trace;
    ASSERT_EQ(trace.size(), one.size());
    for (size_t k = 0; k < trace.size(); ++k) {
      EXPECT_NEAR(trace[k].loss, one[k].loss, 1e-10) << what << " task " << t << " step " << k;
      EXPECT_NEAR(trace[k].grad_norm, one[k].grad_norm, 1e-10) << what << " task " << t << " step " << k;
      EXPECT_EQ(trace[k].lr_mean, one[k].lr_mean);
    }
  }
  if (!meta) return;
  const std::vector<torch::Tensor> g = grads_of(batched_losses.sum(), params);
  double largest = 0;
  for (size_t i = 0; i < g.size(); ++i) {
    EXPECT_LT(max_diff(g[i], grad_sum[i]), 1e-10 * std::max(1.0, grad_sum[i].abs().max().item<double>()))
        << what << " meta-gradient of parameter " << i;
    largest = std::max(largest, g[i].abs().max().item<double>());
  }
  EXPECT_GT(largest, 0.0) << what;
}

std::vector<Setting> settings() {
  std::vector<Setting> out;
  out.push_back({"second order, fused AdamW, per-layer rates"});
  out.push_back({"second order, plain AdamW, per-tensor rates", InnerMode::SecondOrder, LrMode::PerTensor,
                 [](InnerLoopConfig& c) { c.fused = false; }});
  out.push_back({"first order, static rate", InnerMode::FirstOrder, LrMode::Static});
  out.push_back({"SGD with momentum and weight decay", InnerMode::SecondOrder, LrMode::PerLayer, [](InnerLoopConfig& c) {
                   c.optimizer = InnerOptimizer::Sgd;
                   c.momentum = 0.9;
                   c.weight_decay = 0.01;
                 }});
  out.push_back({"fact chunks of 2, truncated unrolling from step 1", InnerMode::SecondOrder, LrMode::PerLayer,
                 [](InnerLoopConfig& c) {
                   c.fact_batch = 2;
                   c.unroll_from = 1;
                 }});
  out.push_back({"a partial adapt (the second layer)", InnerMode::SecondOrder, LrMode::PerTensor,
                 [](InnerLoopConfig& c) { c.adapt = "(h|layers)\\.1\\."; }});
  out.push_back({"eps_root, float64 update", InnerMode::SecondOrder, LrMode::PerLayer, [](InnerLoopConfig& c) {
                   c.eps_root = 1e-8;
                   c.float64_update = true;
                 }});
  out.push_back({"LoRA adapters", InnerMode::SecondOrder, LrMode::PerTensor, [](InnerLoopConfig&) {}, true});
  out.push_back({"evaluation mode", InnerMode::Evaluate, LrMode::PerLayer,
                 [](InnerLoopConfig& c) { c.fact_batch = 2; }});
  return out;
}

class Batched : public testing::TestWithParam<std::string> {};

}  // namespace

TEST_P(Batched, EqualsOneTaskAtATimeForEveryInnerLoopSetting) {
  for (const Setting& s : settings()) expect_batched_equals_separate(GetParam(), s);
}

TEST_P(Batched, InnerGradientClippingIsPerTask) {
  // A clip between the tasks' first gradient norms: some tasks clip, others do not.
  Batch3 probe(GetParam(), Setting{});
  std::vector<double> norms;
  for (const LmBatch& f : probe.facts) {
    norms.push_back(inner_loop(probe.config, probe.base, probe.lrs, probe.inner, f, InnerMode::Evaluate, false).trace[0].grad_norm);
  }
  std::sort(norms.begin(), norms.end());
  ASSERT_LT(norms.front(), norms.back());
  const double clip = (norms[0] + norms[1]) / 2;
  Setting s{"gradient clip between the tasks' norms", InnerMode::SecondOrder, LrMode::PerLayer,
            [clip](InnerLoopConfig& c) { c.grad_clip = clip; }};
  expect_batched_equals_separate(GetParam(), s);
}

TEST_P(Batched, PerTaskReplicasLeaveEachTasksOwnMetaGradient) {
  // outer.task_clip batched: the outer tensors as one replica per task (task_replicas), the tasks'
  // losses through one task-batched inner loop and one backward; row t of each replica's gradient
  // is task t's own meta-gradient (its loss alone, one task at a time), for every inner-loop setting
  // with a meta-gradient.
  for (const Setting& s : settings()) {
    if (s.mode == InnerMode::Evaluate) continue;
    const std::string what = GetParam() + " " + s.name;
    Batch3 p(GetParam(), s);
    ReckoningModel model;
    model.config = p.config;
    model.weights = p.base;
    model.lrs = p.lrs;
    const TaskReplicas replicas = task_replicas(model, 3);
    const std::vector<torch::Tensor> params = p.params();
    ASSERT_EQ(replicas.leaves.size(), params.size()) << what;
    std::vector<torch::Tensor> inputs;
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_EQ(replicas.leaves[i].first.unsafeGetTensorImpl(), params[i].unsafeGetTensorImpl()) << what << " " << i;
      ASSERT_EQ(replicas.leaves[i].second.size(0), 3) << what;
      inputs.push_back(replicas.leaves[i].second);
    }
    const InnerBatchResult batch =
        inner_loop_tasks(p.config, replicas.model.weights, replicas.model.lrs, p.inner, p.facts, s.mode, false);
    const torch::Tensor losses = masked_lm_loss_per_task(p.config, batch.weights, lm_batch_stack(p.questions), 3, false);
    const std::vector<torch::Tensor> g = grads_of(losses.sum(), inputs);
    double largest = 0;
    for (size_t t = 0; t < 3; ++t) {
      const InnerResult one = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts[t], s.mode, false);
      const torch::Tensor loss = masked_lm_loss(p.config, one.weights, p.questions[t], false);
      EXPECT_NEAR(losses[static_cast<int64_t>(t)].item<double>(), loss.item<double>(), 1e-10) << what;
      const std::vector<torch::Tensor> own = grads_of(loss, params);
      for (size_t i = 0; i < own.size(); ++i) {
        const torch::Tensor row = g[i][static_cast<int64_t>(t)];
        EXPECT_LT(max_diff(row, own[i]), 1e-10 * std::max(1.0, own[i].abs().max().item<double>()))
            << what << " task " << t << " parameter " << i;
        largest = std::max(largest, row.abs().max().item<double>());
      }
    }
    EXPECT_GT(largest, 0.0) << what;
  }
}

INSTANTIATE_TEST_SUITE_P(Families, Batched, testing::Values("gpt2", "llama", "qwen3"));

TEST(Batched, MetaGradientThroughABatchMatchesFiniteDifferences) {
  Setting s;
  s.edit = [](InnerLoopConfig& c) { c.eps = 1e-2; };  // Adam's curvature near 0 (family_test.cpp)
  Batch3 p("gpt2", s);
  auto loss_of = [&](const DecoderWeights& w, const InnerLrs& r) {
    const InnerBatchResult b = inner_loop_tasks(p.config, w, r, p.inner, p.facts, InnerMode::SecondOrder, false);
    return masked_lm_loss_per_task(p.config, b.weights, lm_batch_stack(p.questions), 3, false).sum();
  };
  std::vector<torch::Tensor> params = decoder_flatten(p.base);
  params.push_back(p.lrs.values);
  const std::vector<torch::Tensor> g = grads_of(loss_of(p.base, p.lrs), params);
  torch::manual_seed(21);
  std::vector<torch::Tensor> dir;
  for (const torch::Tensor& t : params) dir.push_back(torch::randn_like(t));
  double analytic = 0;
  for (size_t i = 0; i < g.size(); ++i) analytic += (g[i] * dir[i]).sum().item<double>();
  auto at = [&](double e) {
    torch::NoGradGuard none;
    std::vector<torch::Tensor> w;
    for (size_t i = 0; i + 1 < params.size(); ++i) w.push_back(params[i].detach() + e * dir[i]);
    InnerLrs r = p.lrs;
    r.values = p.lrs.values.detach() + e * dir.back();
    torch::AutoGradMode on(true);
    for (auto& t : w) t.requires_grad_(true);
    r.values.requires_grad_(true);
    return loss_of(decoder_with(p.base, w), r).item<double>();
  };
  const double h = 1e-5;
  const double fd = (8 * (at(h / 2) - at(-h / 2)) - (at(h) - at(-h))) / (6 * h);
  EXPECT_NEAR(analytic, fd, 1e-6 * std::max(1.0, std::abs(fd)));
  EXPECT_NE(analytic, 0.0);
}

TEST(Batched, StackPadsEachTaskToOneBlockWithoutTargets) {
  const LmBatch a = random_batch(2, 5, 1), b = random_batch(3, 7, 2);
  const LmBatch s = lm_batch_stack({a, b});
  ASSERT_EQ(s.ids.sizes(), (std::vector<int64_t>{6, 7}));
  EXPECT_TRUE(torch::equal(s.ids.slice(0, 0, 2).slice(1, 0, 5), a.ids));
  EXPECT_TRUE(torch::equal(s.attn_mask.slice(0, 0, 2).slice(1, 5), torch::zeros({2, 2}, torch::kLong)));
  EXPECT_EQ(s.attn_mask[2].sum().item<int64_t>(), 0);  // task a's padding row
  EXPECT_EQ(s.target_mask[2].any().item<bool>(), false);
  EXPECT_TRUE(torch::equal(s.target_mask.slice(0, 3), b.target_mask));
  // One batch is returned as it is.
  EXPECT_TRUE(lm_batch_stack({a}).ids.is_same(a.ids));
}

TEST(Batched, PerTaskLossOfSharedWeightsIsEachTasksLoss) {
  const DecoderConfig c = tiny_config();
  const DecoderWeights w = decoder_init(c, 5, torch::kFloat64);
  const std::vector<LmBatch> qs{tiny_question(), random_batch(2, 4, 33, 3), random_batch(1, 8, 34, 6)};
  const torch::Tensor per_task = masked_lm_loss_per_task(c, w, lm_batch_stack(qs), 3, false);
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(per_task[t].item<double>(), masked_lm_loss(c, w, qs[static_cast<size_t>(t)], false).item<double>(), 1e-12);
  }
}

TEST(Batched, TaskHelpersMatchThePlainOperations) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::randn({6, 4}, torch::kFloat64);
  const torch::Tensor w = torch::randn({3, 4, 5}, torch::kFloat64), b = torch::randn({3, 5}, torch::kFloat64);
  const torch::Tensor y = task_matmul(x, w, false, b);
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_LT(max_diff(y.slice(0, 2 * t, 2 * t + 2), torch::addmm(b[t], x.slice(0, 2 * t, 2 * t + 2), w[t])), 1e-14);
  }
  const torch::Tensor yt = task_matmul(x, w.transpose(1, 2).contiguous(), true);
  EXPECT_LT(max_diff(yt, torch::cat({x.slice(0, 0, 2).mm(w[0]), x.slice(0, 2, 4).mm(w[1]), x.slice(0, 4).mm(w[2])})), 1e-14);
  const torch::Tensor table = torch::randn({3, 7, 2}, torch::kFloat64);
  const torch::Tensor ids = torch::randint(0, 7, {6, 3}, torch::kLong);
  const torch::Tensor e = task_embedding(table, ids);
  for (int64_t r = 0; r < 6; ++r) EXPECT_TRUE(torch::equal(e[r], table[r / 2].index_select(0, ids[r])));
  EXPECT_EQ(task_count(w, 2), 3);
  EXPECT_EQ(task_count(w[0], 2), 0);
  // Rows that are not the tasks' equal blocks are refused.
  EXPECT_THROW(task_matmul(torch::randn({5, 4}, torch::kFloat64), w, false), c10::Error);
}

TEST(BatchedTraining, TasksLossIsEachTasksLossWithItsMetaGradient) {
  // The trainer's batched loss (float64): what task_loss gives one task at a time, for RECKONING and
  // for tasks without facts (FT-ICR, the controls).
  Batch3 p("gpt2", Setting{});
  ReckoningModel model;
  model.config = p.config;
  model.weights = p.base;
  model.lrs = p.lrs;
  model.run.inner_dropout = false;
  for (const bool with_facts : {true, false}) {
    std::vector<EncodedTask> tasks(3);
    std::vector<const EncodedTask*> all;
    for (size_t t = 0; t < 3; ++t) {
      if (with_facts) tasks[t].facts = p.facts[t];
      tasks[t].question = p.questions[t];
      all.push_back(&tasks[t]);
    }
    const std::vector<torch::Tensor> params = p.params();
    std::vector<std::vector<InnerStepTrace>> traces;
    const torch::Tensor batched = tasks_loss(model, all, InnerMode::SecondOrder, false, &traces);
    ASSERT_EQ(batched.sizes(), (std::vector<int64_t>{3}));
    ASSERT_EQ(traces.size(), 3u);
    const std::vector<torch::Tensor> g = grads_of(batched.sum(), params);
    std::vector<torch::Tensor> sum(params.size());
    for (size_t t = 0; t < 3; ++t) {
      std::vector<InnerStepTrace> trace;
      const torch::Tensor one = task_loss(model, tasks[t], InnerMode::SecondOrder, false, &trace);
      EXPECT_NEAR(batched[static_cast<int64_t>(t)].item<double>(), one.item<double>(), 1e-10) << with_facts << " " << t;
      EXPECT_EQ(traces[t].size(), trace.size());
      const std::vector<torch::Tensor> gt = grads_of(one, params);
      for (size_t i = 0; i < gt.size(); ++i) sum[i] = sum[i].defined() ? sum[i] + gt[i] : gt[i];
    }
    for (size_t i = 0; i < g.size(); ++i) EXPECT_LT(max_diff(g[i], sum[i]), 1e-10) << with_facts << " parameter " << i;
  }
}

// Training runs in float32, where Adam's first updates (about lr x the sign of each gradient
// element) amplify the last-bit differences of a batched product in the elements whose gradient is
// near zero: the first step's loss is the same to float32 rounding, the later ones stay close.
void expect_same_training(const TrainSummary& batched, const TrainSummary& sequential, const std::string& what) {
  ASSERT_EQ(batched.losses.size(), sequential.losses.size());
  EXPECT_NEAR(batched.losses[0], sequential.losses[0], 1e-6 * std::abs(sequential.losses[0])) << what;
  for (size_t i = 1; i < batched.losses.size(); ++i) {
    EXPECT_NEAR(batched.losses[i], sequential.losses[i], 1e-2 * std::abs(sequential.losses[i])) << what << " step " << i;
  }
}

TEST(BatchedTraining, BatchedMicroBatchesTrainAsOneTaskAtATime) {
  for (const std::string method : {"reckoning", "ft-icr"}) {
    TempRun a("batched_" + method), b("sequential_" + method);
    for (TempRun* r : {&a, &b}) {
      r->config.model_dropout = 0;  // the one difference a batch may make: dropout masks
      r->config.outer_batch_tasks = 3;
      r->config.method = enum_parse<Method>(method, "method");
    }
    b.config.outer_batched = false;
    expect_same_training(train(a.config, quiet()), train(b.config, quiet()), method);
  }
}

TEST(BatchedTraining, TaskGradientsAreScaledSummedAndALeftOutTaskIsNotRead) {
  // add_task_gradients: each outer tensor's gradient gains sum_t scale_t x row t; a task with scale
  // 0 is left out even when its rows hold NaN and Inf; an existing gradient is added to.
  ReckoningModel model;
  model.config = tiny_config();
  model.weights = decoder_map(decoder_init(model.config, 5, torch::kFloat64),
                              [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); });
  model.lrs = inner_lrs_init(model.config, LrMode::PerLayer, 2, 0.05, false, torch::kFloat64);
  const TaskReplicas replicas = task_replicas(model, 3);
  std::vector<torch::Tensor> grads;
  for (const auto& leaf : replicas.leaves) {
    torch::Tensor g = torch::randn_like(leaf.second);
    g[1].fill_(std::nan(""));
    g[1].view(-1)[0] = INFINITY;
    grads.push_back(g);
  }
  grads[2] = torch::Tensor();  // a tensor no task's loss used
  const torch::Tensor before = torch::ones_like(replicas.leaves[0].first);
  replicas.leaves[0].first.mutable_grad() = before.clone();
  add_task_gradients(replicas, grads, {0.5, 0.0, 2.0});
  for (size_t i = 0; i < grads.size(); ++i) {
    const torch::Tensor got = replicas.leaves[i].first.grad();
    if (i == 2) {
      EXPECT_FALSE(got.defined());
      continue;
    }
    torch::Tensor expected = grads[i][0] * 0.5 + grads[i][2] * 2.0;
    if (i == 0) expected = expected + before;
    EXPECT_LT(max_diff(got, expected), 1e-12) << i;
  }
}

TEST(BatchedTraining, TaskClipBatchedTrainsAsOneTaskAtATime) {
  // outer.task_clip with batched micro-batches (each task's meta-gradient from per-task replicas,
  // clipped, then summed) trains as the tasks one at a time (one backward each), for a clip that
  // clips every task and one that clips none; and the clip matters (the runs differ).
  std::vector<std::vector<double>> runs;
  for (const double clip : {0.05, 1e6}) {
    TempRun a("batched_clip"), b("sequential_clip");
    for (TempRun* r : {&a, &b}) {
      r->config.model_dropout = 0;
      r->config.outer_batch_tasks = 3;
      r->config.outer_task_clip = clip;
    }
    b.config.outer_batched = false;
    const TrainSummary batched = train(a.config, quiet());
    expect_same_training(batched, train(b.config, quiet()), str("task clip ", clip));
    runs.push_back(batched.losses);
  }
  EXPECT_NE(runs[0], runs[1]);
}

TEST(BatchedEvaluation, BatchesOfTasksGiveTheSameReport) {
  TempRun run("batched_eval");
  run.config.model_dropout = 0;
  const TrainSummary s = train(run.config, quiet());
  const ReckoningModel model = reckoning_model_load(s.last_dir);
  const std::vector<Task> tasks = tiny_tasks(7, 30);
  EvalOptions one = s.eval_options, many = s.eval_options;
  one.batch_tasks = 1;
  many.batch_tasks = 3;  // 3 + 3 + 1
  const EvalReport a = evaluate(model, tasks, one), b = evaluate(model, tasks, many);
  for (const EvalReport* r : {&a, &b}) {  // the two phases' seconds are parts of the whole
    EXPECT_GT(r->encode_seconds, 0.0);
    EXPECT_GT(r->answer_seconds, 0.0);
    EXPECT_LE(r->encode_seconds + r->answer_seconds, r->seconds);
  }
  ASSERT_EQ(a.tasks.size(), b.tasks.size());
  EXPECT_EQ(a.overall.label, b.overall.label);
  for (size_t i = 0; i < a.tasks.size(); ++i) {
    EXPECT_EQ(a.tasks[i].prediction, b.tasks[i].prediction) << i;
    ASSERT_EQ(a.tasks[i].inner_losses.size(), b.tasks[i].inner_losses.size());
    for (size_t k = 0; k < a.tasks[i].inner_losses.size(); ++k) {
      EXPECT_NEAR(a.tasks[i].inner_losses[k], b.tasks[i].inner_losses[k], 1e-5) << i << " " << k;
    }
  }
}

TEST(BatchedAnswering, ManyKnowledgeSetsEncodeAsEachAlone) {
  TempRun run("batched_answer");
  run.config.model_dropout = 0;
  const TrainSummary s = train(run.config, quiet());
  const ReckoningModel model = reckoning_model_load(s.last_dir);
  const std::vector<std::vector<std::string>> sets{{"B A son", "C B father"}, {"D C mother"}, {"H D son", "J H daughter", "K J father"}};
  const std::vector<Knowledge> many = knowledge_encode_many(model, sets, 2);  // 2 + 1
  ASSERT_EQ(many.size(), 3u);
  for (size_t i = 0; i < sets.size(); ++i) {
    const Knowledge one = knowledge_encode(model, sets[i]);
    EXPECT_EQ(many[i].facts, one.facts);
    const auto a = decoder_flatten(many[i].weights), b = decoder_flatten(one.weights);
    // float32: Adam's first inner step moves each element by about lr x its gradient's sign, so the
    // last-bit differences of a batched product show in elements whose gradient is near zero.
    for (size_t k = 0; k < a.size(); ++k) EXPECT_LT(max_diff(a[k], b[k]), 1e-3) << i << " " << k;
    const std::string q = "How are A and C related to each other ?";
    EXPECT_EQ(knowledge_answer(model, many[i], q, GenerateOptions{}), knowledge_answer(model, one, q, GenerateOptions{}));
  }
}

TEST(BatchedAnswering, SetsFileIsReadWithClearErrors) {
  const std::string good = write_temp("sets_good.jsonl",
                                      "{\"id\": \"a\", \"facts\": [\"B A son\"], \"questions\": [\"q1\", \"q2\"]}\n\n"
                                      "{\"facts\": [\"C B father\", \"D C mother\"], \"questions\": [\"q3\"]}\n");
  const std::vector<KnowledgeSet> sets = knowledge_sets_read(good);
  ASSERT_EQ(sets.size(), 2u);
  EXPECT_EQ(sets[0].id, "a");
  EXPECT_EQ(sets[1].id, "3");  // the line number
  EXPECT_EQ(sets[1].facts.size(), 2u);
  const std::string bad = write_temp("sets_bad.jsonl", "{\"facts\": [\"B A son\"], \"questions\": [\"q\"]}\n{\"facts\": [], \"questions\": [\"q\"]}\n");
  const std::string message = error_of([&] { knowledge_sets_read(bad); });
  EXPECT_THAT(message, testing::HasSubstr(bad + ":2: field 'facts'"));
  EXPECT_THAT(message, testing::HasSubstr("a non-empty list of strings"));
}
