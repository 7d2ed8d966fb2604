// Batched products of small matrices on the CPU, as one operation for the whole batch.
//
// LibTorch's CPU `bmm` (1.13, without MKL) runs a batch as a loop of per-matrix products, each
// going through `select`, `resolve_conj` and a BLAS call: about a microsecond of bookkeeping per
// matrix. Attention multiplies B x H matrices per layer, and RECKONING's inner loop does it for every
// fact, head, layer and inner step, forward, backward and through the second-order backward: for the
// README's main job (facts of ~5 tokens, 4 heads of 16) ~2,400 products of 5 x 16 x 5 per task and
// meta step, ~40,000 for 16 tasks batched. For such products one kernel over the batch is 1.8-5x
// faster than `bmm` (side by side, 16-256 products of 5 x 16 x 5 or 5 x 5 x 16); from about
// 22 x 16 x 22 on, BLAS's kernels win (PERFORMANCE.md, "Vectorised inner AdamW, small products").
//
// `batched_matmul(a, b)` is `torch::matmul(a, b)` for a (..., M, K) and b (..., K, N) with the same
// leading dimensions: small float32/float64 CPU matrices (M K N up to `kSmallMatmulVolume`) are
// multiplied by one kernel over the batch (any strides: transposed views are read as they are;
// the batch split over LibTorch's intra-op threads, each product's summation order fixed, so
// results do not depend on the thread count) in one autograd node whose backward is again
// `batched_matmul`, so it is differentiable to any order (the inner loop's second-order
// meta-gradient differentiates it twice). Everything else - larger matrices, other dtypes or
// devices, broadcast batch dimensions, plain 2-D products - is `torch::matmul`.
#pragma once

#include <cstdint>

#include <torch/torch.h>

namespace reckoning {

// The most multiply-adds (M K N) of one product taken by the small-matrix kernel (measured: faster
// than bmm up to 5 x 16 x 5 = 400, slower at 22 x 16 x 22); larger ones go to BLAS through
// torch::matmul.
constexpr int64_t kSmallMatmulVolume = 400;

// True when batched_matmul(a, b) takes the small-matrix kernel.
bool small_batched_matmul_applies(const torch::Tensor& a, const torch::Tensor& b);

// torch::matmul(a, b), with small batched CPU products as one node (above).
torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace reckoning
