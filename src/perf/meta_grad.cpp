// The meta-gradient diagnostic; see meta_grad.h.
#include "reckoning/perf/meta_grad.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <unistd.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/model/lora.h"
#include "reckoning/perf/benchmark.h"
#include "reckoning/train/trainer.h"

namespace reckoning {

namespace {

// The model's trainable tensors in a given type as fresh leaves: the weights, and the rate table
// (learned or not: its gradient is reported only when learned).
ReckoningModel model_copy(const ReckoningModel& model, torch::Dtype dtype) {
  ReckoningModel copy = model;
  copy.weights = decoder_map(model.weights, [&](const torch::Tensor& t) {
    return t.detach().to(dtype).clone().requires_grad_(true);
  });
  copy.lrs.values = model.lrs.values.detach().to(dtype).clone().requires_grad_(model.lrs.learned());
  return copy;
}

// d(task loss)/d(weights..., LoRA adapters..., rates if learned), dropout off; zeros for unused
// tensors.
std::vector<torch::Tensor> meta_gradient(const ReckoningModel& model, const EncodedTask& task) {
  std::vector<torch::Tensor> params = decoder_flatten(model.weights);
  for (const torch::Tensor& t : lora_flatten(model.weights)) params.push_back(t);
  if (model.lrs.learned()) params.push_back(model.lrs.values);
  const InnerMode mode = model.run.inner_first_order ? InnerMode::FirstOrder : InnerMode::SecondOrder;
  torch::Tensor loss = task_loss(model, task, mode, /*dropout=*/false);
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, params, {}, false, false, /*allow_unused=*/true);
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) grads[i] = torch::zeros_like(params[i]);
  }
  return grads;
}

double squared(const torch::Tensor& t) { return t.square().sum().item<double>(); }

// eps_root = (1000 eps)^2: bounds AdamW's derivative at about 1 / (1000 eps).
double bounded_eps_root(double eps) { return (1000 * eps) * (1000 * eps); }

// The `top` entries of (name, value) by value, as [{tensor, share}] with share = value / total.
nlohmann::json top_shares(const std::vector<std::string>& names, const std::vector<double>& values, double total,
                          int64_t top) {
  std::vector<size_t> order(values.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return values[a] > values[b]; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t r = 0; r < order.size() && static_cast<int64_t>(r) < top; ++r) {
    out.push_back({{"tensor", names[order[r]]}, {"share", total > 0 ? values[order[r]] / total : 0.0}});
  }
  return out;
}

std::string make_temp_directory() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = path_join(base != nullptr && *base != 0 ? base : "/tmp", "reckoning-meta-grad.XXXXXX");
  check(::mkdtemp(pattern.data()) != nullptr, pattern, "a temporary directory that can be created",
        "mkdtemp failed");
  return pattern;
}

}  // namespace

nlohmann::json meta_grad_compare(const ReckoningModel& model, const EncodedTask& task, int64_t top) {
  torch::AutoGradMode enable(true);
  const ReckoningModel m32 = model_copy(model, torch::kFloat32), m64 = model_copy(model, torch::kFloat64);
  const std::vector<torch::Tensor> g32 = meta_gradient(m32, task), g64 = meta_gradient(m64, task);
  std::vector<std::string> names;
  for (const WeightSpec& spec : decoder_weight_specs(model.config)) names.push_back(spec.name);
  lora_visit(model.weights, [&](const std::string& name, const torch::Tensor&) { names.push_back(name); });
  if (model.lrs.learned()) names.push_back("inner_lrs");
  std::vector<double> norm_parts, error_parts;
  double sq32 = 0, sq64 = 0, sq_error = 0;
  std::vector<torch::Tensor> errors;
  for (size_t i = 0; i < g64.size(); ++i) {
    const torch::Tensor error = g32[i].to(torch::kFloat64) - g64[i];
    errors.push_back(error);
    sq32 += squared(g32[i].to(torch::kFloat64));
    norm_parts.push_back(squared(g64[i]));
    error_parts.push_back(squared(error));
    sq64 += norm_parts.back();
    sq_error += error_parts.back();
  }
  nlohmann::json out{{"norm32", std::sqrt(sq32)},
                     {"norm64", std::sqrt(sq64)},
                     {"rel_error", sq64 > 0 ? std::sqrt(sq_error / sq64) : (sq_error > 0 ? INFINITY : 0.0)},
                     {"top_norm", top_shares(names, norm_parts, sq64, top)},
                     {"top_error", top_shares(names, error_parts, sq_error, top)}};
  if (!task.facts.ids.defined()) return out;
  // The counterfactual: the float64 meta-gradient at the same weights with the update's derivative
  // bounded (an epsilon inside the root that only changes elements with |g| below 1000 x eps).
  // Its norm against norm64 says how much of this task's meta-gradient the steep region makes:
  // the amplification starts at the small elements but lands on the weights their inner
  // gradients depend on (through the Hessian), so the bands below cannot show it.
  if (model.run.inner_eps_root < bounded_eps_root(model.run.inner_eps)) {
    ReckoningModel bounded = m64;
    bounded.run.inner_eps_root = bounded_eps_root(model.run.inner_eps);
    double sq = 0;
    for (const torch::Tensor& g : meta_gradient(bounded, task)) sq += squared(g);
    out["norm64_bounded"] = std::sqrt(sq);
  }
  // The first inner gradient in float64, and the adapted elements where it is below 1, 10, 100
  // and 1000 x epsilon: bands where AdamW's first update has a derivative of about 1 / eps,
  // 1 / (100 eps), 1 / (10^4 eps), 1 / (10^6 eps) (eps / (|g| + eps)^2).
  // The fast tensors: the weights (those inner.adapt selects), or the LoRA adapters, which follow
  // the weights in the meta-gradient's order.
  const bool lora = inner_adapts_lora(model.inner());
  const size_t offset = lora ? decoder_flatten(m64.weights).size() : 0;
  std::vector<torch::Tensor> w = lora ? lora_flatten(m64.weights) : decoder_flatten(m64.weights);
  const std::vector<torch::Tensor> inner =
      torch::autograd::grad({masked_lm_loss(m64.config, m64.weights, task.facts, false)}, w, {}, false, false, true);
  const std::vector<bool> adapted = lora ? std::vector<bool>(w.size(), true) : inner_adapted_mask(model.config, model.inner());
  const std::vector<double> factors{1, 10, 100, 1000};
  std::vector<int64_t> small(factors.size(), 0);
  std::vector<double> small_norm(factors.size(), 0), small_error(factors.size(), 0);
  int64_t total = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    if (!adapted[i]) continue;
    total += w[i].numel();
    const torch::Tensor g = (inner[i].defined() ? inner[i] : torch::zeros_like(w[i])).abs();
    for (size_t b = 0; b < factors.size(); ++b) {
      const torch::Tensor mask = g < factors[b] * model.run.inner_eps;
      small[b] += mask.sum().item<int64_t>();
      small_norm[b] += squared(g64[offset + i].masked_select(mask));
      small_error[b] += squared(errors[offset + i].masked_select(mask));
    }
  }
  out["adapted_elements"] = total;
  out["small"] = nlohmann::json::array();
  for (size_t b = 0; b < factors.size(); ++b) {
    out["small"].push_back({{"below_eps_times", factors[b]},
                            {"elements", small[b]},
                            {"norm_share", sq64 > 0 ? small_norm[b] / sq64 : 0.0},
                            {"error_share", sq_error > 0 ? small_error[b] / sq_error : 0.0}});
  }
  return out;
}

nlohmann::json bench_meta_grad(const MetaGradBenchConfig& config,
                               const std::function<void(const nlohmann::json&)>& on_step) {
  check(config.steps > 0, "--steps", "a positive number of steps", std::to_string(config.steps));
  RunConfig run = config.run;
  run.run_dir = make_temp_directory();
  run.outer_max_steps = std::max(run.outer_max_steps, config.steps);
  run.eval_every = run.outer_max_steps + 1;  // no validation inside the diagnosed steps
  run.log_every = run.outer_max_steps + 1;  // no progress lines: the diagnostic prints its own
  run.data_valid.clear();
  run.data_test.clear();
  std::vector<double> errors, norms64, norms32;
  int64_t above = 0, tasks = 0;
  nlohmann::json worst;
  std::vector<nlohmann::json> lines;
  TrainOptions options;
  options.stop_after = config.steps;
  options.progress = false;
  options.before_step = [&](const ReckoningModel& model, const std::vector<const EncodedTask*>& step_tasks,
                            int64_t step) {
    nlohmann::json line{{"step", step}, {"tasks", nlohmann::json::array()}};
    double step_max = 0;
    for (size_t t = 0; t < step_tasks.size(); ++t) {
      nlohmann::json c = meta_grad_compare(model, *step_tasks[t], config.top);
      const double e = c.at("rel_error").get<double>();
      step_max = std::max(step_max, e);
      errors.push_back(e);
      norms64.push_back(c.at("norm64").get<double>());
      norms32.push_back(c.at("norm32").get<double>());
      if (worst.is_null() || e > worst.at("rel_error").get<double>()) {
        worst = c;
        worst["step"] = step;
        worst["task"] = t;
      }
      line["tasks"].push_back(std::move(c));
      ++tasks;
    }
    if (step_max > 0.01) ++above;
    line["max_rel_error"] = step_max;
    if (on_step) on_step(line);
    lines.push_back(std::move(line));
  };
  try {
    train(run, options);
  } catch (...) {
    remove_tree(run.run_dir);
    throw;
  }
  remove_tree(run.run_dir);
  // Spikes: a step with a task whose float64 norm is above 10 x the median task norm.
  const double median64 = median(norms64);
  int64_t spikes = 0;
  for (const nlohmann::json& line : lines) {
    bool spike = false;
    for (const auto& c : line.at("tasks")) spike = spike || c.at("norm64").get<double>() > 10 * median64;
    spikes += spike ? 1 : 0;
  }
  return {{"steps", static_cast<int64_t>(lines.size())},
          {"tasks", tasks},
          {"max_rel_error", errors.empty() ? 0.0 : *std::max_element(errors.begin(), errors.end())},
          {"median_rel_error", median(errors)},
          {"steps_above_1pct", above},
          {"spike_steps", spikes},
          {"median_norm64", median64},
          {"max_norm64", norms64.empty() ? 0.0 : *std::max_element(norms64.begin(), norms64.end())},
          {"max_norm32", norms32.empty() ? 0.0 : *std::max_element(norms32.begin(), norms32.end())},
          {"worst", worst}};
}

}  // namespace reckoning
