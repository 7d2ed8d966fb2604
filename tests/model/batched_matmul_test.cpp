// batched_matmul (batched_matmul.h) against torch::matmul: values for contiguous, transposed,
// permuted and expanded operands and empty shapes; first and second derivatives in float64 (the
// inner loop differentiates attention twice); results independent of the thread count; the cases
// it leaves to torch::matmul.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include "reckoning/model/batched_matmul.h"

using namespace reckoning;

namespace {

const auto kF64 = torch::dtype(torch::kFloat64);

struct Case {
  const char* what;
  torch::Tensor a, b;
};

std::vector<Case> cases() {
  torch::manual_seed(11);
  std::vector<Case> out;
  out.push_back({"contiguous (B, H, M, K) x (B, H, K, N)", torch::randn({2, 3, 5, 4}, kF64), torch::randn({2, 3, 4, 6}, kF64)});
  // Attention's scores: q (B, T, H, D) viewed as (B, H, T, D), times k transposed.
  torch::Tensor q = torch::randn({2, 7, 3, 4}, kF64).transpose(1, 2), k = torch::randn({2, 7, 3, 4}, kF64).transpose(1, 2);
  out.push_back({"permuted a, transposed b (scores)", q, k.transpose(-2, -1)});
  out.push_back({"transposed a", torch::randn({4, 6, 5}, kF64).transpose(-2, -1), torch::randn({4, 6, 3}, kF64)});
  out.push_back({"expanded batch (stride 0)", torch::randn({1, 5, 4}, kF64).expand({3, 5, 4}), torch::randn({3, 4, 2}, kF64)});
  out.push_back({"one row, one column", torch::randn({3, 1, 8}, kF64), torch::randn({3, 8, 1}, kF64)});
  return out;
}

TEST(BatchedMatmul, ValuesEqualMatmul) {
  for (const Case& c : cases()) {
    ASSERT_TRUE(small_batched_matmul_applies(c.a, c.b)) << c.what;
    const torch::Tensor ours = batched_matmul(c.a, c.b), theirs = torch::matmul(c.a, c.b);
    ASSERT_EQ(ours.sizes(), theirs.sizes()) << c.what;
    EXPECT_TRUE(torch::allclose(ours, theirs, 1e-13, 1e-13)) << c.what << ": " << (ours - theirs).abs().max().item<double>();
  }
  // Float32 too (the training dtype), at the facts' attention size of the README's main job.
  torch::Tensor a = torch::randn({8, 5, 16}), b = torch::randn({8, 16, 5});
  ASSERT_TRUE(small_batched_matmul_applies(a, b));
  EXPECT_TRUE(torch::allclose(batched_matmul(a, b), torch::matmul(a, b), 1e-5, 1e-5));
}

TEST(BatchedMatmul, EmptyShapes) {
  torch::Tensor zero_k = batched_matmul(torch::randn({2, 3, 0}, kF64), torch::randn({2, 0, 4}, kF64));
  EXPECT_EQ(zero_k.sizes(), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(zero_k.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(batched_matmul(torch::randn({0, 3, 2}, kF64), torch::randn({0, 2, 4}, kF64)).sizes(),
            (std::vector<int64_t>{0, 3, 4}));
}

// y = a b; first derivatives for an upstream gradient go, then the second-order terms of
// <(da, db), (ra, rb)> with respect to a, b and go.
std::vector<torch::Tensor> derivatives(bool ours, const Case& c, const torch::Tensor& go0, const torch::Tensor& ra,
                                       const torch::Tensor& rb) {
  torch::Tensor a = c.a.detach().clone().requires_grad_(true), b = c.b.detach().clone().requires_grad_(true);
  torch::Tensor go = go0.clone().requires_grad_(true);
  torch::Tensor y = ours ? batched_matmul(a, b) : torch::matmul(a, b);
  std::vector<torch::Tensor> first = torch::autograd::grad({y}, {a, b}, {go}, /*retain_graph=*/true, /*create_graph=*/true);
  std::vector<torch::Tensor> second = torch::autograd::grad({(first[0] * ra).sum() + (first[1] * rb).sum()}, {a, b, go});
  return {y.detach(), first[0].detach(), first[1].detach(), second[0], second[1], second[2]};
}

TEST(BatchedMatmul, FirstAndSecondDerivativesEqualMatmuls) {
  const char* what[] = {"value", "d a", "d b", "second order (a)", "second order (b)", "second order (upstream)"};
  for (const Case& c : cases()) {
    torch::Tensor y = torch::matmul(c.a, c.b);
    torch::Tensor go = torch::randn_like(y), ra = torch::randn(c.a.sizes(), kF64), rb = torch::randn(c.b.sizes(), kF64);
    const auto ours = derivatives(true, c, go, ra, rb), theirs = derivatives(false, c, go, ra, rb);
    for (size_t i = 0; i < ours.size(); ++i) {
      EXPECT_GT(theirs[i].abs().sum().item<double>(), 0.0) << c.what << ", " << what[i];
      EXPECT_TRUE(torch::allclose(ours[i], theirs[i], 1e-12, 1e-12))
          << c.what << ", " << what[i] << ": " << (ours[i] - theirs[i]).abs().max().item<double>();
    }
  }
}

TEST(BatchedMatmul, ResultsDoNotDependOnTheThreadCount) {
  torch::manual_seed(5);
  torch::Tensor a = torch::randn({64, 5, 16}), b = torch::randn({64, 16, 5});
  const int before = at::get_num_threads();
  at::set_num_threads(1);
  const torch::Tensor one = batched_matmul(a, b);
  at::set_num_threads(2);
  const torch::Tensor two = batched_matmul(a, b);
  at::set_num_threads(before);
  EXPECT_TRUE(torch::equal(one, two));
}

TEST(BatchedMatmul, OtherCasesAreTorchMatmul) {
  torch::manual_seed(2);
  const int64_t side = 64;  // 64^3 > kSmallMatmulVolume
  ASSERT_GT(side * side * side, kSmallMatmulVolume);
  std::vector<Case> others{
      {"large matrices", torch::randn({2, side, side}), torch::randn({2, side, side})},
      {"broadcast batch", torch::randn({1, 3, 4}), torch::randn({5, 4, 2})},
      {"2-D", torch::randn({3, 4}), torch::randn({4, 2})},
      {"bfloat16", torch::randn({2, 3, 4}).to(torch::kBFloat16), torch::randn({2, 4, 2}).to(torch::kBFloat16)},
      {"mixed dtypes", torch::randn({2, 3, 4}, kF64), torch::randn({2, 4, 2})},
  };
  for (const Case& c : others) {
    EXPECT_FALSE(small_batched_matmul_applies(c.a, c.b)) << c.what;
    if (c.a.scalar_type() != c.b.scalar_type()) {
      EXPECT_THROW(batched_matmul(c.a, c.b), c10::Error) << c.what;  // as torch::matmul
      continue;
    }
    EXPECT_TRUE(torch::equal(batched_matmul(c.a, c.b), torch::matmul(c.a, c.b))) << c.what;
  }
}

}  // namespace
