// GPT-2's activation ("gelu_new", the tanh approximation), twice differentiable in closed form.
//
//   y = x (1 + tanh(u)) / 2,   u = k (x + a x^3),   k = sqrt(2 / pi),   a = 0.044715
//   y'  = (1 + t) / 2 + x (1 - t^2) u' / 2,                    t = tanh(u), u' = k (1 + 3 a x^2)
//   y'' = (1 - t^2) (u' + 3 a k x^2 - x t u'^2)
//
// LibTorch's own double backward of gelu builds its second derivative from about a hundred
// element-wise operations (2 ms for a 192 x 512 tensor on one core; the first derivative is one
// fused kernel, 0.24 ms), and a second-order inner loop pays it once per layer and inner step. Here
// the activation is one autograd node whose backward is a second node (y' as LibTorch's fused
// gelu_backward), and that node's backward forms y'' from a dozen operations. The second node's
// backward is the last derivative taken (the outer loss is differentiated once); asking for a
// third is refused.
#pragma once

#include <torch/torch.h>

namespace reckoning {

torch::Tensor gelu_tanh(const torch::Tensor& x);

}  // namespace reckoning
