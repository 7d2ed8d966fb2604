// Cross entropy through the tied head with recomputed logits; see head_loss.h.
#include "reckoning/model/head_loss.h"

#include "reckoning/model/precision.h"

namespace reckoning {

namespace {

torch::Tensor logits_of(const torch::Tensor& h, const torch::Tensor& W) { return mixed_matmul(h, W.t()); }  // (N, V)

// Subtracts onehot(y) from the probabilities `d` (N, V) in place: softmax(z) - onehot(y).
void subtract_onehot_(torch::Tensor& d, const torch::Tensor& targets) {
  d.scatter_add_(1, targets.unsqueeze(1), torch::full({d.size(0), 1}, -1.0, d.options()));
}

// The first-order gradients (dh, dW) for upstream c (N); its backward gives the second-order terms.
struct HeadCrossEntropyGrad : public torch::autograd::Function<HeadCrossEntropyGrad> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h,
                                                const torch::Tensor& W, const torch::Tensor& c,
                                                const torch::Tensor& targets) {
    ctx->save_for_backward({h, W, c, targets});
    torch::Tensor d = torch::softmax(logits_of(h, W), 1);
    subtract_onehot_(d, targets);
    const torch::Tensor G = d * c.unsqueeze(1);  // (N, V)
    return {mixed_matmul(G, W), mixed_matmul(G.t(), h)};  // (N, C), (V, C)
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor &h = saved[0], &W = saved[1], &c = saved[2], &targets = saved[3];
    const torch::Tensor &u_h = grad_out[0], &U_W = grad_out[1];  // zeros where unused (materialised)
    const torch::Tensor z = logits_of(h, W);                     // (N, V)
    const torch::Tensor p = torch::softmax(z, 1);
    torch::Tensor d = p.clone();
    subtract_onehot_(d, targets);
    const torch::Tensor G = d * c.unsqueeze(1);
    const torch::Tensor S = logits_of(u_h, W) + logits_of(h, U_W);                          // (N, V)
    const torch::Tensor R = c.unsqueeze(1) * p * (S - (p * S).sum(1, /*keepdim=*/true));  // (N, V)
    const torch::Tensor dh = mixed_matmul(R, W) + mixed_matmul(G, U_W);
    const torch::Tensor dW = mixed_matmul(R.t(), h) + mixed_matmul(G.t(), u_h);
    const torch::Tensor dc = (d * S).sum(1);
    return {dh, dW, dc, torch::Tensor()};
  }
};

struct HeadCrossEntropy : public torch::autograd::Function<HeadCrossEntropy> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& h, const torch::Tensor& W,
                               const torch::Tensor& targets) {
    ctx->save_for_backward({h, W, targets});
    const torch::Tensor z = logits_of(h, W);
    return torch::logsumexp(z, 1) - z.gather(1, targets.unsqueeze(1)).squeeze(1);  // (N)
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const auto saved = ctx->get_saved_variables();
    // Under create_graph this records the gradient node, so the outer backward reaches h, W and c.
    torch::autograd::variable_list g = HeadCrossEntropyGrad::apply(saved[0], saved[1], grad_out[0], saved[2]);
    return {g[0], g[1], torch::Tensor()};
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
