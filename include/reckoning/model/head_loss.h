// Cross entropy through GPT-2's tied output head, twice differentiable without keeping any
// (N, V) tensor.
//
//   ce_i = logsumexp(W h_i) - (W h_i)[y_i]        h (N, C), W = wte (V, C), y (N)
//
// Written as plain ops (matmul, log_softmax, nll), a second-order inner loop keeps about three
// (N, V) tensors per inner step for the outer backward (log-probabilities, their gradient, the
// logits' gradient): at V = 50257 and 160 targets, 32 MB each. Here one autograd node computes
// the loss, its backward is a second node that recomputes the logits to form the first-order
// gradients (G = c (softmax(z) - onehot(y)), dh = G W, dW = G^T h), and that node's backward
// recomputes them again for the second-order terms, with S = u_h W^T + h U_W^T the upstream
// direction in logit space:
//   dh = R W + G U_W,   dW = R^T h + G^T u_h,   dc_i = <softmax(z_i) - onehot(y_i), S_i>,
//   R = c * softmax(z) * (S - rowsum(softmax(z) * S)).
// Saved are h, W, y and the upstream c only, and the (N, V) intermediates exist one block of
// about 1M elements at a time (rows of N). With a frozen W (no grad: LoRA over a frozen base)
// no (V, C) term is formed at all. Matrix products follow precision.h.
#pragma once

#include <torch/torch.h>

namespace reckoning {

// (N) per-row cross entropy; h (N, C), W (V, C) floating, targets (N) int64.
torch::Tensor tied_head_cross_entropy(const torch::Tensor& h, const torch::Tensor& W, const torch::Tensor& targets);

}  // namespace reckoning
