// The inner loop; see inner_loop.h. Follows the semantics of higher's differentiable AdamW with
// per-tensor learned rates (the authors' code), restated in RECKONING.md section 2.
#include "reckoning/meta/inner_loop.h"

#include <cmath>
#include <functional>
#include <memory>

#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/meta/inner_adamw.h"
#include "reckoning/model/lora.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

template <>
const std::vector<EnumName<InnerOptimizer>>& enum_names<InnerOptimizer>() {
  static const std::vector<EnumName<InnerOptimizer>> table{{InnerOptimizer::AdamW, "adamw"},
                                                           {InnerOptimizer::Sgd, "sgd"}};
  return table;
}

bool inner_adapts_lora(const InnerLoopConfig& inner) { return inner.adapt == "lora"; }

std::vector<bool> inner_adapted_mask(const DecoderConfig& config, const InnerLoopConfig& inner) {
  std::vector<WeightSpec> specs = decoder_weight_specs(config);
  std::vector<bool> mask(specs.size(), !inner_adapts_lora(inner));
  if (inner.adapt.empty() || inner.adapt == "full" || inner_adapts_lora(inner)) return mask;
  std::regex pattern;
  try {
    pattern = std::regex(inner.adapt);
  } catch (const std::regex_error& e) {
    throw_error("inner.adapt", "a valid regular expression", str("'", inner.adapt, "' (", e.what(), ")"));
  }
  bool any = false;
  for (size_t i = 0; i < specs.size(); ++i) {
    mask[i] = std::regex_search(specs[i].name, pattern);
    any = any || mask[i];
  }
  check(any, "inner.adapt", "a pattern matching at least one weight name (e.g. 'h\\.1\\.')",
        str("'", inner.adapt, "', which matches none"));
  return mask;
}

std::vector<WeightSpec> inner_rate_specs(const DecoderConfig& config, const InnerLoopConfig& inner,
                                         const DecoderWeights& weights) {
  if (!inner_adapts_lora(inner)) return decoder_weight_specs(config);
  check(lora_present(weights), "inner.adapt", "LoRA adapters on the model with 'lora' (inner.lora_rank ...)",
        "a model without adapters");
  return lora_specs(config, lora_config_of(weights));
}

namespace {

// The facts' inner loss (a scalar, or with `tasks` > 0 one per task: (tasks)), its values, and the
// gradient of its sum with respect to `inputs` (graph kept when `create_graph`). With a chunk size,
// the facts are taken `chunk` at a time (per task: each task's rows are one block of the batch) and
// the chunks' losses weighted by their share of the task's sequences with targets (masked_lm_loss is
// a mean over those), so losses and gradients equal one batch's; each chunk's graph is freed after
// its gradient unless kept.
std::pair<std::vector<double>, std::vector<torch::Tensor>> fact_loss_and_grad(
    const std::function<torch::Tensor(const LmBatch&)>& loss_of, const LmBatch& facts,
    const std::vector<torch::Tensor>& inputs, int64_t chunk, bool create_graph, int64_t tasks) {
  const int64_t groups = std::max<int64_t>(1, tasks);
  const int64_t n = facts.ids.size(0) / groups;  // sequences per task
  auto values_of = [](const torch::Tensor& loss) {
    const torch::Tensor host = loss.detach().to(torch::kCPU, torch::kFloat64).reshape(-1).contiguous();
    return std::vector<double>(host.data_ptr<double>(), host.data_ptr<double>() + host.numel());
  };
  auto grad_of = [&](const torch::Tensor& loss) {
    return torch::autograd::grad({loss.dim() == 0 ? loss : loss.sum()}, inputs, {}, /*retain_graph=*/create_graph,
                                 create_graph, /*allow_unused=*/true);
  };
  if (chunk <= 0 || chunk >= n) {
    torch::Tensor loss = loss_of(facts);
    std::vector<torch::Tensor> grads = grad_of(loss);
    return {values_of(loss), grads};
  }
  const torch::Tensor with_targets = facts.target_mask.any(1).view({groups, n}).to(torch::kFloat64);  // (G, n)
  const torch::Tensor total = with_targets.sum(1).clamp_min(1.0);                                   // (G)
  std::vector<double> loss_sum(static_cast<size_t>(groups), 0.0);
  std::vector<torch::Tensor> sum(inputs.size());
  auto rows = [&](const torch::Tensor& t, int64_t start, int64_t len) {  // each task's rows [start, start + len)
    if (tasks == 0) return t.narrow(0, start, len);
    return t.view({groups, n, t.size(1)}).narrow(1, start, len).reshape({groups * len, t.size(1)});
  };
  for (int64_t start = 0; start < n; start += chunk) {
    const int64_t len = std::min(chunk, n - start);
    const torch::Tensor share = with_targets.narrow(1, start, len).sum(1) / total;  // (G)
    if (share.sum().item<double>() == 0) continue;
    const LmBatch part{rows(facts.ids, start, len), rows(facts.attn_mask, start, len),
                       rows(facts.target_mask, start, len)};
    torch::Tensor loss = loss_of(part);
    loss = tasks == 0 ? loss * share.item<double>() : loss * share.to(loss.device(), loss.scalar_type());
    const std::vector<double> values = values_of(loss);
    for (size_t t = 0; t < values.size(); ++t) loss_sum[t] += values[t];
    std::vector<torch::Tensor> grads = grad_of(loss);
    for (size_t j = 0; j < grads.size(); ++j) {
      if (!grads[j].defined()) continue;
      sum[j] = sum[j].defined() ? sum[j] + grads[j] : grads[j];
    }
  }
  return {loss_sum, sum};
}

// sqrt with a zero gradient where x == 0 (instead of infinity), twice differentiable: the square
// root is taken of 1 at those entries and the result multiplied by 0, so no gradient reaches x.
torch::Tensor safe_sqrt(const torch::Tensor& x) {
  torch::Tensor positive = x > 0;
  return torch::where(positive, x, torch::ones_like(x)).sqrt() * positive.to(x.scalar_type());
}

// A tensor in the type the AdamW update is computed in (inner.float64_update: float64).
torch::Tensor in_update_type(const torch::Tensor& t, const InnerLoopConfig& inner) {
  return inner.float64_update ? t.to(torch::kFloat64) : t;
}

struct OptimizerState {
  std::vector<torch::Tensor> m, v;  // AdamW moments, or m = SGD momentum buffer
};

// (tasks, t's shape...)
std::vector<int64_t> batched_shape(const torch::Tensor& t, int64_t tasks) {
  std::vector<int64_t> shape{tasks};
  for (int64_t d : t.sizes()) shape.push_back(d);
  return shape;
}

// The inner loop of one task (tasks = 0: plain weights, a scalar loss) or of `tasks` tasks whose
// facts are the batch's equal blocks of rows (lm_batch_stack): every adapted tensor then starts as
// the base tensor expanded along a leading task dimension, and each task's loss, gradient norm and
// clipping are its own. Returns the fast weights and one trace per task.
struct InnerRun {
  DecoderWeights weights;
  std::vector<std::vector<InnerStepTrace>> traces;
};

InnerRun inner_run(const DecoderConfig& config, const DecoderWeights& base, const InnerLrs& lrs,
                   const InnerLoopConfig& inner, const LmBatch& facts, int64_t tasks, InnerMode mode, bool dropout) {
  const bool lora = inner_adapts_lora(inner);
  check(!lora || lora_present(base), "inner.adapt", "LoRA adapters on the model with 'lora'", "a model without adapters");
  // The fast tensors: every weight in canonical order (those `adapt` selects change), or the adapters.
  const std::vector<bool> adapted = lora ? std::vector<bool>(lora_flatten(base).size(), true)
                                         : inner_adapted_mask(config, inner);
  std::vector<torch::Tensor> fast = lora ? lora_flatten(base) : decoder_flatten(base);
  TORCH_INTERNAL_ASSERT(lrs.group_of_tensor.size() == fast.size(), "inner_loop: rate table built for ",
                        lrs.group_of_tensor.size(), " tensors, the inner loop adapts ", fast.size());
  TORCH_CHECK(lrs.tasks() == 0 || lrs.tasks() == tasks, "inner_loop: a rate table for ", lrs.tasks(),
              " tasks in an inner loop of ", tasks);
  const bool keep_graph = mode != InnerMode::Evaluate;
  const std::vector<WeightSpec> specs = inner_rate_specs(config, inner, base);
  std::vector<size_t> idx;  // indices of adapted tensors
  for (size_t i = 0; i < fast.size(); ++i) {
    if (!adapted[i]) continue;
    idx.push_back(i);
    // Task-batched: one copy per task along a new leading dimension (a view; the meta-gradient of
    // the base sums the tasks'), unless the base already holds one per task (the trainer's
    // per-task replicas).
    const int64_t held = task_count(fast[i], static_cast<int64_t>(specs[i].shape.size()));
    TORCH_CHECK(held == 0 || held == tasks, "inner_loop: ", specs[i].name, " holds ", held,
                " tasks' copies in an inner loop of ", tasks);
    if (tasks > 0 && held == 0) fast[i] = fast[i].unsqueeze(0).expand(batched_shape(fast[i], tasks));
    // Evaluation (or a base without grad): fast weights are fresh leaves, no meta-graph.
    if (!keep_graph || !fast[i].requires_grad()) fast[i] = fast[i].detach().contiguous().requires_grad_(true);
  }
  // The model with the fast tensors in place (the base's adapters, scale and dropout kept).
  auto weights_of = [&](const std::vector<torch::Tensor>& tensors) {
    return lora ? lora_with(base, tensors) : decoder_with(base, tensors);
  };
  const size_t groups = static_cast<size_t>(std::max<int64_t>(1, tasks));
  InnerRun result;
  result.traces.resize(groups);
  OptimizerState state;
  std::vector<std::vector<torch::Tensor>> history;  // AdamW with a meta-graph: g_0..g_k per tensor
  std::vector<AdamWMoments> moments;                // and the fused node's moments after them
  const AdamWHyper hyper{inner.beta1, inner.beta2, inner.eps, inner.weight_decay, inner.eps_root, inner.float64_update};
  // The rates' values for the trace, read to the host once; the update uses `rate_table`, connected.
  const torch::Tensor host_rates = lrs.rates().to(torch::kCPU, torch::kFloat64).contiguous();
  const auto rate_values = host_rates.accessor<double, 2>();
  const std::vector<std::vector<torch::Tensor>> rate_table = lrs.table();
  for (int64_t k = 0; k < lrs.steps(); ++k) {
    std::vector<InnerStepTrace> trace(groups);
    // Truncated unrolling: the first unroll_from steps of a second-order loop are first order.
    const InnerMode step_mode = mode == InnerMode::SecondOrder && k < inner.unroll_from ? InnerMode::FirstOrder : mode;
    const bool create_graph = step_mode == InnerMode::SecondOrder;
    std::vector<torch::Tensor> inputs;
    for (size_t i : idx) inputs.push_back(fast[i]);
    const DecoderWeights current = weights_of(fast);
    auto [loss_values, grads] = fact_loss_and_grad(
        [&](const LmBatch& b) {
          return tasks == 0 ? masked_lm_loss(config, current, b, dropout)
                            : masked_lm_loss_per_task(config, current, b, tasks, dropout);
        },
        facts, inputs, inner.fact_batch, create_graph, tasks);
    for (size_t t = 0; t < groups; ++t) trace[t].loss = loss_values[t];
    for (size_t j = 0; j < grads.size(); ++j) {
      if (!grads[j].defined()) grads[j] = torch::zeros_like(inputs[j]);
      if (step_mode == InnerMode::FirstOrder) grads[j] = grads[j].detach();
    }
    // Global gradient norm (each task's own, read in one pass: group_norms), and optional clipping
    // (differentiable in second-order mode, where the norm itself is part of the graph).
    const std::vector<double> norms = group_norms(grads, static_cast<int64_t>(groups));
    bool any_clips = false;
    for (size_t t = 0; t < groups; ++t) {
      trace[t].grad_norm = norms[t];
      any_clips = any_clips || (inner.grad_clip > 0 && norms[t] > inner.grad_clip);
    }
    if (any_clips && tasks == 0) {
      torch::Tensor sq = torch::zeros({}, grads.front().options());
      for (const auto& g : grads) sq = sq + g.pow(2).sum();
      torch::Tensor scale = inner.grad_clip / (safe_sqrt(sq) + 1e-6);
      for (auto& g : grads) g = g * scale;
    } else if (any_clips) {
      torch::Tensor sq = torch::zeros({tasks}, grads.front().options());
      for (const auto& g : grads) sq = sq + g.pow(2).reshape({tasks, -1}).sum(1);
      std::vector<uint8_t> clips_host(groups);
      for (size_t t = 0; t < groups; ++t) clips_host[t] = norms[t] > inner.grad_clip;
      const torch::Tensor clips = torch::tensor(clips_host, torch::kUInt8).to(sq.device(), torch::kBool);  // (tasks)
      torch::Tensor scale = torch::where(clips, inner.grad_clip / (safe_sqrt(sq) + 1e-6), torch::ones_like(sq));
      for (auto& g : grads) g = g * task_broadcast(scale, g.dim());
    }
    if (k == 0) {
      const bool adamw = inner.optimizer == InnerOptimizer::AdamW;
      for (const auto& g : grads) {
        state.m.push_back(adamw ? torch::Tensor() : torch::zeros_like(g));
        state.v.push_back(adamw ? torch::Tensor() : torch::zeros_like(g));
      }
      history.resize(grads.size());
      moments.resize(grads.size());
    }
    const double bias1 = 1.0 - std::pow(inner.beta1, static_cast<double>(k + 1));
    const double bias2 = 1.0 - std::pow(inner.beta2, static_cast<double>(k + 1));
    double lr_sum = 0, lr_min = INFINITY, lr_max = -INFINITY;
    std::unique_ptr<torch::NoGradGuard> guard;
    if (!keep_graph) guard = std::make_unique<torch::NoGradGuard>();
    for (size_t j = 0; j < idx.size(); ++j) {
      const size_t i = idx[j];
      // 0-dim (or one per task: (tasks)), connected to the table; `lr_b` broadcasts over the tensor.
      torch::Tensor lr = rate_table[lrs.group_of_tensor[i]][k];
      if (!keep_graph) lr = lr.detach();
      const torch::Tensor lr_b = task_broadcast(lr, fast[i].dim());
      const double lr_value = rate_values[lrs.group_of_tensor[i]][k];
      lr_sum += lr_value;
      lr_min = std::min(lr_min, lr_value);
      lr_max = std::max(lr_max, lr_value);
      torch::Tensor p = fast[i];
      const torch::Tensor& g = grads[j];
      torch::Tensor next;
      if (inner.optimizer == InnerOptimizer::AdamW && keep_graph && inner.fused) {
        history[j].push_back(g);
        AdamWStepResult step = adamw_step_fused(p, lr, moments[j], torch::TensorList(history[j]), hyper);
        next = step.p;
        moments[j] = k + 1 < lrs.steps() ? step.moments : AdamWMoments{};  // the last step's go unused
      } else if (inner.optimizer == InnerOptimizer::AdamW && keep_graph) {
        // The same update as plain differentiable ops (the reference for the fused node).
        const torch::Tensor gc = in_update_type(g, inner), pc = in_update_type(p, inner);
        const torch::Tensor lrc = in_update_type(lr_b, inner);
        state.m[j] = k == 0 ? gc * (1.0 - inner.beta1) : state.m[j] * inner.beta1 + gc * (1.0 - inner.beta1);
        state.v[j] = k == 0 ? gc * gc * (1.0 - inner.beta2) : state.v[j] * inner.beta2 + gc * gc * (1.0 - inner.beta2);
        torch::Tensor denom = inner.eps_root == 0 ? safe_sqrt(state.v[j]) / std::sqrt(bias2) + inner.eps
                                                  : (state.v[j] / bias2 + inner.eps_root).sqrt() + inner.eps;
        next = (pc * (1.0 - lrc * inner.weight_decay) - (lrc / bias1) * (state.m[j] / denom)).to(p.scalar_type());
      } else if (inner.optimizer == InnerOptimizer::AdamW && inner.fused) {
        // No meta-graph: the fused node's forward on values (the same arithmetic as training's
        // steps), its moments carried to the next step.
        AdamWStepResult step = adamw_step_values(p, lr, moments[j], g, k + 1, hyper);
        next = step.p;
        moments[j] = k + 1 < lrs.steps() ? step.moments : AdamWMoments{};
      } else if (inner.optimizer == InnerOptimizer::AdamW) {
        // No meta-graph, inner.fused off: the same update as tensor operations, the moments updated
        // in place (in float64 when the update is, stored in p's type).
        const torch::Tensor gc = in_update_type(g, inner);
        torch::Tensor m = k == 0 ? gc * (1.0 - inner.beta1) : in_update_type(state.m[j], inner).mul_(inner.beta1).add_(gc, 1.0 - inner.beta1);
        torch::Tensor v = k == 0 ? gc * gc * (1.0 - inner.beta2)
                                 : in_update_type(state.v[j], inner).mul_(inner.beta2).addcmul_(gc, gc, 1.0 - inner.beta2);
        torch::Tensor denom = inner.eps_root == 0
                                  ? v.clamp_min(0).sqrt().div_(std::sqrt(bias2)).add_(inner.eps)
                                  : v.clamp_min(0).div_(bias2).add_(inner.eps_root).sqrt_().add_(inner.eps);
        const torch::Tensor lrc = in_update_type(lr_b, inner);
        next = (in_update_type(p, inner) * (1.0 - lrc * inner.weight_decay) - (lrc / bias1) * (m / denom)).to(p.scalar_type());
        state.m[j] = m.to(p.scalar_type());
        state.v[j] = v.to(p.scalar_type());
      } else {
        torch::Tensor d = inner.weight_decay != 0 ? g + p * inner.weight_decay : g;
        if (inner.momentum != 0) {
          state.m[j] = k == 0 ? d : state.m[j] * inner.momentum + d;
          d = state.m[j];
        }
        next = p - lr_b * d;
      }
      fast[i] = keep_graph ? next : next.detach().requires_grad_(true);
    }
    guard.reset();
    const double n = static_cast<double>(std::max<size_t>(1, idx.size()));
    for (size_t t = 0; t < groups; ++t) {
      trace[t].lr_mean = lr_sum / n;
      trace[t].lr_min = idx.empty() ? 0 : lr_min;
      trace[t].lr_max = idx.empty() ? 0 : lr_max;
      result.traces[t].push_back(trace[t]);
    }
  }
  if (!keep_graph) {
    for (size_t i : idx) fast[i] = fast[i].detach();
  }
  result.weights = weights_of(fast);
  return result;
}

}  // namespace

InnerResult inner_loop(const DecoderConfig& config, const DecoderWeights& base, const InnerLrs& lrs,
                       const InnerLoopConfig& inner, const LmBatch& facts, InnerMode mode, bool dropout) {
  InnerRun run = inner_run(config, base, lrs, inner, facts, 0, mode, dropout);
  return {std::move(run.weights), std::move(run.traces.front())};
}

InnerBatchResult inner_loop_tasks(const DecoderConfig& config, const DecoderWeights& base, const InnerLrs& lrs,
                                  const InnerLoopConfig& inner, const std::vector<LmBatch>& facts, InnerMode mode,
                                  bool dropout) {
  TORCH_CHECK(!facts.empty(), "inner_loop_tasks: no tasks");
  const int64_t tasks = static_cast<int64_t>(facts.size());
  InnerRun run = inner_run(config, base, lrs, inner, lm_batch_stack(facts), tasks, mode, dropout);
  return {std::move(run.weights), std::move(run.traces), tasks};
}

}  // namespace reckoning
