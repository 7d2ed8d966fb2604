// The fused AdamW node's two implementations (inner_adamw.h) - the CPU kernel and the tensor
// operations other devices take - give the same outputs and the same gradients, in float64, over a
// history of several steps with carried moments, at the real epsilon and with zero gradient entries
// (where the safe square root's derivative is cut). tests/meta/inner_loop_test.cpp checks the kernel
// against the update written as plain ops; tests/base/device_test.cpp the GPU against the CPU.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "reckoning/meta/inner_adamw.h"

using namespace reckoning;

namespace {

struct StepsRun {
  std::vector<torch::Tensor> outputs;    // p', m', v' of every step
  std::vector<torch::Tensor> gradients;  // of a fixed functional, w.r.t. p_0, lr and every g_k
};

StepsRun run(AdamWImpl impl, int64_t steps, double weight_decay, double eps_root = 0) {
  torch::manual_seed(7);
  const auto f64 = torch::dtype(torch::kFloat64);
  torch::Tensor p0 = torch::randn({5, 7}, f64).requires_grad_(true);
  torch::Tensor lr = torch::tensor(0.03, f64).requires_grad_(true);
  std::vector<torch::Tensor> history;
  std::vector<torch::Tensor> leaves{p0, lr};
  const AdamWHyper hyper{0.9, 0.999, 1e-8, weight_decay, eps_root};
  AdamWMoments moments;
  torch::Tensor p = p0;
  StepsRun r;
  torch::Tensor functional = torch::zeros({}, f64);
  for (int64_t k = 0; k < steps; ++k) {
    torch::Tensor g = torch::randn({5, 7}, f64);
    g.index_put_({0}, 0.0);  // a row that never moves: v == 0 there
    g.requires_grad_(true);
    leaves.push_back(g);
    history.push_back(g);
    AdamWStepResult step = adamw_step_fused(p, lr, moments, torch::TensorList(history), hyper, impl);
    for (const torch::Tensor& t : {step.p, step.moments.m, step.moments.v}) {
      r.outputs.push_back(t.detach().clone());
      functional = functional + (t * torch::randn_like(t)).sum();
    }
    p = step.p;
    moments = step.moments;
  }
  r.gradients = torch::autograd::grad({functional}, leaves);
  return r;
}

TEST(InnerAdamW, TensorOpsEqualTheKernel) {
  for (int64_t steps : {1, 2, 4}) {
    for (double wd : {0.0, 0.1}) {
      for (double eps_root : {0.0, 1e-6}) {
        const StepsRun kernel = run(AdamWImpl::Kernel, steps, wd, eps_root),
                       ops = run(AdamWImpl::TensorOps, steps, wd, eps_root);
        ASSERT_EQ(kernel.outputs.size(), ops.outputs.size());
        for (size_t i = 0; i < kernel.outputs.size(); ++i) {
          EXPECT_TRUE(torch::allclose(kernel.outputs[i], ops.outputs[i], 1e-12, 1e-14))
              << steps << " steps, output " << i;
        }
        ASSERT_EQ(kernel.gradients.size(), ops.gradients.size());
        for (size_t i = 0; i < kernel.gradients.size(); ++i) {
          EXPECT_GT(kernel.gradients[i].abs().sum().item<double>(), 0.0) << "input " << i;
          EXPECT_TRUE(torch::allclose(kernel.gradients[i], ops.gradients[i], 1e-10, 1e-12))
              << steps << " steps, weight decay " << wd << ", eps_root " << eps_root << ", input " << i
              << ", max difference " << (kernel.gradients[i] - ops.gradients[i]).abs().max().item<double>();
        }
      }
    }
  }
}

// d<w, p_n>/d(g_1..g_n) after `steps` steps from float32 draws, computed with `dtype` tensors.
torch::Tensor history_gradient(AdamWImpl impl, torch::Dtype dtype, bool float64_update, int64_t steps) {
  torch::manual_seed(9);
  torch::Tensor p = torch::randn({64, 64}).to(dtype);
  const torch::Tensor w = torch::randn({64, 64}).to(dtype);
  const torch::Tensor lr = torch::tensor(0.01).to(dtype);
  const AdamWHyper hyper{0.9, 0.999, 1e-8, 0.01, 0.0, float64_update};
  std::vector<torch::Tensor> history;
  AdamWMoments moments;
  for (int64_t k = 0; k < steps; ++k) {
    history.push_back(torch::randn({64, 64}).to(dtype).requires_grad_(true));  // |g| >> eps almost everywhere
    AdamWStepResult step = adamw_step_fused(p, lr, moments, torch::TensorList(history), hyper, impl);
    p = step.p;
    moments = step.moments;
  }
  std::vector<torch::Tensor> grads = torch::autograd::grad({(p * w).sum()}, history);
  for (auto& g : grads) g = g.to(torch::kFloat64).flatten();
  return torch::cat(grads);
}

double relative_error(const torch::Tensor& a, const torch::Tensor& reference) {
  return ((a - reference).norm() / reference.norm()).item<double>();
}

TEST(InnerAdamW, Float64UpdateRemovesTheFloat32CancellationInTheDerivative) {
  // Where |g| >> eps the update is nearly flat in g: its derivative is two large terms (through
  // m and through v) that cancel, and in float32 their rounding is most of the result. Computed
  // in float64 (stored in float32) it matches the float64 reference to float32 storage precision.
  for (const AdamWImpl impl : {AdamWImpl::Kernel, AdamWImpl::TensorOps}) {
    for (int64_t steps : {1, 3}) {
      const torch::Tensor reference = history_gradient(impl, torch::kFloat64, false, steps);
      const double plain = relative_error(history_gradient(impl, torch::kFloat32, false, steps), reference);
      const double wide = relative_error(history_gradient(impl, torch::kFloat32, true, steps), reference);
      EXPECT_LT(wide, 1e-5) << steps << " steps, plain float32 " << plain;
      if (steps == 1) {  // after one step the two terms cancel exactly (m_hat / sqrt(v_hat) = sign(g))
        EXPECT_GT(plain, 1e-3) << "the cancellation this remedy exists for";
        EXPECT_LT(wide, plain / 100);
      }
    }
  }
}

TEST(InnerAdamW, AutoTakesTheKernelOnTheCpu) {
  // Auto on CPU tensors is the kernel: bit-identical results.
  const StepsRun a = run(AdamWImpl::Auto, 3, 0.1), k = run(AdamWImpl::Kernel, 3, 0.1);
  for (size_t i = 0; i < a.outputs.size(); ++i) EXPECT_TRUE(torch::equal(a.outputs[i], k.outputs[i]));
  for (size_t i = 0; i < a.gradients.size(); ++i) EXPECT_TRUE(torch::equal(a.gradients[i], k.gradients[i]));
}

TEST(InnerAdamW, ValuesWithoutAGraphEqualTheNodesToTheBit) {
  // Evaluation's step (adamw_step_values: no autograd, moments carried) gives exactly the node's
  // outputs, step after step, for both implementations, float32 and float64 tensors, the float64
  // update and eps_root; and builds no graph even from inputs that require grad.
  for (const AdamWImpl impl : {AdamWImpl::Kernel, AdamWImpl::TensorOps}) {
    for (const torch::Dtype dtype : {torch::kFloat32, torch::kFloat64}) {
      for (const bool wide : {false, true}) {
        for (const double eps_root : {0.0, 1e-10}) {
          torch::manual_seed(11);
          const AdamWHyper hyper{0.9, 0.999, 1e-8, 0.01, eps_root, wide};
          torch::Tensor p = torch::randn({6, 33}).to(dtype).requires_grad_(true);
          const torch::Tensor lr = torch::tensor(0.02).to(dtype).requires_grad_(true);
          torch::Tensor q = p.detach();
          std::vector<torch::Tensor> history;
          AdamWMoments node_moments, value_moments;
          for (int64_t n = 1; n <= 4; ++n) {
            torch::Tensor g = torch::randn({6, 33}).to(dtype);
            g.index_put_({1}, 0.0);  // v == 0 in a row
            history.push_back(g);
            const AdamWStepResult node = adamw_step_fused(p, lr, node_moments, torch::TensorList(history), hyper, impl);
            const AdamWStepResult values = adamw_step_values(q, lr, value_moments, g, n, hyper, impl);
            EXPECT_FALSE(values.p.requires_grad());
            EXPECT_TRUE(torch::equal(values.p, node.p.detach())) << "step " << n;
            EXPECT_TRUE(torch::equal(values.moments.m, node.moments.m.detach())) << "step " << n;
            EXPECT_TRUE(torch::equal(values.moments.v, node.moments.v.detach())) << "step " << n;
            EXPECT_FALSE(torch::equal(values.p, q)) << "the step moves the tensor";
            p = node.p, q = values.p;
            node_moments = node.moments, value_moments = values.moments;
          }
        }
      }
    }
  }
  EXPECT_THROW(adamw_step_values(torch::zeros({2}), torch::tensor(0.1), {}, torch::zeros({2}), 2,
                                 AdamWHyper{0.9, 0.999, 1e-8, 0.0}),
               c10::Error);
}

TEST(InnerAdamW, PerTaskRatesStepEachTaskAsItsOwnNode) {
  // A task-batched tensor (3 tasks) with one rate per task: every output and every gradient - each
  // task's rate's its own - equals the three tasks' own nodes with their 0-dim rates, over 3 steps
  // with carried moments (float64; both implementations, eps_root and the float64 update); the
  // values-only step too. A rate of any other shape is refused.
  for (const AdamWImpl impl : {AdamWImpl::Kernel, AdamWImpl::TensorOps}) {
    for (const double eps_root : {0.0, 1e-10}) {
      torch::manual_seed(13);
      const auto f64 = torch::dtype(torch::kFloat64);
      const AdamWHyper hyper{0.9, 0.999, 1e-8, 0.05, eps_root, eps_root > 0};
      const torch::Tensor p0 = torch::randn({3, 4, 5}, f64).requires_grad_(true);
      const torch::Tensor lr = torch::tensor({0.01, 0.03, 0.02}, f64).requires_grad_(true);
      std::vector<torch::Tensor> gs;
      for (int k = 0; k < 3; ++k) {
        torch::Tensor g = torch::randn({3, 4, 5}, f64);
        g.index_put_({1, 0}, 0.0);  // v == 0 in a row of task 1
        gs.push_back(g.requires_grad_(true));
      }
      std::vector<torch::Tensor> weights;  // a fixed functional of every output
      for (int k = 0; k < 9; ++k) weights.push_back(torch::randn({3, 4, 5}, f64));
      // Batched.
      torch::Tensor p = p0, functional = torch::zeros({}, f64);
      AdamWMoments moments, value_moments;
      torch::Tensor q = p0.detach();
      std::vector<torch::Tensor> outputs;
      for (int k = 0; k < 3; ++k) {
        const std::vector<torch::Tensor> history(gs.begin(), gs.begin() + k + 1);
        AdamWStepResult step = adamw_step_fused(p, lr, moments, torch::TensorList(history), hyper, impl);
        const AdamWStepResult values = adamw_step_values(q, lr, value_moments, gs[static_cast<size_t>(k)], k + 1, hyper, impl);
        EXPECT_TRUE(torch::equal(values.p, step.p.detach())) << "step " << k;
        q = values.p, value_moments = values.moments;
        for (const torch::Tensor& t : {step.p, step.moments.m, step.moments.v}) {
          outputs.push_back(t.detach());
          functional = functional + (t * weights[outputs.size() - 1]).sum();
        }
        p = step.p, moments = step.moments;
      }
      std::vector<torch::Tensor> leaves{p0, lr};
      leaves.insert(leaves.end(), gs.begin(), gs.end());
      const std::vector<torch::Tensor> grads = torch::autograd::grad({functional}, leaves);
      ASSERT_EQ(grads[1].sizes(), lr.sizes());
      // Each task alone.
      for (int64_t t = 0; t < 3; ++t) {
        const torch::Tensor pt0 = p0.detach()[t].clone().requires_grad_(true);
        const torch::Tensor lrt = lr.detach()[t].clone().requires_grad_(true);
        std::vector<torch::Tensor> gt;
        for (const torch::Tensor& g : gs) gt.push_back(g.detach()[t].clone().requires_grad_(true));
        torch::Tensor pt = pt0, f = torch::zeros({}, f64);
        AdamWMoments mt;
        size_t out = 0;
        for (int k = 0; k < 3; ++k) {
          const std::vector<torch::Tensor> history(gt.begin(), gt.begin() + k + 1);
          AdamWStepResult step = adamw_step_fused(pt, lrt, mt, torch::TensorList(history), hyper, impl);
          for (const torch::Tensor& o : {step.p, step.moments.m, step.moments.v}) {
            EXPECT_LT((o.detach() - outputs[out][t]).abs().max().item<double>(), 1e-15) << "task " << t << " output " << out;
            f = f + (o * weights[out][t]).sum();
            ++out;
          }
          pt = step.p, mt = step.moments;
        }
        std::vector<torch::Tensor> own{pt0, lrt};
        own.insert(own.end(), gt.begin(), gt.end());
        const std::vector<torch::Tensor> expected = torch::autograd::grad({f}, own);
        EXPECT_LT((grads[0][t] - expected[0]).abs().max().item<double>(), 1e-12) << "d p, task " << t;
        EXPECT_NEAR(grads[1][t].item<double>(), expected[1].item<double>(), 1e-12) << "d lr, task " << t;
        for (size_t k = 0; k < 3; ++k) {
          EXPECT_LT((grads[2 + k][t] - expected[2 + k]).abs().max().item<double>(), 1e-12) << "d g, task " << t;
        }
      }
    }
  }
  const AdamWHyper hyper{0.9, 0.999, 1e-8, 0.0};
  const torch::Tensor g = torch::zeros({3, 2});
  EXPECT_THROW(adamw_step_fused(torch::zeros({3, 2}), torch::ones({2}), {}, torch::TensorList(g), hyper), c10::Error);
  EXPECT_THROW(adamw_step_values(torch::zeros({3, 2}), torch::ones({3, 1}), {}, g, 1, hyper), c10::Error);
}

}  // namespace
