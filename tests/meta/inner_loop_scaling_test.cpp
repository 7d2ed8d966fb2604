// The parameter-efficient inner loop (float64, tiny models): with LoRA adapters the meta-gradient
// w.r.t. the base weights, the adapters' initial values and the rates equals central finite
// differences, and only the adapters change; truncated unrolling equals its analytic definition
// (the first K steps' gradients held constant) and its limits (K = 0 exact, K = steps first order);
// fact mini-batches give the one-batch loss, weights and meta-gradient.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>

#include "reckoning/base/error.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/model/lora.h"
#include "support/tiny_meta.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

// A meta-learning problem whose outer parameters are a flat list: the base weights (canonical
// order), then the adapters (lora_visit order, when there are any), then the rate table.
struct Problem {
  Gpt2Config config = tiny_config();
  DecoderWeights base;
  InnerLrs lrs;
  InnerLoopConfig inner;
  LmBatch facts = tiny_facts();
  LmBatch question = tiny_question();

  Problem(bool lora, InnerOptimizer optimizer, LrMode mode, int64_t steps = 3, double lr = 0.05) {
    DecoderWeights w = gpt2_init(config, 5, torch::kFloat64);
    inner.optimizer = optimizer;
    inner.eps = 1e-3;  // keeps Adam's g / sqrt(v) smooth enough for finite differences
    inner.momentum = 0;
    inner.weight_decay = optimizer == InnerOptimizer::Sgd ? 0.0 : 0.01;
    if (lora) {
      LoraConfig adapters;
      adapters.rank = 2;
      adapters.alpha = 4;
      adapters.targets = lora_targets_parse("all", "test");
      lora_attach(w, adapters, 9);
      // Adapters as after meta-training (b nonzero), so each one has an inner gradient at once.
      torch::manual_seed(17);
      lora_visit(w, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t) * 0.2; });
      inner.adapt = "lora";
    }
    base = decoder_map(w, [](const torch::Tensor& t) { return t.clone().requires_grad_(true); });
    lrs = inner_lrs_init(inner_rate_specs(config, inner, base), config.n_layer, mode, steps, lr, false, torch::kFloat64);
  }

  std::vector<torch::Tensor> params() const {
    std::vector<torch::Tensor> p = decoder_flatten(base);
    for (const torch::Tensor& t : lora_flatten(base)) p.push_back(t);
    p.push_back(lrs.values);
    return p;
  }

  // The weights and rates a parameter list stands for.
  std::pair<DecoderWeights, InnerLrs> unpack(const std::vector<torch::Tensor>& p) const {
    const size_t n = decoder_flatten(base).size();
    DecoderWeights w = base;
    size_t k = 0;
    decoder_visit(w, [&](const std::string&, torch::Tensor& t) { t = p[k++]; });
    if (lora_present(base)) w = lora_with(w, std::vector<torch::Tensor>(p.begin() + static_cast<int64_t>(n), p.end() - 1));
    InnerLrs r = lrs;
    r.values = p.back();
    return {w, r};
  }

  torch::Tensor outer_loss(const std::vector<torch::Tensor>& p, InnerMode mode, const InnerLoopConfig& with) const {
    auto [w, r] = unpack(p);
    InnerResult adapted = inner_loop(config, w, r, with, facts, mode, false);
    return masked_lm_loss(config, adapted.weights, question, false);
  }
  torch::Tensor outer_loss(const std::vector<torch::Tensor>& p, InnerMode mode) const { return outer_loss(p, mode, inner); }

  // d(outer loss)/d(params), undefined for those without grad (static rates, a frozen base).
  std::vector<torch::Tensor> meta_gradient(InnerMode mode, const InnerLoopConfig& with) const {
    const std::vector<torch::Tensor> all = params();
    std::vector<torch::Tensor> trainable;
    for (const torch::Tensor& t : all) {
      if (t.requires_grad()) trainable.push_back(t);
    }
    const std::vector<torch::Tensor> g =
        torch::autograd::grad({outer_loss(all, mode, with)}, trainable, {}, false, false, /*allow_unused=*/true);
    std::vector<torch::Tensor> out;
    size_t k = 0;
    for (const torch::Tensor& t : all) out.push_back(t.requires_grad() ? g[k++] : torch::Tensor());
    return out;
  }
};

// Central difference of the outer loss along a random direction (scaled like each tensor: weights and
// adapters 0.02, rates 0.05) against the analytic directional derivative.
void expect_matches_finite_differences(const Problem& p, const std::vector<torch::Tensor>& grads) {
  // The LoRA problems are strongly curved (an update is a product of two adapted tensors): at
  // h = 1e-5 the central difference's h^2 error is ~3e-4 relative, at 1e-7 below 1e-8.
  const double h = 1e-7;
  const std::vector<torch::Tensor> params = p.params();
  torch::manual_seed(3);
  std::vector<torch::Tensor> dir;
  for (size_t i = 0; i < params.size(); ++i) {
    // (a tensor without grad - static rates - is not moved: its derivative is not claimed)
    dir.push_back(params[i].requires_grad() ? torch::randn_like(params[i]) * (i + 1 < params.size() ? 0.02 : 0.05)
                                            : torch::zeros_like(params[i]));
  }
  auto eval = [&](double e) {
    std::vector<torch::Tensor> shifted;
    for (size_t i = 0; i < params.size(); ++i) shifted.push_back(params[i].detach() + e * dir[i]);
    return p.outer_loss(shifted, InnerMode::Evaluate).item<double>();
  };
  const double numeric = (eval(h) - eval(-h)) / (2 * h);
  double analytic = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (grads[i].defined()) analytic += (grads[i] * dir[i]).sum().item<double>();
  }
  EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
}

double max_difference(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  EXPECT_EQ(a.size(), b.size());
  double worst = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (!a[i].defined() || !b[i].defined()) {
      EXPECT_EQ(a[i].defined(), b[i].defined()) << "tensor " << i;
      continue;
    }
    worst = std::max(worst, (a[i] - b[i]).abs().max().item<double>());
  }
  return worst;
}

}  // namespace

TEST(LoraInnerLoop, MetaGradientMatchesFiniteDifferences) {
  for (const auto& [optimizer, mode] : {std::pair{InnerOptimizer::AdamW, LrMode::PerLayer},
                                        std::pair{InnerOptimizer::AdamW, LrMode::PerTensor},
                                        std::pair{InnerOptimizer::Sgd, LrMode::Static}}) {
    SCOPED_TRACE(str(enum_name(optimizer), " ", enum_name(mode)));
    const Problem p(/*lora=*/true, optimizer, mode);
    const std::vector<torch::Tensor> grads = p.meta_gradient(InnerMode::SecondOrder, p.inner);
    expect_matches_finite_differences(p, grads);
    // Base weights, adapters and (learned) rates all receive a gradient.
    const size_t n = decoder_flatten(p.base).size();
    EXPECT_GT(grads[0].abs().max().item<double>(), 0);
    EXPECT_GT(grads[n].abs().max().item<double>(), 0);
    if (p.lrs.learned()) EXPECT_GT(grads.back().abs().max().item<double>(), 0);
  }
}

TEST(LoraInnerLoop, PerLayerRatesCoverTheBlocksThatHoldAdapters) {
  const Problem p(/*lora=*/true, InnerOptimizer::AdamW, LrMode::PerLayer);
  EXPECT_EQ(p.lrs.group_names, (std::vector<std::string>{"h.0", "h.1"}));
  EXPECT_EQ(p.lrs.group_of_tensor.size(), 16u);
  const Problem per_tensor(/*lora=*/true, InnerOptimizer::AdamW, LrMode::PerTensor);
  EXPECT_EQ(per_tensor.lrs.group_names.front(), "h.0.attn.c_attn.lora_A.weight");
}

TEST(LoraInnerLoop, OnlyTheAdaptersChangeAndTheFactsAreLearned) {
  const Problem p(/*lora=*/true, InnerOptimizer::AdamW, LrMode::PerLayer, 4, 0.05);
  const InnerResult r = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false);
  const std::vector<torch::Tensor> before = decoder_flatten(p.base), after = decoder_flatten(r.weights);
  for (size_t i = 0; i < before.size(); ++i) EXPECT_TRUE(after[i].is_same(before[i]));
  const std::vector<torch::Tensor> a0 = lora_flatten(p.base), a1 = lora_flatten(r.weights);
  ASSERT_EQ(a0.size(), a1.size());
  for (size_t i = 0; i < a0.size(); ++i) EXPECT_FALSE(torch::equal(a0[i].detach(), a1[i])) << i;
  EXPECT_LT(r.trace.back().loss, r.trace.front().loss);
  // A frozen base: the meta-gradient still reaches the adapters and the rates.
  Problem frozen(/*lora=*/true, InnerOptimizer::AdamW, LrMode::PerLayer);
  decoder_visit(frozen.base, [](const std::string&, torch::Tensor& t) { t = t.detach(); });
  std::vector<torch::Tensor> trainable = lora_flatten(frozen.base);
  trainable.push_back(frozen.lrs.values);
  const std::vector<torch::Tensor> g = torch::autograd::grad({frozen.outer_loss(frozen.params(), InnerMode::SecondOrder)}, trainable);
  for (const torch::Tensor& t : g) EXPECT_GT(t.abs().max().item<double>(), 0);
}

TEST(LoraInnerLoop, WithoutAdaptersLoraIsRefused) {
  Problem p(/*lora=*/false, InnerOptimizer::AdamW, LrMode::PerLayer);
  p.inner.adapt = "lora";
  EXPECT_THAT([&] { inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("inner.adapt: expected LoRA adapters")));
}

// Truncated unrolling, against its definition: with SGD (no momentum, no decay) the first K steps
// add -lr_k g_k with g_k held constant, so the truncated meta-gradient w.r.t. the base weights is
// the exact meta-gradient of the remaining steps taken at w_K, w.r.t. the early rates -<G, g_k>,
// and w.r.t. the late rates their exact gradient. The remaining steps' gradient is checked
// against finite differences of the loss as a function of w_K.
TEST(InnerLoop, TruncatedUnrollingEqualsTheAnalyticTruncatedGradient) {
  for (const bool lora : {false, true}) {
    SCOPED_TRACE(lora ? "lora" : "full");
    Problem p(lora, InnerOptimizer::Sgd, LrMode::PerTensor, 4, 0.05);
    const int64_t K = 2;
    InnerLoopConfig truncated = p.inner;
    truncated.unroll_from = K;
    const std::vector<torch::Tensor> got = p.meta_gradient(InnerMode::SecondOrder, truncated);

    // The first K steps as plain updates: w_K and the constant gradients g_0..g_{K-1}.
    const std::vector<torch::Tensor> params = p.params();
    const size_t n_fast = params.size() - 1 - (lora ? decoder_flatten(p.base).size() : 0);
    const size_t first_fast = lora ? decoder_flatten(p.base).size() : 0;
    std::vector<torch::Tensor> w;
    for (const torch::Tensor& t : params) w.push_back(t.detach().clone());
    std::vector<std::vector<torch::Tensor>> g(K);
    for (int64_t k = 0; k < K; ++k) {
      std::vector<torch::Tensor> leaves = w;
      for (size_t i = first_fast; i < first_fast + n_fast; ++i) leaves[i].requires_grad_(true);
      auto [weights, unused] = p.unpack(leaves);
      torch::Tensor loss = masked_lm_loss(p.config, weights, p.facts, false);
      std::vector<torch::Tensor> fast(leaves.begin() + static_cast<int64_t>(first_fast),
                                      leaves.begin() + static_cast<int64_t>(first_fast + n_fast));
      g[k] = torch::autograd::grad({loss}, fast);
      for (size_t j = 0; j < n_fast; ++j) {
        const int64_t group = p.lrs.group_of_tensor[j];
        w[first_fast + j] = w[first_fast + j] - p.lrs.values[group][k].item<double>() * g[k][j];
      }
    }
    // The remaining steps, exact, from w_K.
    Problem late = p;
    late.lrs.values = p.lrs.values.detach().slice(1, K).clone().requires_grad_(true);
    std::vector<torch::Tensor> start = w;
    for (auto& t : start) t.requires_grad_(true);
    start.back() = late.lrs.values;
    const std::vector<torch::Tensor> exact_late =
        torch::autograd::grad({late.outer_loss(start, InnerMode::SecondOrder)}, start);

    // Expected: base weights and adapters <- G at w_K; early rates <- -<G, g_k>; late rates exact.
    for (size_t i = 0; i + 1 < params.size(); ++i) {
      EXPECT_LT((got[i] - exact_late[i]).abs().max().item<double>(), 1e-12) << "tensor " << i << (lora ? " (lora)" : "");
    }
    torch::Tensor expected_rates = torch::zeros_like(p.lrs.values);
    for (int64_t k = 0; k < K; ++k) {
      for (size_t j = 0; j < n_fast; ++j) {
        const int64_t group = p.lrs.group_of_tensor[j];
        expected_rates[group][k] -= (exact_late[first_fast + j] * g[k][j]).sum();
      }
    }
    expected_rates.slice(1, K).copy_(exact_late.back());
    EXPECT_LT((got.back() - expected_rates).abs().max().item<double>(), 1e-12) << (lora ? "lora" : "full");
    // And G itself is the finite-difference derivative of the loss as a function of w_K.
    torch::manual_seed(4);
    std::vector<torch::Tensor> dir;
    for (size_t i = 0; i + 1 < start.size(); ++i) dir.push_back(torch::randn_like(start[i]) * 0.02);
    auto eval = [&](double e) {
      std::vector<torch::Tensor> s;
      for (size_t i = 0; i + 1 < start.size(); ++i) s.push_back(start[i].detach() + e * dir[i]);
      s.push_back(late.lrs.values.detach());
      return late.outer_loss(s, InnerMode::Evaluate).item<double>();
    };
    const double h = 1e-7, numeric = (eval(h) - eval(-h)) / (2 * h);
    double analytic = 0;
    for (size_t i = 0; i < dir.size(); ++i) analytic += (got[i] * dir[i]).sum().item<double>();
    EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)));
  }
}

TEST(InnerLoop, TruncatedUnrollingLimitsAreExactAndFirstOrder) {
  for (const bool lora : {false, true}) {
    const Problem p(lora, InnerOptimizer::AdamW, LrMode::PerLayer, 3, 0.05);
    InnerLoopConfig none = p.inner, all = p.inner, some = p.inner;
    none.unroll_from = 0;
    all.unroll_from = 3;
    some.unroll_from = 1;
    const auto exact = p.meta_gradient(InnerMode::SecondOrder, p.inner);
    EXPECT_EQ(max_difference(p.meta_gradient(InnerMode::SecondOrder, none), exact), 0);
    EXPECT_LT(max_difference(p.meta_gradient(InnerMode::SecondOrder, all), p.meta_gradient(InnerMode::FirstOrder, p.inner)),
              1e-12);
    // In between it is neither.
    const auto partial = p.meta_gradient(InnerMode::SecondOrder, some);
    EXPECT_GT(max_difference(partial, exact), 1e-9);
    EXPECT_GT(max_difference(partial, p.meta_gradient(InnerMode::FirstOrder, p.inner)), 1e-9);
  }
}

TEST(InnerLoop, FactMiniBatchesGiveTheOneBatchResult) {
  for (const bool lora : {false, true}) {
    const Problem p(lora, InnerOptimizer::AdamW, LrMode::PerLayer, 3, 0.05);
    const InnerResult one = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false);
    for (const int64_t chunk : {1, 2}) {
      InnerLoopConfig chunked = p.inner;
      chunked.fact_batch = chunk;
      const InnerResult r = inner_loop(p.config, p.base, p.lrs, chunked, p.facts, InnerMode::Evaluate, false);
      for (size_t k = 0; k < one.trace.size(); ++k) EXPECT_NEAR(r.trace[k].loss, one.trace[k].loss, 1e-12);
      std::vector<torch::Tensor> a = decoder_flatten(one.weights), b = decoder_flatten(r.weights);
      for (const torch::Tensor& t : lora_flatten(one.weights)) a.push_back(t);
      for (const torch::Tensor& t : lora_flatten(r.weights)) b.push_back(t);
      EXPECT_LT(max_difference(a, b), 1e-12) << "chunk " << chunk << (lora ? " lora" : "");
      for (const InnerMode mode : {InnerMode::SecondOrder, InnerMode::FirstOrder}) {
        EXPECT_LT(max_difference(p.meta_gradient(mode, chunked), p.meta_gradient(mode, p.inner)), 1e-10)
            << "chunk " << chunk << " mode " << static_cast<int>(mode) << (lora ? " lora" : "");
      }
    }
  }
}

