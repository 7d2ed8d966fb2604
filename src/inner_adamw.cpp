// The fused differentiable AdamW step; see inner_adamw.h.
#include "reckoning/inner_adamw.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

namespace reckoning {

namespace {

constexpr int64_t kBlock = 256;   // elements per inner block (moments kept in registers/L1)
constexpr int64_t kGrain = 1 << 15;  // elements per parallel task

template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Constants of step n (the history length), in the accumulation type.
template <typename A>
struct StepConstants {
  A b1, c1, b2, c2;          // beta1, 1 - beta1, beta2, 1 - beta2
  A inv_sqrt_bias2, eps;     // 1 / sqrt(1 - beta2^n), eps
  A decay, step;             // 1 - lr wd, lr / (1 - beta1^n)
  StepConstants(const AdamWHyper& h, int64_t n, double lr)
      : b1(static_cast<A>(h.beta1)), c1(static_cast<A>(1.0 - h.beta1)), b2(static_cast<A>(h.beta2)),
        c2(static_cast<A>(1.0 - h.beta2)),
        inv_sqrt_bias2(static_cast<A>(1.0 / std::sqrt(1.0 - std::pow(h.beta2, static_cast<double>(n))))),
        eps(static_cast<A>(h.eps)), decay(static_cast<A>(1.0 - lr * h.weight_decay)),
        step(static_cast<A>(lr / (1.0 - std::pow(h.beta1, static_cast<double>(n))))) {}
};

// Moments of elements [i, i + len) after g_1..g_n into m, v (the plain recurrence's order).
template <typename T, typename A>
inline void moments(const std::vector<const T*>& g, int64_t i, int64_t len, const StepConstants<A>& c,
                    A* m, A* v) {
  const T* g0 = g[0] + i;
  for (int64_t e = 0; e < len; ++e) {
    const A x = static_cast<A>(g0[e]);
    m[e] = x * c.c1;
    v[e] = x * x * c.c2;
  }
  for (size_t j = 1; j < g.size(); ++j) {
    const T* gj = g[j] + i;
    for (int64_t e = 0; e < len; ++e) {
      const A x = static_cast<A>(gj[e]);
      m[e] = m[e] * c.b1 + x * c.c1;
      v[e] = v[e] * c.b2 + x * x * c.c2;
    }
  }
}

template <typename T>
std::vector<const T*> pointers(const std::vector<torch::Tensor>& ts) {
  std::vector<const T*> out;
  for (const auto& t : ts) out.push_back(t.data_ptr<T>());
  return out;
}

template <typename T>
void forward_kernel(const torch::Tensor& p, const std::vector<torch::Tensor>& grads, const StepConstants<Acc<T>>& c,
                    torch::Tensor& out) {
  using A = Acc<T>;
  const T* pp = p.data_ptr<T>();
  const std::vector<const T*> g = pointers<T>(grads);
  T* o = out.data_ptr<T>();
  at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
    A m[kBlock], v[kBlock];
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t len = std::min(kBlock, end - i);
      moments<T, A>(g, i, len, c, m, v);
      for (int64_t e = 0; e < len; ++e) {
        const A denom = std::sqrt(std::max(v[e], A(0))) * c.inv_sqrt_bias2 + c.eps;
        o[i + e] = static_cast<T>(static_cast<A>(pp[i + e]) * c.decay - c.step * (m[e] / denom));
      }
    }
  });
}

// Writes d p (into dp) and, if `dgrads` is non-empty, d g_j; returns (sum p * go, sum u * go) for
// the rate's gradient, summed per parallel task in double and then in task order (deterministic
// for a given thread count).
template <typename T>
std::pair<double, double> backward_kernel(const torch::Tensor& p, const std::vector<torch::Tensor>& grads,
                                          const torch::Tensor& go, const StepConstants<Acc<T>>& c,
                                          const AdamWHyper& h, torch::Tensor& dp,
                                          std::vector<torch::Tensor>& dgrads) {
  using A = Acc<T>;
  const int64_t n = static_cast<int64_t>(grads.size());
  const T* pp = p.data_ptr<T>();
  const T* gop = go.data_ptr<T>();
  const std::vector<const T*> g = pointers<T>(grads);
  T* dpp = dp.data_ptr<T>();
  std::vector<T*> dg;
  for (auto& t : dgrads) dg.push_back(t.data_ptr<T>());
  // d m / d g_j and d v / d g_j (divided by g_j) for j = 1..n.
  std::vector<A> am(static_cast<size_t>(n)), av(static_cast<size_t>(n));
  for (int64_t j = 0; j < n; ++j) {
    am[static_cast<size_t>(j)] = static_cast<A>((1.0 - h.beta1) * std::pow(h.beta1, static_cast<double>(n - 1 - j)));
    av[static_cast<size_t>(j)] = static_cast<A>(2.0 * (1.0 - h.beta2) * std::pow(h.beta2, static_cast<double>(n - 1 - j)));
  }
  const A half_inv_sqrt_bias2 = c.inv_sqrt_bias2 / A(2);
  std::mutex mutex;
  std::vector<std::tuple<int64_t, double, double>> partial;
  at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
    A m[kBlock], v[kBlock], dm[kBlock], dv[kBlock];
    double sum_p = 0, sum_u = 0;
    for (int64_t i = begin; i < end; i += kBlock) {
      const int64_t len = std::min(kBlock, end - i);
      moments<T, A>(g, i, len, c, m, v);
      A block_p = 0, block_u = 0;
      for (int64_t e = 0; e < len; ++e) {
        const A o = static_cast<A>(gop[i + e]);
        const A root = std::sqrt(std::max(v[e], A(0)));
        const A denom = root * c.inv_sqrt_bias2 + c.eps;
        const A u = m[e] / denom;  // the Adam direction
        dpp[i + e] = static_cast<T>(o * c.decay);
        block_p += static_cast<A>(pp[i + e]) * o;
        block_u += u * o;
        dm[e] = -o * c.step / denom;
        // Through the denominator; zero where v == 0 (the safe square root's gradient).
        dv[e] = v[e] > A(0) ? o * c.step * u / denom * half_inv_sqrt_bias2 / root : A(0);
      }
      sum_p += static_cast<double>(block_p);
      sum_u += static_cast<double>(block_u);
      if (dg.empty()) continue;
      for (int64_t j = 0; j < n; ++j) {
        const T* gj = g[static_cast<size_t>(j)] + i;
        T* out = dg[static_cast<size_t>(j)] + i;
        const A a = am[static_cast<size_t>(j)], b = av[static_cast<size_t>(j)];
        for (int64_t e = 0; e < len; ++e) out[e] = static_cast<T>(dm[e] * a + dv[e] * static_cast<A>(gj[e]) * b);
      }
    }
    const std::lock_guard<std::mutex> lock(mutex);
    partial.emplace_back(begin, sum_p, sum_u);
  });
  std::sort(partial.begin(), partial.end());
  double sum_p = 0, sum_u = 0;
  for (const auto& [begin, a, b] : partial) {
    sum_p += a;
    sum_u += b;
  }
  return {sum_p, sum_u};
}

std::vector<torch::Tensor> contiguous(torch::TensorList ts) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(t.contiguous());
  return out;
}

struct AdamWStep : public torch::autograd::Function<AdamWStep> {
  static torch::Tensor forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& p_in,
                               const torch::Tensor& lr, torch::TensorList grads_in, AdamWHyper h) {
    const torch::Tensor p = p_in.contiguous();
    const std::vector<torch::Tensor> g = contiguous(grads_in);
    const int64_t n = static_cast<int64_t>(g.size());
    const double lr_value = lr.item<double>();
    torch::Tensor next = torch::empty_like(p);
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, p.scalar_type(), "adamw_step_fused", [&] {
      forward_kernel<scalar_t>(p, g, StepConstants<Acc<scalar_t>>(h, n, lr_value), next);
    });
    std::vector<torch::Tensor> saved{p_in, lr};
    saved.insert(saved.end(), grads_in.begin(), grads_in.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["beta1"] = h.beta1;
    ctx->saved_data["beta2"] = h.beta2;
    ctx->saved_data["eps"] = h.eps;
    ctx->saved_data["weight_decay"] = h.weight_decay;
    bool grads_need = false;
    for (const auto& t : grads_in) grads_need = grads_need || t.requires_grad();
    ctx->saved_data["grads_need"] = grads_need;
    return next;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const std::vector<torch::Tensor> saved = ctx->get_saved_variables();
    const torch::Tensor p = saved[0].contiguous();
    const torch::Tensor& lr = saved[1];
    const std::vector<torch::Tensor> g = contiguous(torch::TensorList(saved).slice(2));
    const AdamWHyper h{ctx->saved_data["beta1"].toDouble(), ctx->saved_data["beta2"].toDouble(),
                       ctx->saved_data["eps"].toDouble(), ctx->saved_data["weight_decay"].toDouble()};
    const int64_t n = static_cast<int64_t>(g.size());
    const double lr_value = lr.item<double>();
    const double bias1 = 1.0 - std::pow(h.beta1, static_cast<double>(n));
    const torch::Tensor go = grad_out[0].contiguous();
    torch::Tensor dp = torch::empty_like(p);
    std::vector<torch::Tensor> dg;
    if (ctx->saved_data["grads_need"].toBool()) {
      for (int64_t j = 0; j < n; ++j) dg.push_back(torch::empty_like(p));
    }
    std::pair<double, double> sums;
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, p.scalar_type(), "adamw_step_fused_backward", [&] {
      sums = backward_kernel<scalar_t>(p, g, go, StepConstants<Acc<scalar_t>>(h, n, lr_value), h, dp, dg);
    });
    torch::autograd::variable_list out(static_cast<size_t>(3 + n));
    out[0] = dp.view(saved[0].sizes());
    out[1] = torch::full(lr.sizes(), -(h.weight_decay * sums.first + sums.second / bias1), lr.options());
    for (int64_t j = 0; j < static_cast<int64_t>(dg.size()); ++j) out[static_cast<size_t>(2 + j)] = dg[static_cast<size_t>(j)];
    return out;  // the hyperparameter argument gets an undefined gradient
  }
};

}  // namespace

torch::Tensor adamw_step_fused(const torch::Tensor& p, const torch::Tensor& lr, torch::TensorList grads,
                               const AdamWHyper& hyper) {
  return AdamWStep::apply(p, lr, grads, hyper);
}

}  // namespace reckoning
