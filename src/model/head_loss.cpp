// Cross entropy through the tied head with recomputed logits; see head_loss.h.
#include "reckoning/model/head_loss.h"

#include <algorithm>
#include <vector>

#include "reckoning/model/precision.h"

namespace reckoning {

namespace {

torch::Tensor logits_of(const torch::Tensor& h, const torch::Tensor& W) { return mixed_matmul(h, W.t()); }  // (N, V)

// Rows per block of (rows, V) logits: about 1M elements (4 MB in float32), so that the (N, V)
// intermediates - logits, probabilities, their gradients - exist one block at a time (at V =
// 50257 and 160 target rows, 20 rows: 8 blocks instead of six 32 MB tensors at once).
int64_t rows_per_block(int64_t vocab) { return std::max<int64_t>(1, (int64_t{1} << 20) / std::max<int64_t>(1, vocab)); }

// Calls f(start, length) for consecutive blocks of rows covering [0, n).
template <class F>
void for_row_blocks(int64_t n, int64_t vocab, F&& f) {
  const int64_t block = rows_per_block(vocab);
  for (int64_t start = 0; start < n; start += block) f(start, std::min(block, n - start));
}

// Concatenates per-block results along rows (one block: the tensor itself).
torch::Tensor cat_rows(const std::vector<torch::Tensor>& parts) { return parts.size() == 1 ? parts[0] : torch::cat(parts, 0); }

// a + b where either may be undefined.
torch::Tensor add_defined(const torch::Tensor& a, const torch::Tensor& b) {
  if (!a.defined()) return b;
  return b.defined() ? a + b : a;
}

// Subtracts onehot(y) from the probabilities `d` (N, V) in place: softmax(z) - onehot(y).
void subtract_onehot_(torch::Tensor& d, const torch::Tensor& targets) {
  d.scatter_add_(1, targets.unsqueeze(1), torch::full({d.size(0), 1}, -1.0, d.options()));
}

// The first-order gradients (dh, dW) for upstream c (N); its backward gives the second-order terms.
// Only what is needed is formed: with a frozen head (W without grad, e.g. a LoRA inner loop over a
// frozen base) neither dW nor the (V, C) terms of the second order are - each is as large as the
// embedding table (154 MB for GPT-2) and would be formed at every inner step.
struct HeadCrossEntropyGrad : public torch::autograd::Function<HeadCrossEntropyGrad> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h,
                                                const torch::Tensor& W, const torch::Tensor& c,
                                                const torch::Tensor& targets) {
    ctx->save_for_backward({h, W, c, targets});
    ctx->set_materialize_grads(false);  // an unused output's gradient stays undefined (not zeros)
    std::vector<torch::Tensor> dh;
    torch::Tensor dW;
    for_row_blocks(h.size(0), W.size(0), [&](int64_t start, int64_t n) {
      const torch::Tensor h_b = h.narrow(0, start, n);
      torch::Tensor d = torch::softmax(logits_of(h_b, W), 1);
      subtract_onehot_(d, targets.narrow(0, start, n));
      const torch::Tensor G = d * c.narrow(0, start, n).unsqueeze(1);  // (rows, V)
      dh.push_back(mixed_matmul(G, W));
      if (W.requires_grad()) dW = add_defined(dW, mixed_matmul(G.t(), h_b));
    });
    if (W.requires_grad()) return {cat_rows(dh), dW};  // (N, C), (V, C)
    // (an autograd Function's outputs must be tensors: an empty one, never used as W's gradient)
    const torch::Tensor none = torch::empty({0}, W.options());
    ctx->mark_non_differentiable({none});
    return {cat_rows(dh), none};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &h = saved[0], &W = saved[1], &c = saved[2], &targets = saved[3];
    const torch::Tensor &u_h = grad_out[0], &U_W = grad_out[1];  // undefined where unused
    std::vector<torch::Tensor> dh, dc;
    torch::Tensor dW;
    for_row_blocks(h.size(0), W.size(0), [&](int64_t start, int64_t n) {
      const torch::Tensor h_b = h.narrow(0, start, n), c_b = c.narrow(0, start, n);
      const torch::Tensor p = torch::softmax(logits_of(h_b, W), 1);  // (rows, V)
      torch::Tensor d = p.clone();
      subtract_onehot_(d, targets.narrow(0, start, n));
      const torch::Tensor G = d * c_b.unsqueeze(1);
      // S = u_h W^T + h U_W^T: the upstream direction in logit space.
      torch::Tensor S = u_h.defined() ? logits_of(u_h.narrow(0, start, n), W) : torch::zeros_like(p);
      if (U_W.defined()) S = S + logits_of(h_b, U_W);
      const torch::Tensor R = c_b.unsqueeze(1) * p * (S - (p * S).sum(1, /*keepdim=*/true));
      if (ctx->needs_input_grad(0)) {
        torch::Tensor dh_b = mixed_matmul(R, W);
        if (U_W.defined()) dh_b = dh_b + mixed_matmul(G, U_W);
        dh.push_back(dh_b);
      }
      if (ctx->needs_input_grad(1)) {
        dW = add_defined(dW, mixed_matmul(R.t(), h_b));
        if (u_h.defined()) dW = dW + mixed_matmul(G.t(), u_h.narrow(0, start, n));
      }
      if (ctx->needs_input_grad(2)) dc.push_back((d * S).sum(1));
    });
    return {dh.empty() ? torch::Tensor() : cat_rows(dh), dW, dc.empty() ? torch::Tensor() : cat_rows(dc), torch::Tensor()};
  }
};

struct HeadCrossEntropy : public torch::autograd::Function<HeadCrossEntropy> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& W,
                               const torch::Tensor& targets) {
    ctx->save_for_backward({h, W, targets});
    std::vector<torch::Tensor> ce;
    for_row_blocks(h.size(0), W.size(0), [&](int64_t start, int64_t n) {
      const torch::Tensor z = logits_of(h.narrow(0, start, n), W);
      ce.push_back(torch::logsumexp(z, 1) - z.gather(1, targets.narrow(0, start, n).unsqueeze(1)).squeeze(1));
    });
    return cat_rows(ce);  // (N)
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    // Under create_graph this records the gradient node, so the outer backward reaches h, W and c.
    torch::autograd::variable_list g = HeadCrossEntropyGrad::apply(saved[0], saved[1], grad_out[0], saved[2]);
    return {g[0], saved[1].requires_grad() ? g[1] : torch::Tensor(), torch::Tensor()};
  }
};

}  // namespace

torch::Tensor tied_head_cross_entropy(const torch::Tensor& h, const torch::Tensor& W, const torch::Tensor& targets) {
  TORCH_CHECK(h.dim() == 2 && W.dim() == 2 && h.size(1) == W.size(1), "tied_head_cross_entropy: h ", h.sizes(),
              " and W ", W.sizes(), " must be (N, C) and (V, C)");
  TORCH_CHECK(targets.dim() == 1 && targets.size(0) == h.size(0), "tied_head_cross_entropy: targets ",
              targets.sizes(), " must be (N) for h ", h.sizes());
  return HeadCrossEntropy::apply(h, W, targets.to(torch::kLong));
}

}  // namespace reckoning
