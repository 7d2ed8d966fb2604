// The tied-head cross entropy (head_loss.h) against the same loss written as plain ops
// (matmul + cross_entropy_loss), float64: the values, the first derivatives, and the second
// derivatives a second-order inner loop takes (the gradient of <dL/dh, u> + <dL/dW, U> with
// respect to h, W and the per-row weights), including a W that also enters elsewhere.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "reckoning/model/head_loss.h"

using namespace reckoning;

namespace {

struct Problem {
  torch::Tensor h, W, w, targets, u, U;
  // N rows, V classes; a V of 2^18 makes the loss work in blocks of 4 rows.
  explicit Problem(int64_t N = 7, int64_t V = 13) {
    torch::manual_seed(11);
    const auto f64 = torch::dtype(torch::kFloat64);
    h = torch::randn({N, 5}, f64).requires_grad_(true);
    W = torch::randn({V, 5}, f64).requires_grad_(true);
    w = torch::rand({N}, f64).requires_grad_(true);  // per-row weights, themselves differentiable
    targets = torch::randint(V, {N}, torch::kLong);
    u = torch::randn({N, 5}, f64);
    U = torch::randn({V, 5}, f64);
  }
};

// Returns the loss, its first derivatives (h, W, w) and the second-order gradients of
// Phi = <dL/dh, u> + <dL/dW, U> + <dL/dw, 1> with respect to (h, W, w).
std::vector<torch::Tensor> derivatives(Problem& p, bool fused) {
  // W also feeds a second path (as the embedding table does), so its gradient has two parts.
  torch::Tensor ce = fused ? tied_head_cross_entropy(p.h, p.W, p.targets)
                           : torch::cross_entropy_loss(torch::matmul(p.h, p.W.t()), p.targets, {},
                                                       at::Reduction::None);
  torch::Tensor loss = (ce * p.w).sum() + (p.W.sum(1) * p.W.sum(1)).sum() * 0.01;
  std::vector<torch::Tensor> g = torch::autograd::grad({loss}, {p.h, p.W, p.w}, {}, true, true);
  torch::Tensor phi = (g[0] * p.u).sum() + (g[1] * p.U).sum() + g[2].sum();
  std::vector<torch::Tensor> gg = torch::autograd::grad({phi}, {p.h, p.W, p.w});
  return {loss.detach(), g[0].detach(), g[1].detach(), g[2].detach(), gg[0], gg[1], gg[2]};
}

TEST(TiedHeadCrossEntropy, EqualsPlainOpsToSecondOrder) {
  // One block of rows, and 10 rows over V = 2^18 classes: three blocks of 4, 4 and 2 rows.
  for (const auto& [N, V] : {std::pair<int64_t, int64_t>{7, 13}, std::pair<int64_t, int64_t>{10, int64_t{1} << 18}}) {
    Problem a(N, V), b(N, V);
    const std::vector<torch::Tensor> fused = derivatives(a, true), plain = derivatives(b, false);
    const char* names[] = {"loss", "dL/dh", "dL/dW", "dL/dw", "d2/dh", "d2/dW", "d2/dw"};
    for (size_t i = 0; i < fused.size(); ++i) {
      EXPECT_TRUE(torch::allclose(fused[i], plain[i], 1e-10, 1e-12))
          << names[i] << " (V = " << V << "): max difference " << (fused[i] - plain[i]).abs().max().item<double>();
    }
  }
}

// A frozen head (W without grad, as with LoRA adapters over a frozen base): the same first and
// second derivatives with respect to h and the row weights, and no gradient for W.
TEST(TiedHeadCrossEntropy, AFrozenHeadHasTheSameDerivativesAndNoneOfItsOwn) {
  for (const bool fused : {true, false}) {
    Problem p(10, int64_t{1} << 18);
    p.W = p.W.detach();
    torch::Tensor ce = fused ? tied_head_cross_entropy(p.h, p.W, p.targets)
                             : torch::cross_entropy_loss(torch::matmul(p.h, p.W.t()), p.targets, {}, at::Reduction::None);
    std::vector<torch::Tensor> g = torch::autograd::grad({(ce * p.w).sum()}, {p.h, p.w}, {}, true, true);
    torch::Tensor phi = (g[0] * p.u).sum() + g[1].sum();
    std::vector<torch::Tensor> gg = torch::autograd::grad({phi}, {p.h, p.w});
    static std::vector<torch::Tensor> reference;
    const std::vector<torch::Tensor> got{g[0].detach(), g[1].detach(), gg[0], gg[1]};
    if (!fused) {
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_TRUE(torch::allclose(reference[i], got[i], 1e-10, 1e-12))
            << i << ": max difference " << (reference[i] - got[i]).abs().max().item<double>();
      }
    }
    reference = got;
  }
}

TEST(TiedHeadCrossEntropy, RefusesMismatchedShapes) {
  Problem p;
  EXPECT_THROW(tied_head_cross_entropy(p.h, p.W.slice(1, 0, 4), p.targets), c10::Error);
  EXPECT_THROW(tied_head_cross_entropy(p.h, p.W, p.targets.slice(0, 0, 3)), c10::Error);
}

}  // namespace
