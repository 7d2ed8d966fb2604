// The inner loop's fused differentiable AdamW step (inner_loop.cpp uses it when inner.fused).
//
//   p' = p (1 - lr wd) - lr / (1 - b1^n) * m / (sqrt(v) / sqrt(1 - b2^n) + eps)
//
// with (m, v) Adam's moments after the gradient history g_1..g_n of this tensor. One autograd node
// per tensor and step keeps only p (which the next forward keeps anyway), the rate and the history,
// and recomputes the moments in its backward, instead of about ten parameter-sized intermediates
// that the same update written as plain ops keeps for the outer backward. The node also outputs the
// new moments (the next step's forward reads them instead of the history; nobody keeps them), so in
// the outer backward the moments' gradients travel from step to step as two tensors and each step
// returns four parameter-sized gradients (p, m, v, g_n), not one per earlier inner gradient. Forward and
// backward each run as one pass over the elements (a blocked loop the compiler vectorises, split
// over LibTorch's intra-op threads) instead of one tensor op per term. The backward is first order:
// the outer loss is differentiated once, no inner gradient is ever taken through an update.
// float32, float64 and bfloat16 (computed in float32, or float64 with AdamWHyper::float64) tensors.
//
// On other devices (a GPU) the same node runs as tensor operations: the same saved tensors and
// moment carrying (so the same memory), and the rate stays a device tensor (no host read, so no
// synchronisation per tensor and step).
#pragma once

#include <torch/torch.h>

namespace reckoning {

// eps_root: Adam's denominator is sqrt(v / (1 - beta2^n) + eps_root) + eps (optax's eps_root); 0
// is torch's AdamW. A positive eps_root bounds the update's derivative w.r.t. a tiny gradient by
// about 1 / sqrt(eps_root) instead of 1 / eps, and keeps it smooth where the gradient is zero.
// float64: compute the update and its derivatives in float64 whatever the tensors' type (they are
// stored in it): the derivative's two large terms, which cancel for elements whose gradient is
// much larger than eps, no longer leave float32 rounding as the result (docs/TRAINING.md).
struct AdamWHyper {
  double beta1, beta2, eps, weight_decay;
  double eps_root = 0;
  bool float64 = false;
};

// Adam's moments of one tensor after some steps; undefined before the first.
struct AdamWMoments {
  torch::Tensor m, v;
};

struct AdamWStepResult {
  torch::Tensor p;         // the updated tensor
  AdamWMoments moments;    // after g_1..g_n: the next step's input
};

// How the node computes: the CPU kernel for CPU tensors and tensor operations elsewhere (Auto),
// or one of them by name (tests compare them on the CPU).
enum class AdamWImpl { Auto, Kernel, TensorOps };

// p (any shape), lr (0-dim, may require grad), moments after g_1..g_{n-1} (the previous step's
// result; undefined for n = 1), grads = g_1..g_n (p's shape, may require grad).
// Per-task rates: for task-batched p (tasks, ...) lr may be (tasks), task t's block stepped with
// lr[t] and lr[t]'s gradient that block's alone (the trainer's per-task meta-gradients).
AdamWStepResult adamw_step_fused(const torch::Tensor& p, const torch::Tensor& lr, const AdamWMoments& moments,
                                 torch::TensorList grads, const AdamWHyper& hyper,
                                 AdamWImpl impl = AdamWImpl::Auto);

// The same step's values without autograd (evaluation: no meta-graph, no history): step n from
// the moments after g_1..g_{n-1} (undefined for n = 1) and g = g_n; the result equals
// adamw_step_fused's to the bit, in one pass over the elements (on the CPU) instead of a tensor
// operation per term.
AdamWStepResult adamw_step_values(const torch::Tensor& p, const torch::Tensor& lr, const AdamWMoments& moments,
                                  const torch::Tensor& g, int64_t n, const AdamWHyper& hyper,
                                  AdamWImpl impl = AdamWImpl::Auto);

}  // namespace reckoning
