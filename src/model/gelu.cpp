// GPT-2's activation with a closed-form second derivative; see gelu.h.
#include "reckoning/model/gelu.h"

#include <cmath>

namespace reckoning {

namespace {

constexpr double kA = 0.044715;
const double kK = std::sqrt(2.0 / M_PI);

// y''(x), from the formula in gelu.h.
torch::Tensor gelu_tanh_second(const torch::Tensor& x) {
  const torch::Tensor x2 = x * x;
  const torch::Tensor t = torch::tanh(x * (x2 * (kA * kK) + kK));
  const torch::Tensor du = x2 * (3 * kA * kK) + kK;  // u'
  // (1 - t^2) (u' + 3 a k x^2 - x t u'^2)
  torch::Tensor inner = x2 * (3 * kA * kK) + du;
  inner.sub_(x * t * du * du);
  return (1 - t * t).mul_(inner);
}

// (x, go) -> go y'(x); its backward gives the second-order terms.
struct GeluTanhGrad : public torch::autograd::Function<GeluTanhGrad> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x, const torch::Tensor& go) {
    ctx->save_for_backward({x, go});
    return torch::gelu_backward(go, x, "tanh");
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    TORCH_CHECK(!torch::GradMode::is_enabled(),
                "gelu_tanh: a third derivative was asked for (create_graph through a second-order backward); "
                "gelu.h gives two");
    const auto saved = ctx->get_saved_variables();
    const torch::Tensor& x = saved[0];
    const torch::Tensor& go = saved[1];
    const torch::Tensor& ggx = grad_out[0];
    if (!ggx.defined()) return {torch::Tensor(), torch::Tensor()};
    return {ggx * go * gelu_tanh_second(x), torch::gelu_backward(ggx, x, "tanh")};
  }
};

struct GeluTanh : public torch::autograd::Function<GeluTanh> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& x) {
    ctx->save_for_backward({x});
    return torch::gelu(x, "tanh");
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    return {GeluTanhGrad::apply(ctx->get_saved_variables()[0], grad_out[0])};
  }
};

}  // namespace

torch::Tensor gelu_tanh(const torch::Tensor& x) { return GeluTanh::apply(x); }

}  // namespace reckoning
