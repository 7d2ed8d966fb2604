// The inner loop's fused differentiable AdamW step (inner_loop.cpp uses it when inner.fused).
//
//   p' = p (1 - lr wd) - lr / (1 - b1^n) * m / (sqrt(v) / sqrt(1 - b2^n) + eps)
//
// with (m, v) Adam's moments after the gradient history g_1..g_n of this tensor. One autograd node
// per tensor and step keeps only its inputs (p, which the next forward keeps anyway, and the
// history) and recomputes the moments in its backward, instead of about ten parameter-sized
// intermediates that the same update written as plain ops keeps for the outer backward. Forward and
// backward each run as one pass over the elements (a blocked loop the compiler vectorises, split
// over LibTorch's intra-op threads) instead of one tensor op per term. The backward is first order:
// the outer loss is differentiated once, no inner gradient is ever taken through an update.
// float32, float64 and bfloat16 (computed in float32) tensors.
#pragma once

#include <torch/torch.h>

namespace reckoning {

struct AdamWHyper {
  double beta1, beta2, eps, weight_decay;
};

// p (any shape), lr (0-dim, may require grad), grads = g_1..g_n (p's shape, may require grad).
torch::Tensor adamw_step_fused(const torch::Tensor& p, const torch::Tensor& lr, torch::TensorList grads,
                               const AdamWHyper& hyper);

}  // namespace reckoning
