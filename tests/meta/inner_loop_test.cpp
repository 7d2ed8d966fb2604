// The inner loop and its meta-gradient (float64, tiny models): the meta-gradient w.r.t. base
// weights and learned rates equals central finite differences of the whole unrolled procedure
// (AdamW and SGD, second order); first-order mode matches its definition; every weight and rate
// gets a finite non-zero gradient; static rates are not trainable; zero steps is the plain model;
// the inner loss falls; evaluation mode keeps no graph and gives the same weights.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include "reckoning/base/error.h"
#include "reckoning/meta/inner_loop.h"
#include "support/tiny_meta.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

struct MetaProblem {
  Gpt2Config config = tiny_config();
  Gpt2Weights base;
  InnerLrs lrs;
  InnerLoopConfig inner;
  LmBatch facts = tiny_facts();
  LmBatch question = tiny_question();

  MetaProblem(InnerOptimizer optimizer, LrMode mode, int64_t steps, double lr, bool log_space = false) {
    base = gpt2_map(gpt2_init(config, 5, torch::kFloat64),
                    [](const torch::Tensor& t) { return t.clone().requires_grad_(true); });
    lrs = inner_lrs_init(config, mode, steps, lr, log_space, torch::kFloat64);
    inner.optimizer = optimizer;
    inner.eps = 1e-3;  // keeps Adam's g / sqrt(v) smooth enough for finite differences
    inner.momentum = optimizer == InnerOptimizer::Sgd ? 0.5 : 0.0;
  }

  torch::Tensor outer_loss(const Gpt2Weights& w, const InnerLrs& r, InnerMode mode) const {
    InnerResult adapted = inner_loop(config, w, r, inner, facts, mode, false);
    return masked_lm_loss(config, adapted.weights, question, false);
  }

  // d(outer loss)/d(base weights..., rate table) in canonical order, the table last.
  std::vector<torch::Tensor> meta_gradient(InnerMode mode) const {
    std::vector<torch::Tensor> params = decoder_flatten(base);
    params.push_back(lrs.values);
    return torch::autograd::grad({outer_loss(base, lrs, mode)}, params);
  }

  // The gradient of the loss on `batch` at the weights reached after the first `steps` inner
  // steps (evaluation mode), taken w.r.t. those weights as fresh leaves.
  std::vector<torch::Tensor> gradient_after(int64_t steps, const LmBatch& batch) const {
    InnerLrs first = lrs;
    first.values = lrs.values.detach().slice(1, 0, steps);
    std::vector<torch::Tensor> w = decoder_flatten(inner_loop(config, base, first, inner, facts, InnerMode::Evaluate, false).weights);
    for (auto& t : w) t = t.detach().requires_grad_(true);
    return torch::autograd::grad({masked_lm_loss(config, gpt2_unflatten(config, w), batch, false)}, w);
  }
};

// Perturbs every base tensor by eps * direction (no grad).
Gpt2Weights shifted(const Gpt2Weights& w, const std::vector<torch::Tensor>& dir, double eps) {
  std::vector<torch::Tensor> flat = decoder_flatten(w);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = (flat[i].detach() + eps * dir[i]);
  return gpt2_unflatten(tiny_config(), flat);
}

InnerLrs shifted(const InnerLrs& r, const torch::Tensor& dir, double eps) {
  InnerLrs out = r;
  out.values = r.values.detach() + eps * dir;
  return out;
}

struct FdOptions {
  double eps = 1e-3, eps_root = 0;
  bool log_space = false;  // rates stored as log(rate): the table's gradient is w.r.t. those
  double grad_clip = 0;    // the inner gradient-norm clip (differentiable where it binds)
};

void expect_meta_gradient_matches_finite_differences(InnerOptimizer optimizer, LrMode mode,
                                                     const FdOptions& o = {}) {
  MetaProblem p(optimizer, mode, 3, 0.05, o.log_space);
  p.inner.eps = o.eps;
  p.inner.eps_root = o.eps_root;
  p.inner.grad_clip = o.grad_clip;
  torch::Tensor loss = p.outer_loss(p.base, p.lrs, InnerMode::SecondOrder);
  std::vector<torch::Tensor> params = decoder_flatten(p.base);
  params.push_back(p.lrs.values);
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, params);

  torch::manual_seed(3);
  std::vector<torch::Tensor> dir;
  // Directions on the weights' own scale (init std 0.02), so that h = 1e-5 stays in the
  // region where the central difference's truncation error is below the tolerance.
  for (size_t i = 0; i + 1 < params.size(); ++i) dir.push_back(torch::randn_like(params[i]) * 0.02);
  torch::Tensor lr_dir = torch::randn_like(p.lrs.values) * 0.05;
  const double h = 1e-5;
  torch::NoGradGuard no_grad;  // the inner loop still needs grad internally: re-enable below
  auto eval = [&](double e) {
    torch::AutoGradMode enable(true);
    return p.outer_loss(shifted(p.base, dir, e), shifted(p.lrs, lr_dir, e), InnerMode::Evaluate)
        .item<double>();
  };
  const double numeric = (eval(h) - eval(-h)) / (2 * h);
  double analytic = 0;
  for (size_t i = 0; i < dir.size(); ++i) analytic += (grads[i] * dir[i]).sum().item<double>();
  analytic += (grads.back() * lr_dir).sum().item<double>();
  EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric)))
      << "optimizer " << enum_name(optimizer) << ", mode " << enum_name(mode);

  // The rates alone, so that their part of the meta-gradient cannot hide behind the weights'.
  auto eval_lr = [&](double e) {
    torch::AutoGradMode enable(true);
    return p.outer_loss(p.base, shifted(p.lrs, lr_dir, e), InnerMode::Evaluate).item<double>();
  };
  const double numeric_lr = (eval_lr(h) - eval_lr(-h)) / (2 * h);
  const double analytic_lr = (grads.back() * lr_dir).sum().item<double>();
  EXPECT_NEAR(analytic_lr, numeric_lr, 1e-6 * std::max(1.0, std::abs(numeric_lr)));
  EXPECT_GT(std::abs(analytic_lr), 1e-6);
}

}  // namespace

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesAdamWPerTensor) {
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerTensor);
}

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesAdamWPerLayer) {
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerLayer);
}

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesWithEpsilonInsideTheRoot) {
  // inner.eps_root makes the update smooth where the gradient is tiny, so the real epsilon (1e-8)
  // can be differenced; sqrt(1e-4) = 1e-2 is of the order of this tiny model's inner gradients,
  // so the root's new term shapes most elements' updates.
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerLayer, {1e-8, 1e-4});
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerTensor, {1e-8, 1e-4});
}

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesWithLogSpaceRates) {
  // The default parametrisation: the rates' gradient is d/d log(rate) = rate x d/d rate.
  FdOptions o;
  o.log_space = true;
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerLayer, o);
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::Sgd, LrMode::PerTensor, o);
}

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesWithTheInnerClipBinding) {
  // A clip far below this model's inner gradient norms binds at every step, so the second-order
  // gradient flows through the clip's scale g / |g| as well.
  FdOptions o;
  o.grad_clip = 1e-3;
  o.log_space = true;
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::AdamW, LrMode::PerLayer, o);
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::Sgd, LrMode::PerLayer, o);
}

TEST(InnerLoop, MetaGradientMatchesFiniteDifferencesSgdPerTensor) {
  expect_meta_gradient_matches_finite_differences(InnerOptimizer::Sgd, LrMode::PerTensor);
}

TEST(InnerLoop, EveryWeightAndRateGetsAFiniteNonZeroGradient) {
  for (LrMode mode : {LrMode::PerTensor, LrMode::PerLayer}) {
    MetaProblem p(InnerOptimizer::AdamW, mode, 2, 1e-3);
    p.inner.eps = 1e-8;  // the real default: zero-gradient rows (unused positions) hit safe_sqrt
    std::vector<torch::Tensor> grads = p.meta_gradient(InnerMode::SecondOrder);
    std::vector<WeightSpec> specs = gpt2_weight_specs(p.config);
    for (size_t i = 0; i < grads.size(); ++i) {
      const std::string name = i < specs.size() ? specs[i].name : "inner learning rates";
      ASSERT_TRUE(torch::isfinite(grads[i]).all().item<bool>()) << name;
      EXPECT_GT(grads[i].abs().sum().item<double>(), 0.0) << name;
    }
    // Every single rate entry (each group at each step), not only the table as a whole.
    EXPECT_TRUE((grads.back() != 0).all().item<bool>()) << enum_name(mode) << "\n" << grads.back();
  }
}

TEST(InnerLoop, FusedAdamWEqualsPlainOps) {
  // The fused AdamW node against the same update written as plain ops, at the real epsilon
  // (1e-8, where zero second moments and tiny gradients make the update's derivative sharp), in
  // both meta-gradient modes and with a rate large enough to move the weights far.
  for (InnerMode mode : {InnerMode::SecondOrder, InnerMode::FirstOrder}) {
    MetaProblem p(InnerOptimizer::AdamW, LrMode::PerLayer, 4, 0.03);
    p.inner.eps = 1e-8;
    p.inner.fused = true;
    std::vector<torch::Tensor> fused = p.meta_gradient(mode);
    p.inner.fused = false;
    std::vector<torch::Tensor> plain = p.meta_gradient(mode);
    ASSERT_EQ(fused.size(), plain.size());
    for (size_t i = 0; i < fused.size(); ++i) {
      EXPECT_TRUE(torch::allclose(fused[i], plain[i], 1e-9, 1e-12))
          << "tensor " << i << ", max difference " << (fused[i] - plain[i]).abs().max().item<double>();
    }
  }
}

TEST(InnerLoop, FusedAdamWEqualsPlainOpsWithTheStabilityOptions) {
  // eps_root in float64; the float64 update on float32 tensors (where both compute in float64 and
  // store float32, so they agree to float32's precision).
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerLayer, 4, 0.03);
  p.inner.eps = 1e-8;
  p.inner.eps_root = 1e-8;
  p.inner.fused = true;
  std::vector<torch::Tensor> fused = p.meta_gradient(InnerMode::SecondOrder);
  p.inner.fused = false;
  std::vector<torch::Tensor> plain = p.meta_gradient(InnerMode::SecondOrder);
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_TRUE(torch::allclose(fused[i], plain[i], 1e-9, 1e-12))
        << "eps_root, tensor " << i << ", max difference " << (fused[i] - plain[i]).abs().max().item<double>();
  }
  p.inner.eps_root = 0;
  p.inner.eps = 1e-3;  // well-conditioned: the fused node rounds its moments to float32 between steps, plain ops do not
  p.inner.float64_update = true;
  p.base = gpt2_map(p.base, [](const torch::Tensor& t) { return t.detach().to(torch::kFloat32).requires_grad_(true); });
  p.lrs.values = p.lrs.values.detach().to(torch::kFloat32).requires_grad_(true);
  p.inner.fused = true;
  fused = p.meta_gradient(InnerMode::SecondOrder);
  p.inner.fused = false;
  plain = p.meta_gradient(InnerMode::SecondOrder);
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_EQ(fused[i].scalar_type(), torch::kFloat32);
    EXPECT_LT(((fused[i] - plain[i]).norm() / plain[i].norm()).item<double>(), 1e-4)
        << "float64 update, tensor " << i;
  }
}

TEST(InnerLoop, FirstOrderSgdMatchesItsDefinition) {
  // First order, SGD without momentum or decay: w_N = w_0 - sum_k lr_k g_k with g_k constants,
  // so dL/dw_0 = dL/dw_N and dL/dlr[i][k] = -<dL/dw_N[i], g_k[i]>.
  MetaProblem p(InnerOptimizer::Sgd, LrMode::PerTensor, 3, 0.05);
  p.inner.momentum = 0;
  p.inner.weight_decay = 0;
  std::vector<torch::Tensor> grads = p.meta_gradient(InnerMode::FirstOrder);
  std::vector<torch::Tensor> dl_dwn = p.gradient_after(p.lrs.steps(), p.question);
  for (size_t i = 0; i < dl_dwn.size(); ++i) EXPECT_TRUE(torch::allclose(grads[i], dl_dwn[i], 1e-9, 1e-12));
  for (int64_t k = 0; k < p.lrs.steps(); ++k) {
    std::vector<torch::Tensor> g_k = p.gradient_after(k, p.facts);
    for (size_t i = 0; i < g_k.size(); ++i) {
      const double expected = -(dl_dwn[i] * g_k[i]).sum().item<double>();
      EXPECT_NEAR(grads.back()[i][k].item<double>(), expected, 1e-9 + 1e-7 * std::abs(expected));
    }
  }
}

TEST(InnerLoop, FirstOrderAdamWBaseGradientIsScaledByDecay) {
  // First order AdamW: w_{k+1} = w_k (1 - lr_k wd) - lr_k u_k with u_k constant, so
  // dL/dw_0 = dL/dw_N * prod_k (1 - lr_k wd).
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerTensor, 3, 0.05);
  p.inner.weight_decay = 0.5;
  std::vector<torch::Tensor> grads = p.meta_gradient(InnerMode::FirstOrder);
  std::vector<torch::Tensor> dl_dwn = p.gradient_after(p.lrs.steps(), p.question);
  const double factor = std::pow(1 - 0.05 * 0.5, 3);
  for (size_t i = 0; i < dl_dwn.size(); ++i) {
    EXPECT_TRUE(torch::allclose(grads[i], dl_dwn[i] * factor, 1e-9, 1e-12));
  }
  EXPECT_TRUE((grads.back() != 0).all().item<bool>());
}

TEST(InnerLoop, StaticRatesAreNotTrainable) {
  InnerLrs lrs = inner_lrs_init(tiny_config(), LrMode::Static, 4, 1e-5, false);
  EXPECT_FALSE(lrs.values.requires_grad());
  EXPECT_EQ(lrs.values.sizes(), (std::vector<int64_t>{1, 4}));
  InnerLrs learned = inner_lrs_init(tiny_config(), LrMode::PerLayer, 4, 1e-5, false);
  EXPECT_TRUE(learned.values.requires_grad());
  EXPECT_EQ(learned.values.sizes(), (std::vector<int64_t>{4, 4}));  // embeddings, h.0, h.1, ln_f
}

TEST(InnerLoop, ZeroStepsIsThePlainModel) {
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerLayer, 0, 1e-3);
  InnerResult r = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::SecondOrder, false);
  EXPECT_TRUE(r.trace.empty());
  std::vector<torch::Tensor> a = decoder_flatten(r.weights), b = decoder_flatten(p.base);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i].is_same(b[i]));
}

TEST(InnerLoop, InnerLossFallsOnTheFacts) {
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerLayer, 6, 5e-2);
  p.inner.eps = 1e-8;
  InnerResult r = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false);
  ASSERT_EQ(r.trace.size(), 6u);
  for (size_t k = 1; k < r.trace.size(); ++k) EXPECT_LT(r.trace[k].loss, r.trace[k - 1].loss);
  const double after = masked_lm_loss(p.config, r.weights, p.facts, false).item<double>();
  EXPECT_LT(after, 0.7 * r.trace[0].loss);
  EXPECT_NEAR(r.trace[0].lr_mean, 5e-2, 1e-12);
}

TEST(InnerLoop, EvaluateModeKeepsNoGraphAndAgreesWithTraining) {
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerTensor, 3, 1e-2);
  InnerResult train = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::SecondOrder, false);
  InnerResult eval = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false);
  // First order: the same gradients and the same fused step's arithmetic (adamw_step_values), so
  // the same weights to the bit.
  InnerResult first = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::FirstOrder, false);
  std::vector<torch::Tensor> a = decoder_flatten(train.weights), b = decoder_flatten(eval.weights),
                             c = decoder_flatten(first.weights);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_FALSE(b[i].requires_grad());
    EXPECT_TRUE(torch::allclose(a[i].detach(), b[i], 1e-12, 1e-14));
    EXPECT_TRUE(torch::equal(c[i].detach(), b[i])) << i;
  }
  EXPECT_TRUE(a[0].grad_fn() != nullptr);
}

TEST(InnerLoop, AdaptPatternLeavesOtherWeightsAlone) {
  MetaProblem p(InnerOptimizer::AdamW, LrMode::PerTensor, 2, 1e-2);
  p.inner.adapt = "^h\\.1\\.mlp";
  InnerResult r = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::SecondOrder, false);
  std::vector<torch::Tensor> a = decoder_flatten(r.weights), b = decoder_flatten(p.base);
  std::vector<WeightSpec> specs = gpt2_weight_specs(p.config);
  for (size_t i = 0; i < a.size(); ++i) {
    const bool adapted = specs[i].name.rfind("h.1.mlp", 0) == 0;
    EXPECT_EQ(!a[i].is_same(b[i]), adapted) << specs[i].name;
  }
  p.inner.adapt = "(";
  EXPECT_THAT([&] { inner_adapted_mask(p.config, p.inner); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("inner.adapt: expected a valid regular expression")));
  p.inner.adapt = "^nothing";
  EXPECT_THAT([&] { inner_adapted_mask(p.config, p.inner); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("which matches none")));
}

TEST(InnerLoop, GradientClippingBoundsTheStep) {
  MetaProblem p(InnerOptimizer::Sgd, LrMode::PerTensor, 1, 1.0);
  p.inner.momentum = 0;
  p.inner.weight_decay = 0;
  p.inner.grad_clip = 1e-3;
  InnerResult r = inner_loop(p.config, p.base, p.lrs, p.inner, p.facts, InnerMode::Evaluate, false);
  double sq = 0;
  std::vector<torch::Tensor> a = decoder_flatten(r.weights), b = decoder_flatten(p.base);
  for (size_t i = 0; i < a.size(); ++i) sq += (a[i] - b[i].detach()).pow(2).sum().item<double>();
  EXPECT_GT(r.trace[0].grad_norm, 1e-3);
  EXPECT_NEAR(std::sqrt(sq), 1e-3, 1e-8);  // lr 1 x clipped gradient of norm 1e-3
}
