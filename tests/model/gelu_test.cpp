// gelu_tanh (gelu.h) against LibTorch's gelu(x, "tanh") and its autograd, in float64: the value,
// the first derivative and both second-order terms (w.r.t. x and w.r.t. the upstream gradient), over
// inputs from -12 to 12 (tanh saturates) and at 0; a third derivative is refused.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "reckoning/model/gelu.h"

using namespace reckoning;

namespace {

std::vector<torch::Tensor> first_and_second(bool ours, const torch::Tensor& x0, const torch::Tensor& go0,
                                            const torch::Tensor& r) {
  torch::Tensor x = x0.clone().requires_grad_(true), go = go0.clone().requires_grad_(true);
  torch::Tensor y = ours ? gelu_tanh(x) : torch::gelu(x, "tanh");
  torch::Tensor gx = torch::autograd::grad({y}, {x}, {go}, /*retain_graph=*/true, /*create_graph=*/true)[0];
  std::vector<torch::Tensor> second = torch::autograd::grad({(gx * r).sum()}, {x, go});
  return {y.detach(), gx.detach(), second[0], second[1]};
}

TEST(Gelu, ValueAndTwoDerivativesEqualLibTorchs) {
  torch::manual_seed(3);
  const auto f64 = torch::dtype(torch::kFloat64);
  torch::Tensor x = torch::cat({torch::linspace(-12, 12, 97, f64), torch::randn({64}, f64), torch::zeros({1}, f64)})
                        .view({2, -1});
  torch::Tensor go = torch::randn_like(x), r = torch::randn_like(x);
  const auto ours = first_and_second(true, x, go, r), theirs = first_and_second(false, x, go, r);
  const char* what[] = {"value", "first derivative", "second order (x)", "second order (upstream)"};
  for (size_t i = 0; i < ours.size(); ++i) {
    EXPECT_GT(theirs[i].abs().sum().item<double>(), 0.0) << what[i];
    EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-12, 1e-14))
        << what[i] << ", max difference " << (ours[i] - theirs[i]).abs().max().item<double>();
  }
}

TEST(Gelu, AThirdDerivativeIsRefused) {
  torch::Tensor x = torch::randn({5}, torch::kFloat64).requires_grad_(true);
  torch::Tensor gx = torch::autograd::grad({gelu_tanh(x).sum()}, {x}, {}, true, true)[0];
  EXPECT_THROW(torch::autograd::grad({gx.sum()}, {x}, {}, true, /*create_graph=*/true), c10::Error);
}

}  // namespace
