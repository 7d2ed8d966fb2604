// Finite-difference checks of the GPT-2 forward pass in float64: first derivatives of a scalar
// loss w.r.t. every weight tensor (directional derivatives), and second derivatives (Hessian-vector
// products through autograd with create_graph, as the inner loop uses them) against finite
// differences of gradients. Also: the GELU and LayerNorm double backward in isolation, the dropout
// switch, float32/float64, gpt2_init statistics and determinism per seed.
#include <cmath>

#include <gtest/gtest.h>

#include "reckoning/model/gpt2.h"
#include "support/test_util.h"

using namespace reckoning;

namespace {

Gpt2Config tiny_config() {
  Gpt2Config c;
  c.n_vocab = 23;
  c.n_ctx = 12;
  c.n_embd = 8;
  c.n_head = 2;
  c.n_layer = 2;
  c.bos_token_id = c.eos_token_id = 22;
  return c;
}

// Float64 weights away from the init (gains != 1, biases != 0, larger matrices), so that every
// term has a visible derivative.
Gpt2Weights random_weights(const Gpt2Config& c, uint64_t seed) {
  Gpt2Weights w = gpt2_init(c, seed, torch::kFloat64);
  torch::manual_seed(seed);
  return gpt2_map(w, [](const torch::Tensor& t) {
    if (t.dim() == 2) return (torch::randn_like(t) * 0.4).detach();
    return (t + 0.2 * torch::randn_like(t)).detach();
  });
}

struct Batch {
  torch::Tensor ids;   // (B, T)
  torch::Tensor mask;  // (B, T), right padding
};

Batch padded_batch(const Gpt2Config& c) {
  torch::manual_seed(7);
  Batch b;
  b.ids = torch::randint(c.n_vocab, {2, 6}, torch::dtype(torch::kLong));
  b.mask = torch::ones({2, 6}, torch::dtype(torch::kLong));
  b.mask.index_put_({1, torch::indexing::Slice(4, torch::indexing::None)}, 0);
  b.ids.index_put_({1, torch::indexing::Slice(4, torch::indexing::None)}, c.eos_token_id);
  return b;
}

torch::Tensor loss_of(const Gpt2Config& c, const std::vector<torch::Tensor>& flat, const Batch& b) {
  torch::Tensor logits = gpt2_forward(c, gpt2_unflatten(c, flat), b.ids, b.mask, /*dropout=*/false);
  return test::next_token_loss(logits, b.ids, b.mask);
}

std::vector<torch::Tensor> with_grad(const std::vector<torch::Tensor>& flat) {
  std::vector<torch::Tensor> out;
  for (const auto& t : flat) out.push_back(t.detach().clone().requires_grad_(true));
  return out;
}

// flat + s * dir, detached.
std::vector<torch::Tensor> shifted(const std::vector<torch::Tensor>& flat,
                                   const std::vector<torch::Tensor>& dir, double s) {
  std::vector<torch::Tensor> out;
  for (size_t i = 0; i < flat.size(); ++i) out.push_back((flat[i] + s * dir[i]).detach());
  return out;
}

// A random direction that is zero except in tensor `only` (or everywhere when only < 0).
std::vector<torch::Tensor> direction(const std::vector<torch::Tensor>& flat, int64_t only) {
  std::vector<torch::Tensor> dir;
  for (size_t i = 0; i < flat.size(); ++i) {
    dir.push_back(only < 0 || static_cast<int64_t>(i) == only ? torch::randn_like(flat[i])
                                                              : torch::zeros_like(flat[i]));
  }
  return dir;
}

std::vector<torch::Tensor> gradient(const Gpt2Config& c, const std::vector<torch::Tensor>& flat,
                                    const Batch& b) {
  std::vector<torch::Tensor> w = with_grad(flat);
  return torch::autograd::grad({loss_of(c, w, b)}, w);
}

double dot(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (a[i] * b[i]).sum().item<double>();
  return s;
}

}  // namespace

TEST(Gpt2GradCheck, FirstDerivativesOfEveryWeightMatchFiniteDifferences) {
  const Gpt2Config c = tiny_config();
  const std::vector<torch::Tensor> flat = gpt2_flatten(random_weights(c, 1));
  const Batch b = padded_batch(c);
  const std::vector<torch::Tensor> g = gradient(c, flat, b);
  const std::vector<WeightSpec> specs = gpt2_weight_specs(c);
  const double eps = 1e-5;
  torch::manual_seed(11);
  for (size_t i = 0; i < flat.size(); ++i) {
    std::vector<torch::Tensor> d = direction(flat, static_cast<int64_t>(i));
    const double analytic = dot(g, d);
    const double numeric = (loss_of(c, shifted(flat, d, eps), b).item<double>() -
                            loss_of(c, shifted(flat, d, -eps), b).item<double>()) / (2 * eps);
    EXPECT_GT(std::abs(analytic), 1e-6) << specs[i].name << ": vacuous check, zero derivative";
    EXPECT_NEAR(analytic, numeric, 1e-7 * (1 + std::abs(numeric))) << specs[i].name;
  }
}

// Hessian-vector product H v = d/dw (g(w) . v) against (g(w + eps v) - g(w - eps v)) / (2 eps),
// first with v over all weights, then with v inside one tensor at a time (so that every tensor's
// second derivatives are seen on their own, not hidden under larger terms).
TEST(Gpt2GradCheck, HessianVectorProductsMatchFiniteDifferencesOfGradients) {
  const Gpt2Config c = tiny_config();
  const std::vector<torch::Tensor> flat = gpt2_flatten(random_weights(c, 2));
  const Batch b = padded_batch(c);
  const std::vector<WeightSpec> specs = gpt2_weight_specs(c);
  const double eps = 1e-5;
  torch::manual_seed(12);
  for (int64_t only = -1; only < static_cast<int64_t>(flat.size()); ++only) {
    const std::string what = only < 0 ? std::string("all weights") : specs[only].name;
    std::vector<torch::Tensor> v = direction(flat, only);
    std::vector<torch::Tensor> w = with_grad(flat);
    std::vector<torch::Tensor> g = torch::autograd::grad({loss_of(c, w, b)}, w, {},
                                                         /*retain_graph=*/true, /*create_graph=*/true);
    torch::Tensor gv = torch::zeros({}, torch::kFloat64);
    for (size_t i = 0; i < g.size(); ++i) gv = gv + (g[i] * v[i]).sum();
    std::vector<torch::Tensor> hv = torch::autograd::grad({gv}, w, {}, /*retain_graph=*/false,
                                                          /*create_graph=*/false, /*allow_unused=*/true);
    std::vector<torch::Tensor> g_plus = gradient(c, shifted(flat, v, eps), b);
    std::vector<torch::Tensor> g_minus = gradient(c, shifted(flat, v, -eps), b);
    double largest = 0;
    for (size_t i = 0; i < flat.size(); ++i) {
      torch::Tensor numeric = (g_plus[i] - g_minus[i]) / (2 * eps);
      torch::Tensor analytic = hv[i].defined() ? hv[i] : torch::zeros_like(numeric);
      const double scale = 1 + numeric.abs().max().item<double>();
      EXPECT_LT((analytic - numeric).abs().max().item<double>(), 1e-6 * scale)
          << "d/d " << specs[i].name << " of (g . v), v in " << what;
      largest = std::max(largest, analytic.abs().max().item<double>());
    }
    EXPECT_GT(largest, 1e-4) << "v in " << what << ": vacuous check, zero Hessian-vector product";
  }
}

// The ops whose double backward LibTorch might get wrong, alone: tanh GELU (compared with the same
// formula written in plain ops) and LayerNorm (against finite differences of its gradient).
TEST(Gpt2GradCheck, GeluTanhDoubleBackwardMatchesPlainOps) {
  torch::manual_seed(3);
  torch::Tensor x = (2 * torch::randn({64}, torch::kFloat64)).requires_grad_(true);
  torch::Tensor u = torch::randn({64}, torch::kFloat64);
  auto second = [&](const torch::Tensor& y) {
    torch::Tensor g = torch::autograd::grad({(y * u).sum()}, {x}, {}, true, true)[0];
    return torch::autograd::grad({(g * g).sum()}, {x})[0];
  };
  const double k = std::sqrt(2.0 / M_PI);
  torch::Tensor plain = 0.5 * x * (1 + torch::tanh(k * (x + 0.044715 * x.pow(3))));
  torch::Tensor fused = torch::gelu(x, "tanh");
  EXPECT_TRUE(torch::allclose(fused, plain, 1e-12, 1e-14));
  EXPECT_TRUE(torch::allclose(second(fused), second(plain), 1e-10, 1e-12));
}

TEST(Gpt2GradCheck, LayerNormDoubleBackwardMatchesFiniteDifferences) {
  torch::manual_seed(4);
  const int64_t C = 8;
  torch::Tensor x = torch::randn({3, C}, torch::kFloat64).requires_grad_(true);
  torch::Tensor gamma = (1 + 0.3 * torch::randn({C}, torch::kFloat64)).requires_grad_(true);
  torch::Tensor beta = (0.3 * torch::randn({C}, torch::kFloat64)).requires_grad_(true);
  torch::Tensor u = torch::randn({3, C}, torch::kFloat64);
  std::vector<torch::Tensor> inputs{x, gamma, beta};
  // f = sum(LN(x) * u)^2-ish; gradient grad_f(inputs) then H v by autograd vs finite differences.
  auto grads = [&](const std::vector<torch::Tensor>& in, bool create) {
    torch::Tensor y = torch::layer_norm(in[0], {C}, in[1], in[2], 1e-5);
    torch::Tensor f = (y * u).sum().pow(2) + (y * y * u).sum();
    return torch::autograd::grad({f}, in, {}, create, create, /*allow_unused=*/true);
  };
  std::vector<torch::Tensor> v{torch::randn_like(x), torch::randn_like(gamma), torch::randn_like(beta)};
  std::vector<torch::Tensor> g = grads(inputs, true);
  torch::Tensor gv = (g[0] * v[0]).sum() + (g[1] * v[1]).sum() + (g[2] * v[2]).sum();
  std::vector<torch::Tensor> hv = torch::autograd::grad({gv}, inputs, {}, false, false, true);
  const double eps = 1e-6;
  auto at = [&](double s) {
    std::vector<torch::Tensor> in;
    for (size_t i = 0; i < 3; ++i) in.push_back((inputs[i] + s * v[i]).detach().requires_grad_(true));
    return grads(in, false);
  };
  std::vector<torch::Tensor> plus = at(eps), minus = at(-eps);
  for (size_t i = 0; i < 3; ++i) {
    torch::Tensor numeric = (plus[i] - minus[i]) / (2 * eps);
    ASSERT_TRUE(hv[i].defined()) << "input " << i;
    EXPECT_TRUE(torch::allclose(hv[i], numeric, 1e-6, 1e-7)) << "input " << i;
  }
}

TEST(Gpt2ForwardModes, DropoutSwitch) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w = random_weights(c, 5);
  const Batch b = padded_batch(c);
  torch::Tensor off1 = gpt2_forward(c, w, b.ids, b.mask, false);
  torch::Tensor off2 = gpt2_forward(c, w, b.ids, b.mask, false);
  EXPECT_TRUE(torch::equal(off1, off2));
  torch::manual_seed(9);
  torch::Tensor on1 = gpt2_forward(c, w, b.ids, b.mask, true);
  torch::Tensor on2 = gpt2_forward(c, w, b.ids, b.mask, true);
  EXPECT_GT((on1 - off1).abs().max().item<double>(), 1e-3);
  EXPECT_GT((on1 - on2).abs().max().item<double>(), 1e-3);
  torch::manual_seed(9);
  EXPECT_TRUE(torch::equal(gpt2_forward(c, w, b.ids, b.mask, true), on1));  // seeded: reproducible
  // All dropout rates 0: dropout=true changes nothing.
  Gpt2Config no_drop = c;
  no_drop.embd_pdrop = no_drop.attn_pdrop = no_drop.resid_pdrop = 0;
  EXPECT_TRUE(torch::equal(gpt2_forward(no_drop, w, b.ids, b.mask, true), off1));
}

TEST(Gpt2ForwardModes, Float32AndFloat64Agree) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w64 = random_weights(c, 6);
  const Gpt2Weights w32 = gpt2_map(w64, [](const torch::Tensor& t) { return t.to(torch::kFloat32); });
  const Batch b = padded_batch(c);
  torch::Tensor l64 = gpt2_forward(c, w64, b.ids, b.mask, false);
  torch::Tensor l32 = gpt2_forward(c, w32, b.ids, b.mask, false);
  EXPECT_EQ(l64.scalar_type(), torch::kFloat64);
  EXPECT_EQ(l32.scalar_type(), torch::kFloat32);
  EXPECT_TRUE(torch::allclose(l32.to(torch::kFloat64), l64, 1e-4, 1e-5));
  // Gradients flow in float32 too.
  std::vector<torch::Tensor> flat = with_grad(gpt2_flatten(w32));
  std::vector<torch::Tensor> g = torch::autograd::grad({loss_of(c, flat, b)}, flat);
  for (const auto& t : g) EXPECT_EQ(t.scalar_type(), torch::kFloat32);
}

TEST(Gpt2Init, StatisticsFollowGpt2) {
  Gpt2Config c;
  c.n_vocab = 500;
  c.n_ctx = 64;
  c.n_embd = 64;
  c.n_head = 4;
  c.n_layer = 4;
  c.bos_token_id = c.eos_token_id = 0;
  const Gpt2Weights w = gpt2_init(c, 123);
  const std::vector<WeightSpec> specs = gpt2_weight_specs(c);
  const std::vector<torch::Tensor> flat = gpt2_flatten(w);
  const double residual_std = 0.02 / std::sqrt(2.0 * c.n_layer);
  for (size_t i = 0; i < specs.size(); ++i) {
    const std::string& name = specs[i].name;
    const torch::Tensor& t = flat[i];
    EXPECT_EQ(t.scalar_type(), torch::kFloat32) << name;
    EXPECT_FALSE(t.requires_grad()) << name;
    if (t.dim() == 2) {
      const double expected = specs[i].residual_projection ? residual_std : 0.02;
      EXPECT_NEAR(t.std().item<double>(), expected, 0.05 * expected) << name;
      EXPECT_NEAR(t.mean().item<double>(), 0.0, 5 * expected / std::sqrt(t.numel())) << name;
    } else if (name.find("ln_") != std::string::npos && name.size() > 7 &&
               name.compare(name.size() - 7, 7, ".weight") == 0) {
      EXPECT_TRUE(torch::equal(t, torch::ones_like(t))) << name;
    } else {
      EXPECT_TRUE(torch::equal(t, torch::zeros_like(t))) << name;
    }
  }
  EXPECT_TRUE(specs[6].residual_projection);  // h.0.attn.c_proj.weight
  EXPECT_EQ(specs[6].name, "h.0.attn.c_proj.weight");
}

TEST(Gpt2Init, DeterministicPerSeed) {
  const Gpt2Config c = tiny_config();
  const std::vector<torch::Tensor> a = gpt2_flatten(gpt2_init(c, 42));
  const std::vector<torch::Tensor> b = gpt2_flatten(gpt2_init(c, 42));
  const std::vector<torch::Tensor> other = gpt2_flatten(gpt2_init(c, 43));
  torch::manual_seed(999);  // the global generator does not matter
  const std::vector<torch::Tensor> again = gpt2_flatten(gpt2_init(c, 42));
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::equal(a[i], b[i]));
    EXPECT_TRUE(torch::equal(a[i], again[i]));
    if (a[i].dim() == 2) {
      EXPECT_FALSE(torch::equal(a[i], other[i]));
    }
  }
  const std::vector<torch::Tensor> d = gpt2_flatten(gpt2_init(c, 42, torch::kFloat64));
  // float64 draws its own numbers (not the float32 ones widened), deterministically too.
  EXPECT_EQ(d[0].scalar_type(), torch::kFloat64);
  EXPECT_TRUE(torch::equal(d[0], gpt2_flatten(gpt2_init(c, 42, torch::kFloat64))[0]));
}
