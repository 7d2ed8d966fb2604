// The fused differentiable AdamW step; see inner_adamw.h.
#include "reckoning/meta/inner_adamw.h"

#include <algorithm>
#include <cmath>
#include <mutex>
#include <type_traits>
#include <vector>

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

constexpr int64_t kBlock = 256;   // elements per inner block (moments kept in registers/L1)
constexpr int64_t kGrain = 1 << 15;  // elements per parallel task

// The element loops are compiled twice on x86-64: for the baseline (SSE2) and for AVX2, taken when
// the CPU has it (the binary is built without -march, so it runs anywhere). Not with FMA: a fused
// multiply-add rounds once where the plain code rounds twice, and results must not depend on the
// CPU; AVX2 alone changes only the vector width, so both give the same bits. Elsewhere the "AVX2"
// clone is a second baseline compile that is never taken.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define RECKONING_TARGET_AVX2 __attribute__((target("avx2")))
bool cpu_has_avx2() {
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
}
#else
#define RECKONING_TARGET_AVX2
bool cpu_has_avx2() { return false; }
#endif
#define RECKONING_INLINE inline __attribute__((always_inline))

// The kernel's arithmetic type: float64 for float64 tensors or when AdamWHyper::float64 asks for
// it, float32 otherwise (bfloat16 tensors too).
template <typename T>
using Acc = std::conditional_t<std::is_same_v<T, double>, double, float>;

// Adam's bias corrections after n steps: 1 - beta1^n, and 1 / sqrt(1 - beta2^n).
double bias1(const AdamWHyper& h, int64_t n) { return 1.0 - std::pow(h.beta1, static_cast<double>(n)); }
double inv_sqrt_bias2(const AdamWHyper& h, int64_t n) {
  return 1.0 / std::sqrt(1.0 - std::pow(h.beta2, static_cast<double>(n)));
}
double inv_bias2(const AdamWHyper& h, int64_t n) { return 1.0 / (1.0 - std::pow(h.beta2, static_cast<double>(n))); }

// Constants of step n (the history length), in the accumulation type.
template <typename A>
struct StepConstants {
  A b1, c1, b2, c2;          // beta1, 1 - beta1, beta2, 1 - beta2
  A inv_sqrt_bias2, eps;     // 1 / sqrt(1 - beta2^n), eps
  A inv_bias2, eps_root;     // 1 / (1 - beta2^n), eps_root
  A decay, step;             // 1 - lr wd, lr / (1 - beta1^n)
  StepConstants(const AdamWHyper& h, int64_t n, double lr)
      : b1(static_cast<A>(h.beta1)), c1(static_cast<A>(1.0 - h.beta1)), b2(static_cast<A>(h.beta2)),
        c2(static_cast<A>(1.0 - h.beta2)),
        inv_sqrt_bias2(static_cast<A>(reckoning::inv_sqrt_bias2(h, n))), eps(static_cast<A>(h.eps)),
        inv_bias2(static_cast<A>(reckoning::inv_bias2(h, n))),
        eps_root(static_cast<A>(h.eps_root)),
        decay(static_cast<A>(1.0 - lr * h.weight_decay)), step(static_cast<A>(lr / bias1(h, n))) {}
};

// Moments of elements [i, i + len) after g_1..g_n into m, v (the plain recurrence's order).
template <typename T, typename A>
RECKONING_INLINE void moments(const std::vector<const T*>& g, int64_t i, int64_t len, const StepConstants<A>& c,
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

// Pointer to a tensor's data, or nullptr for an undefined tensor.
template <typename T>
const T* data_or_null(const torch::Tensor& t) {
  return t.defined() ? t.data_ptr<T>() : nullptr;
}

// The loops below are written so that the compiler vectorises them (no branch on a loop-invariant
// condition inside a loop, no reduction inside the element loop: the rate gradient's sums take the
// per-element products in their order afterwards), with each element's arithmetic - and each sum's
// order - exactly that of the plain scalar loop: results are the same to the bit.

// The square root of Adam's denominator: sqrt(v / (1 - beta2^n) + eps_root); without eps_root it is
// written sqrt(v) / sqrt(1 - beta2^n), the order torch's AdamW rounds in. The eps_root choice is
// made at compile time (a template argument), so that the element loops have no branch.
template <bool kEpsRoot, typename A>
RECKONING_INLINE A root_of(A v, const StepConstants<A>& c) {
  const A positive = v < A(0) ? A(0) : v;  // std::max(v, 0): NaN stays NaN
  if constexpr (kEpsRoot) {
    return std::sqrt(positive * c.inv_bias2 + c.eps_root);
  } else {
    return std::sqrt(positive) * c.inv_sqrt_bias2;
  }
}

// p' from p, and the moments after g_n from those after g_1..g_{n-1} (m_in, v_in; nullptr for
// n = 1): the plain recurrence, in its order, so the moments equal moments() over the history.
template <typename T, typename A, bool kFirst, bool kEpsRoot>
RECKONING_INLINE void forward_range(const T* __restrict pp, const T* __restrict mi, const T* __restrict vi,
                                    const T* __restrict g, const StepConstants<A>& c, T* __restrict o,
                                    T* __restrict mo, T* __restrict vo, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    const A x = static_cast<A>(g[i]);
    A m, v;
    if constexpr (kFirst) {
      m = x * c.c1;
      v = x * x * c.c2;
    } else {
      m = static_cast<A>(mi[i]) * c.b1 + x * c.c1;
      v = static_cast<A>(vi[i]) * c.b2 + x * x * c.c2;
    }
    mo[i] = static_cast<T>(m);
    vo[i] = static_cast<T>(v);
    const A denom = root_of<kEpsRoot>(v, c) + c.eps;
    o[i] = static_cast<T>(static_cast<A>(pp[i]) * c.decay - c.step * (m / denom));
  }
}

// The pointers and choices of one kernel call, shared by its parallel tasks.
template <typename T, typename A>
struct ForwardArgs {
  const T *pp, *mi, *vi, *g;
  const StepConstants<A>* c;
  T *o, *mo, *vo;
  bool first, eps_root;
};

template <typename T, typename A>
RECKONING_INLINE void forward_any(const ForwardArgs<T, A>& a, int64_t begin, int64_t end) {
  if (a.first && a.eps_root) forward_range<T, A, true, true>(a.pp, a.mi, a.vi, a.g, *a.c, a.o, a.mo, a.vo, begin, end);
  if (a.first && !a.eps_root) forward_range<T, A, true, false>(a.pp, a.mi, a.vi, a.g, *a.c, a.o, a.mo, a.vo, begin, end);
  if (!a.first && a.eps_root) forward_range<T, A, false, true>(a.pp, a.mi, a.vi, a.g, *a.c, a.o, a.mo, a.vo, begin, end);
  if (!a.first && !a.eps_root) forward_range<T, A, false, false>(a.pp, a.mi, a.vi, a.g, *a.c, a.o, a.mo, a.vo, begin, end);
}

template <typename T, typename A>
void forward_baseline(const ForwardArgs<T, A>& a, int64_t begin, int64_t end) { forward_any(a, begin, end); }

template <typename T, typename A>
RECKONING_TARGET_AVX2 void forward_avx2(const ForwardArgs<T, A>& a, int64_t begin, int64_t end) {
  forward_any(a, begin, end);
}

template <typename T, typename A>
void forward_kernel(const torch::Tensor& p, const torch::Tensor& m_in, const torch::Tensor& v_in,
                    const torch::Tensor& g_n, const StepConstants<A>& c, torch::Tensor& out,
                    torch::Tensor& m_out, torch::Tensor& v_out) {
  ForwardArgs<T, A> a{p.data_ptr<T>(), data_or_null<T>(m_in), data_or_null<T>(v_in), g_n.data_ptr<T>(), &c,
                      out.data_ptr<T>(), m_out.data_ptr<T>(), v_out.data_ptr<T>(), !m_in.defined(),
                      c.eps_root != A(0)};
  at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
    if (cpu_has_avx2()) {
      forward_avx2(a, begin, end);
    } else {
      forward_baseline(a, begin, end);
    }
  });
}

// The gradients one step's backward produces. The moments' gradients are carried from step to
// step (dm_{n-1} = b1 dm_n, dv_{n-1} = b2 dv_n, and g_n gets c1 dm_n + 2 c2 g_n dv_n), so a step
// returns four parameter-sized tensors whatever its position, not one per earlier inner gradient.
struct BackwardOut {
  torch::Tensor dp;      // d p (always)
  torch::Tensor dg;      // d g_n (when the inner gradients need one)
  torch::Tensor dm, dv;  // d m_{n-1}, d v_{n-1} (when they need one and n > 1)
};

// One block of `len` elements of the backward: m, v are the block's moments; the other pointers
// start at the block. Writes d p and the products p go, u go (for the rate's gradient) and, with
// kNeedG, d g_n, d m_{n-1}, d v_{n-1} (dmi, dvi: zeros where the next step used no moments; dmo,
// dvo: scratch where none are wanted).
template <typename T, typename A, bool kNeedG, bool kEpsRoot>
RECKONING_INLINE void backward_block(int64_t len, const A* __restrict m, const A* __restrict v,
                                     const T* __restrict pp, const T* __restrict gop, const T* __restrict gn,
                                     const T* __restrict dmi, const T* __restrict dvi, const StepConstants<A>& c,
                                     T* __restrict dpp, T* __restrict dgp, T* __restrict dmo, T* __restrict dvo,
                                     A* __restrict prod_p, A* __restrict prod_u) {
  const A half_inv_sqrt_bias2 = c.inv_sqrt_bias2 / A(2);
  const A half_inv_bias2 = c.inv_bias2 / A(2);
  const A two_c2 = A(2) * c.c2;
  for (int64_t e = 0; e < len; ++e) {
    const A o = static_cast<A>(gop[e]);
    const A root = root_of<kEpsRoot>(v[e], c);
    const A denom = root + c.eps;
    const A u = m[e] / denom;  // the Adam direction
    dpp[e] = static_cast<T>(o * c.decay);
    prod_p[e] = static_cast<A>(pp[e]) * o;
    prod_u[e] = u * o;
    if constexpr (kNeedG) {
      A dm = -o * c.step / denom;
      // Through the denominator. Without eps_root: zero where v <= 0 (the safe square root's
      // gradient), the factor d root / d v = 1 / (2 sqrt(1 - b2^n) sqrt(v)); the square root and
      // the division are taken of 1 there, so that nothing is computed conditionally.
      A dv;
      if constexpr (kEpsRoot) {
        dv = o * c.step * u / denom * half_inv_bias2 / root;
      } else {
        const bool positive = v[e] > A(0);
        const A through = o * c.step * u / denom * half_inv_sqrt_bias2 / std::sqrt(positive ? v[e] : A(1));
        dv = positive ? through : A(0);
      }
      dm += static_cast<A>(dmi[e]);
      dv += static_cast<A>(dvi[e]);
      dgp[e] = static_cast<T>(dm * c.c1 + dv * static_cast<A>(gn[e]) * two_c2);
      dmo[e] = static_cast<T>(dm * c.b1);
      dvo[e] = static_cast<T>(dv * c.b2);
    }
  }
}

// The pointers and choices of one kernel call, shared by its parallel tasks.
template <typename T, typename A>
struct BackwardArgs {
  const std::vector<const T*>* g;
  const StepConstants<A>* c;
  const T *pp, *gop, *gn, *dmi, *dvi;
  T *dpp, *dgp, *dmo, *dvo;
  bool eps_root;
};

// Elements [begin, end) of the backward, block by block; returns the rate gradient's two sums.
template <typename T, typename A>
RECKONING_INLINE std::pair<double, double> backward_any(const BackwardArgs<T, A>& args, int64_t begin, int64_t end) {
  const std::vector<const T*>& g = *args.g;
  const StepConstants<A>& c = *args.c;
  const T *pp = args.pp, *gop = args.gop, *gn = args.gn, *dmi = args.dmi, *dvi = args.dvi;
  T *dpp = args.dpp, *dgp = args.dgp, *dmo = args.dmo, *dvo = args.dvo;
  const bool eps_root = args.eps_root;
  A m[kBlock], v[kBlock], prod_p[kBlock], prod_u[kBlock];
  T zeros[kBlock], scratch_m[kBlock], scratch_v[kBlock];
  std::fill(zeros, zeros + kBlock, T(0));
  double sum_p = 0, sum_u = 0;
  for (int64_t i = begin; i < end; i += kBlock) {
    const int64_t len = std::min(kBlock, end - i);
    moments<T, A>(g, i, len, c, m, v);
    if (dgp == nullptr) {
      if (eps_root) {
        backward_block<T, A, false, true>(len, m, v, pp + i, gop + i, nullptr, nullptr, nullptr, c, dpp + i,
                                          nullptr, nullptr, nullptr, prod_p, prod_u);
      } else {
        backward_block<T, A, false, false>(len, m, v, pp + i, gop + i, nullptr, nullptr, nullptr, c, dpp + i,
                                           nullptr, nullptr, nullptr, prod_p, prod_u);
      }
    } else {
      const T* dmi_b = dmi ? dmi + i : zeros;
      const T* dvi_b = dvi ? dvi + i : zeros;
      T* dmo_b = dmo ? dmo + i : scratch_m;
      T* dvo_b = dvo ? dvo + i : scratch_v;
      if (eps_root) {
        backward_block<T, A, true, true>(len, m, v, pp + i, gop + i, gn + i, dmi_b, dvi_b, c, dpp + i, dgp + i,
                                         dmo_b, dvo_b, prod_p, prod_u);
      } else {
        backward_block<T, A, true, false>(len, m, v, pp + i, gop + i, gn + i, dmi_b, dvi_b, c, dpp + i, dgp + i,
                                          dmo_b, dvo_b, prod_p, prod_u);
      }
    }
    // The block's sums in element order, as the plain loop adds them.
    A block_p = 0, block_u = 0;
    for (int64_t e = 0; e < len; ++e) {
      block_p += prod_p[e];
      block_u += prod_u[e];
    }
    sum_p += static_cast<double>(block_p);
    sum_u += static_cast<double>(block_u);
  }
  return {sum_p, sum_u};
}

template <typename T, typename A>
std::pair<double, double> backward_baseline(const BackwardArgs<T, A>& a, int64_t begin, int64_t end) {
  return backward_any(a, begin, end);
}

template <typename T, typename A>
RECKONING_TARGET_AVX2 std::pair<double, double> backward_avx2(const BackwardArgs<T, A>& a, int64_t begin, int64_t end) {
  return backward_any(a, begin, end);
}

// Writes `out` from the upstream gradients: go (d p'), dm_in / dv_in (d m_n, d v_n, from the next
// step; undefined when it did not use them); returns (sum p * go, sum u * go) for the rate's
// gradient, summed per parallel task in double and then in task order (deterministic for a given
// thread count).
template <typename T, typename A>
std::pair<double, double> backward_kernel(const torch::Tensor& p, const std::vector<torch::Tensor>& grads,
                                          const torch::Tensor& go, const torch::Tensor& dm_in,
                                          const torch::Tensor& dv_in, const StepConstants<A>& c,
                                          BackwardOut& out) {
  const std::vector<const T*> g = pointers<T>(grads);
  const BackwardArgs<T, A> args{&g,
                                &c,
                                p.data_ptr<T>(),
                                go.data_ptr<T>(),
                                g.back(),
                                data_or_null<T>(dm_in),
                                data_or_null<T>(dv_in),
                                out.dp.data_ptr<T>(),
                                out.dg.defined() ? out.dg.data_ptr<T>() : nullptr,
                                out.dm.defined() ? out.dm.data_ptr<T>() : nullptr,
                                out.dv.defined() ? out.dv.data_ptr<T>() : nullptr,
                                c.eps_root != A(0)};
  std::mutex mutex;
  std::vector<std::tuple<int64_t, double, double>> partial;
  at::parallel_for(0, p.numel(), kGrain, [&](int64_t begin, int64_t end) {
    const std::pair<double, double> sums =
        cpu_has_avx2() ? backward_avx2(args, begin, end) : backward_baseline(args, begin, end);
    const std::lock_guard<std::mutex> lock(mutex);
    partial.emplace_back(begin, sums.first, sums.second);
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

torch::Tensor contiguous_or_undefined(const torch::Tensor& t) {
  return t.defined() ? t.contiguous() : t;
}

// The same forward and backward as tensor operations, for any device. The rate stays a tensor:
// `lr` is 0-dim on p's device, so nothing is read to the host.
struct TensorConstants {
  double b1, c1, b2, c2, inv_sqrt_bias2, eps, bias1;  // as StepConstants, and 1 - beta1^n
  double inv_bias2, eps_root;
  torch::Tensor decay, step, neg_step;  // 1 - lr wd, lr / (1 - b1^n), its negative: 0-dim, lr's dtype
  TensorConstants(const AdamWHyper& h, int64_t n, const torch::Tensor& lr)
      : b1(h.beta1), c1(1.0 - h.beta1), b2(h.beta2), c2(1.0 - h.beta2),
        inv_sqrt_bias2(reckoning::inv_sqrt_bias2(h, n)), eps(h.eps), bias1(reckoning::bias1(h, n)),
        inv_bias2(reckoning::inv_bias2(h, n)), eps_root(h.eps_root) {
    const torch::Tensor r = lr.detach();
    decay = 1.0 - r * h.weight_decay;
    step = r / bias1;
    neg_step = -step;
  }
};

// Moments after one more gradient: m b1 + g c1 (as lerp) and v b2 + g^2 c2; m, v undefined before
// the first gradient. Few kernels: on a GPU each tensor operation is a launch.
void moments_ops(const torch::Tensor& g, const TensorConstants& c, torch::Tensor& m, torch::Tensor& v) {
  if (m.defined()) {
    m = torch::lerp(g, m, c.b1);
    v = torch::addcmul(v * c.b2, g, g, c.c2);
  } else {
    m = g * c.c1;
    v = (g * g).mul_(c.c2);
  }
}

// The square root of Adam's denominator, as StepConstants::root.
torch::Tensor root_ops(const torch::Tensor& v, const TensorConstants& c) {
  if (c.eps_root == 0) return v.clamp_min(0).sqrt_().mul_(c.inv_sqrt_bias2);
  return v.clamp_min(0).mul_(c.inv_bias2).add_(c.eps_root).sqrt_();
}

// root + eps: Adam's denominator.
torch::Tensor denominator_ops(const torch::Tensor& v, const TensorConstants& c) {
  return root_ops(v, c).add_(c.eps);
}

void forward_ops(const torch::Tensor& p, const torch::Tensor& m_in, const torch::Tensor& v_in,
                 const torch::Tensor& g_n, const TensorConstants& c, torch::Tensor& out, torch::Tensor& m_out,
                 torch::Tensor& v_out) {
  m_out = m_in;
  v_out = v_in;
  moments_ops(g_n, c, m_out, v_out);
  // p (1 - lr wd) - (lr / bias1) m / denom, the rate as a device tensor.
  out = torch::addcmul(p * c.decay, c.neg_step, m_out / denominator_ops(v_out, c));
}

// Returns the rate's gradient as a float64 tensor on p's device: 0-dim, or with per-task rates
// (`tasks` > 0) one per task of p's leading dimension.
torch::Tensor backward_ops(const torch::Tensor& p, const std::vector<torch::Tensor>& g, const torch::Tensor& go,
                           const torch::Tensor& dm_in, const torch::Tensor& dv_in, const TensorConstants& c,
                           double weight_decay, bool need_g, int64_t tasks, BackwardOut& out) {
  torch::Tensor m, v;
  for (const torch::Tensor& gj : g) moments_ops(gj, c, m, v);
  const torch::Tensor root = root_ops(v, c);
  const torch::Tensor denom = root + c.eps;
  const torch::Tensor u = m / denom;
  out.dp = go * c.decay;
  auto total = [&](const torch::Tensor& x) {
    return tasks > 0 ? x.reshape({tasks, -1}).sum(1, false, torch::kFloat64) : x.sum(torch::kFloat64);
  };
  const torch::Tensor sum_p = total(p * go), sum_u = total(u * go);
  if (need_g) {
    // dm = -go step / denom; dv = go step u / (denom 2 sqrt(1 - b2^n) sqrt(v)), zero where v <= 0
    // (the safe square root's gradient), as in the kernel.
    torch::Tensor dm = (go * c.neg_step).div_(denom);
    if (dm_in.defined()) dm.add_(dm_in);
    torch::Tensor dv;
    if (c.eps_root == 0) {
      dv = (go * u).div_(denom).mul_(c.step).mul_(c.inv_sqrt_bias2 / 2).div_(v.clamp_min(0).sqrt());
      dv = torch::where(v > 0, dv, torch::zeros({}, dv.options()));
    } else {  // d root / d v = 1 / (2 (1 - b2^n) root), root >= sqrt(eps_root) > 0
      dv = (go * u).div_(denom).mul_(c.step).mul_(c.inv_bias2 / 2).div_(root);
    }
    if (dv_in.defined()) dv.add_(dv_in);
    out.dg = torch::addcmul(dm * c.c1, dv, g.back(), 2 * c.c2);
    if (g.size() > 1) {
      out.dm = dm * c.b1;
      out.dv = dv.mul_(c.b2);
    }
  }
  return -(weight_decay * sum_p + sum_u / c.bias1);
}

// A tensor in the type the tensor-operation path computes in: float64 when hyper.float64 asks for
// it, its own type otherwise (undefined stays undefined).
torch::Tensor in_compute_type(const torch::Tensor& t, const AdamWHyper& h) {
  return h.float64 && t.defined() ? t.to(torch::kFloat64) : t;
}

// The rate's values on the host: one (0-dim lr) or one per task (lr of shape (tasks)).
std::vector<double> rate_values(const torch::Tensor& lr) {
  const torch::Tensor host = lr.detach().to(torch::kCPU, torch::kFloat64).reshape(-1).contiguous();
  return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
}

// Refuses a rate that is neither 0-dim nor one per task of p's leading dimension.
void check_rate(const torch::Tensor& p, const torch::Tensor& lr, const char* where) {
  TORCH_CHECK(lr.dim() == 0 || (lr.dim() == 1 && p.dim() >= 2 && lr.size(0) == p.size(0)), where,
              ": the rate must be 0-dim, or one per task (tasks) for a tensor of shape (tasks, ...); got rate ",
              lr.sizes(), " for a tensor of shape ", p.sizes());
}

// p' and the moments after g_n (the forward's values) from contiguous p, m, v (undefined for n = 1)
// and g_n: the CPU kernel, or tensor operations (`tensor_ops`); outputs in p's type.
void step_values(const torch::Tensor& p, const torch::Tensor& lr, const torch::Tensor& m, const torch::Tensor& v,
                 const torch::Tensor& g_n, int64_t n, const AdamWHyper& h, bool tensor_ops, torch::Tensor& next,
                 torch::Tensor& m_next, torch::Tensor& v_next) {
  if (tensor_ops) {
    forward_ops(in_compute_type(p, h), in_compute_type(m, h), in_compute_type(v, h), in_compute_type(g_n, h),
                TensorConstants(h, n, in_compute_type(task_broadcast(lr, p.dim()), h)), next, m_next, v_next);
    next = next.to(p.scalar_type()), m_next = m_next.to(p.scalar_type()), v_next = v_next.to(p.scalar_type());
    return;
  }
  next = torch::empty_like(p), m_next = torch::empty_like(p), v_next = torch::empty_like(p);
  // One kernel call over the whole tensor, or with per-task rates one per task's block (a slice of a
  // contiguous tensor along dimension 0 is contiguous).
  const std::vector<double> rates = rate_values(lr);
  for (size_t t = 0; t < rates.size(); ++t) {
    auto part = [&](const torch::Tensor& x) { return lr.dim() == 0 || !x.defined() ? x : x.select(0, static_cast<int64_t>(t)); };
    torch::Tensor o = part(next), mo = part(m_next), vo = part(v_next);
    AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, p.scalar_type(), "adamw_step_fused", [&] {
      if (h.float64) {
        forward_kernel<scalar_t, double>(part(p), part(m), part(v), part(g_n), StepConstants<double>(h, n, rates[t]), o,
                                         mo, vo);
      } else {
        forward_kernel<scalar_t, Acc<scalar_t>>(part(p), part(m), part(v), part(g_n),
                                                StepConstants<Acc<scalar_t>>(h, n, rates[t]), o, mo, vo);
      }
    });
  }
}

// Inputs: p, lr, {m, v} (empty for the first step: LibTorch 1.13 takes no undefined inputs), g_1..g_n. Outputs: p', m', v'. Saves p, lr
// and the history; not the moments, which the backward recomputes from the history.
struct AdamWStep : public torch::autograd::Function<AdamWStep> {
  static torch::autograd::variable_list forward(torch::autograd::AutogradContext* ctx, const torch::Tensor& p_in,
                                                const torch::Tensor& lr, torch::TensorList moments_in,
                                                torch::TensorList grads_in, AdamWHyper h, bool tensor_ops) {
    TORCH_CHECK(!grads_in.empty(), "adamw_step_fused: empty gradient history");
    TORCH_CHECK(moments_in.size() == (grads_in.size() > 1 ? 2u : 0u),
                "adamw_step_fused: the moments (m, v) are given exactly when the history is longer than one step");
    const torch::Tensor p = p_in.contiguous();
    torch::Tensor m, v;  // undefined for the first step
    if (!moments_in.empty()) {
      m = moments_in[0].contiguous();
      v = moments_in[1].contiguous();
    }
    const torch::Tensor g_n = grads_in.back().contiguous();
    const int64_t n = static_cast<int64_t>(grads_in.size());
    torch::Tensor next, m_next, v_next;
    step_values(p, lr, m, v, g_n, n, h, tensor_ops, next, m_next, v_next);
    std::vector<torch::Tensor> saved{p_in, lr};
    saved.insert(saved.end(), grads_in.begin(), grads_in.end());
    ctx->save_for_backward(saved);
    ctx->saved_data["beta1"] = h.beta1;
    ctx->saved_data["beta2"] = h.beta2;
    ctx->saved_data["eps"] = h.eps;
    ctx->saved_data["weight_decay"] = h.weight_decay;
    ctx->saved_data["eps_root"] = h.eps_root;
    ctx->saved_data["float64"] = h.float64;
    bool grads_need = false;
    for (const auto& t : grads_in) grads_need = grads_need || t.requires_grad();
    ctx->saved_data["grads_need"] = grads_need;
    ctx->saved_data["tensor_ops"] = tensor_ops;
    // Without a gradient through the inner gradients (first order) the moments carry none either.
    if (!grads_need) ctx->mark_non_differentiable({m_next, v_next});
    // The last step's moments are never used: no zero-filled gradients for them.
    ctx->set_materialize_grads(false);
    return {next.view(p_in.sizes()), m_next.view(p_in.sizes()), v_next.view(p_in.sizes())};
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grad_out) {
    const std::vector<torch::Tensor> saved = ctx->get_saved_variables();
    const int64_t n = static_cast<int64_t>(saved.size()) - 2;
    const size_t n_moments = n > 1 ? 2 : 0;
    torch::autograd::variable_list out(4 + n_moments + static_cast<size_t>(n));  // p, lr, {m, v}, g_1..g_n, hyper, impl
    torch::Tensor go = grad_out[0];
    const torch::Tensor dm_in = contiguous_or_undefined(grad_out[1]);
    const torch::Tensor dv_in = contiguous_or_undefined(grad_out[2]);
    if (!go.defined() && !dm_in.defined() && !dv_in.defined()) return out;
    const torch::Tensor p = saved[0].contiguous();
    const torch::Tensor& lr = saved[1];
    go = go.defined() ? go.contiguous() : torch::zeros_like(p);
    const std::vector<torch::Tensor> g = contiguous(torch::TensorList(saved).slice(2));
    const AdamWHyper h{ctx->saved_data["beta1"].toDouble(),        ctx->saved_data["beta2"].toDouble(),
                       ctx->saved_data["eps"].toDouble(),          ctx->saved_data["weight_decay"].toDouble(),
                       ctx->saved_data["eps_root"].toDouble(),     ctx->saved_data["float64"].toBool()};
    const bool need_g = ctx->saved_data["grads_need"].toBool();
    BackwardOut grads;
    const auto shape = saved[0].sizes();
    if (ctx->saved_data["tensor_ops"].toBool()) {
      std::vector<torch::Tensor> g_compute;
      for (const auto& t : g) g_compute.push_back(in_compute_type(t, h));
      out[1] = backward_ops(in_compute_type(p, h), g_compute, in_compute_type(go, h), in_compute_type(dm_in, h),
                            in_compute_type(dv_in, h), TensorConstants(h, n, in_compute_type(task_broadcast(lr, p.dim()), h)),
                            h.weight_decay, need_g, lr.dim() == 0 ? 0 : lr.size(0), grads)
                   .to(lr.scalar_type())
                   .view(lr.sizes());
      for (torch::Tensor* t : {&grads.dp, &grads.dg, &grads.dm, &grads.dv}) {
        if (t->defined()) *t = t->to(p.scalar_type());
      }
    } else {
      grads.dp = torch::empty_like(p);
      if (need_g) {
        grads.dg = torch::empty_like(p);
        if (n > 1) {
          grads.dm = torch::empty_like(p);
          grads.dv = torch::empty_like(p);
        }
      }
      // One kernel call, or with per-task rates one per task's block (its rate's gradient its own).
      const std::vector<double> rates = rate_values(lr);
      std::vector<double> lr_grads;
      for (size_t t = 0; t < rates.size(); ++t) {
        auto part = [&](const torch::Tensor& x) {
          return lr.dim() == 0 || !x.defined() ? x : x.select(0, static_cast<int64_t>(t));
        };
        std::vector<torch::Tensor> g_part;
        for (const torch::Tensor& gj : g) g_part.push_back(part(gj));
        BackwardOut grads_part{part(grads.dp), part(grads.dg), part(grads.dm), part(grads.dv)};
        std::pair<double, double> sums;
        AT_DISPATCH_FLOATING_TYPES_AND(at::kBFloat16, p.scalar_type(), "adamw_step_fused_backward", [&] {
          if (h.float64) {
            sums = backward_kernel<scalar_t, double>(part(p), g_part, part(go), part(dm_in), part(dv_in),
                                                     StepConstants<double>(h, n, rates[t]), grads_part);
          } else {
            sums = backward_kernel<scalar_t, Acc<scalar_t>>(part(p), g_part, part(go), part(dm_in), part(dv_in),
                                                            StepConstants<Acc<scalar_t>>(h, n, rates[t]), grads_part);
          }
        });
        lr_grads.push_back(-(h.weight_decay * sums.first + sums.second / bias1(h, n)));
      }
      out[1] = torch::tensor(lr_grads, torch::kFloat64).to(lr.options()).view(lr.sizes());
    }
    out[0] = grads.dp.view(shape);
    if (grads.dm.defined()) out[2] = grads.dm.view(shape);
    if (grads.dv.defined()) out[3] = grads.dv.view(shape);
    if (grads.dg.defined()) out[2 + n_moments + static_cast<size_t>(n - 1)] = grads.dg.view(shape);
    return out;  // earlier inner gradients get theirs through the moments; hyper gets none
  }
};

}  // namespace

AdamWStepResult adamw_step_fused(const torch::Tensor& p, const torch::Tensor& lr, const AdamWMoments& moments,
                                 torch::TensorList grads, const AdamWHyper& hyper, AdamWImpl impl) {
  check_rate(p, lr, "adamw_step_fused");
  std::vector<torch::Tensor> given;
  if (moments.m.defined()) given = {moments.m, moments.v};
  const bool tensor_ops = impl == AdamWImpl::TensorOps || (impl == AdamWImpl::Auto && !p.is_cpu());
  torch::autograd::variable_list out = AdamWStep::apply(p, lr, torch::TensorList(given), grads, hyper, tensor_ops);
  return {out[0], {out[1], out[2]}};
}

AdamWStepResult adamw_step_values(const torch::Tensor& p, const torch::Tensor& lr, const AdamWMoments& moments,
                                  const torch::Tensor& g, int64_t n, const AdamWHyper& hyper, AdamWImpl impl) {
  TORCH_CHECK(n >= 1 && moments.m.defined() == (n > 1), "adamw_step_values: the moments are given exactly after step 1");
  check_rate(p, lr, "adamw_step_values");
  torch::NoGradGuard no_grad;
  const bool tensor_ops = impl == AdamWImpl::TensorOps || (impl == AdamWImpl::Auto && !p.is_cpu());
  const torch::Tensor pc = p.detach().contiguous();
  torch::Tensor next, m_next, v_next;
  step_values(pc, lr.detach(), moments.m.defined() ? moments.m.contiguous() : torch::Tensor(),
              moments.v.defined() ? moments.v.contiguous() : torch::Tensor(), g.detach().contiguous(), n, hyper,
              tensor_ops, next, m_next, v_next);
  return {next.view(p.sizes()), {m_next.view(p.sizes()), v_next.view(p.sizes())}};
}

}  // namespace reckoning
