// Batched products of small matrices as one node; see batched_matmul.h.
#include "reckoning/model/batched_matmul.h"

#include <algorithm>
#include <vector>

#include <ATen/Parallel.h>

namespace reckoning {

namespace {

// Where each matrix of a batch starts: the offsets (in elements) of the batch dimensions' indices
// in row-major order, from the tensor's strides (any strides, 0 for expanded dimensions).
std::vector<int64_t> batch_offsets(const torch::Tensor& t) {
  const int64_t batch_dims = t.dim() - 2;
  std::vector<int64_t> offsets{0};
  for (int64_t d = 0; d < batch_dims; ++d) {
    const int64_t size = t.size(d), stride = t.stride(d);
    std::vector<int64_t> next;
    next.reserve(offsets.size() * static_cast<size_t>(size));
    for (int64_t base : offsets) {
      for (int64_t i = 0; i < size; ++i) next.push_back(base + i * stride);
    }
    offsets.swap(next);
  }
  return offsets;
}

// c (batch, M, N, contiguous) = a (batch, M, K) b (batch, K, N), a and b with any strides. Each
// row of c is accumulated over k in order, as c[i, :] += a[i, k] b[k, :] (the inner loop over
// N vectorises); b's matrix is first copied to a contiguous buffer when its rows are not.
template <typename T>
void small_bmm_kernel(const torch::Tensor& a, const torch::Tensor& b, torch::Tensor& c) {
  const int64_t M = a.size(-2), K = a.size(-1), N = b.size(-1);
  const int64_t a_row = a.stride(-2), a_col = a.stride(-1);
  const int64_t b_row = b.stride(-2), b_col = b.stride(-1);
  const std::vector<int64_t> a_at = batch_offsets(a), b_at = batch_offsets(b);
  const int64_t batch = static_cast<int64_t>(a_at.size());
  const T* a_data = a.data_ptr<T>();
  const T* b_data = b.data_ptr<T>();
  T* c_data = c.data_ptr<T>();
  const int64_t grain = std::max<int64_t>(1, (int64_t{1} << 15) / std::max<int64_t>(1, M * K * N));
  at::parallel_for(0, batch, grain, [&](int64_t begin, int64_t end) {
    std::vector<T> packed(b_col == 1 ? 0 : static_cast<size_t>(K * N));
    for (int64_t m = begin; m < end; ++m) {
      const T* am = a_data + a_at[static_cast<size_t>(m)];
      const T* bm = b_data + b_at[static_cast<size_t>(m)];
      int64_t bm_row = b_row;
      if (b_col != 1) {
        for (int64_t k = 0; k < K; ++k) {
          for (int64_t j = 0; j < N; ++j) packed[static_cast<size_t>(k * N + j)] = bm[k * b_row + j * b_col];
        }
        bm = packed.data();
        bm_row = N;
      }
      T* cm = c_data + m * M * N;
      for (int64_t i = 0; i < M; ++i) {
        T* __restrict row = cm + i * N;
        std::fill(row, row + N, T(0));
        for (int64_t k = 0; k < K; ++k) {
          const T aik = am[i * a_row + k * a_col];
          const T* __restrict bk = bm + k * bm_row;
          for (int64_t j = 0; j < N; ++j) row[j] += aik * bk[j];
        }
      }
    }
  });
}

torch::Tensor small_bmm(const torch::Tensor& a, const torch::Tensor& b) {
  std::vector<int64_t> shape(a.sizes().begin(), a.sizes().end());
  shape.back() = b.size(-1);
  torch::Tensor c = torch::empty(shape, a.options());
  if (c.numel() == 0) return c;
  if (a.size(-1) == 0) return c.zero_();
  if (a.scalar_type() == torch::kDouble) {
    small_bmm_kernel<double>(a, b, c);
  } else {
    small_bmm_kernel<float>(a, b, c);
  }
  return c;
}

// One node for the batch; its backward is batched_matmul again (differentiable to any order).
struct SmallBatchedMatmul : public torch::autograd::Function<SmallBatchedMatmul> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& a, const torch::Tensor& b) {
    ctx->save_for_backward({a, b});
    return small_bmm(a, b);
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& a = saved[0];
    const torch::Tensor& b = saved[1];
    const torch::Tensor& g = grads[0];
    torch::Tensor da, db;
    if (ctx->needs_input_grad(0)) da = batched_matmul(g, b.transpose(-2, -1));
    if (ctx->needs_input_grad(1)) db = batched_matmul(a.transpose(-2, -1), g);
    return {da, db};
  }
};

}  // namespace

bool small_batched_matmul_applies(const torch::Tensor& a, const torch::Tensor& b) {
  if (a.dim() < 3 || a.dim() != b.dim() || !a.device().is_cpu() || !b.device().is_cpu()) return false;
  if (a.scalar_type() != b.scalar_type()) return false;
  if (a.scalar_type() != torch::kFloat && a.scalar_type() != torch::kDouble) return false;
  if (a.sizes().slice(0, a.dim() - 2) != b.sizes().slice(0, b.dim() - 2)) return false;
  if (a.size(-1) != b.size(-2)) return false;
  return a.size(-2) * a.size(-1) * b.size(-1) <= kSmallMatmulVolume;
}

torch::Tensor batched_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!small_batched_matmul_applies(a, b)) return torch::matmul(a, b);
  return SmallBatchedMatmul::apply(a, b);
}

}  // namespace reckoning
