// The meta-gradient diagnostic (`reckoning bench meta-grad`, docs/TRAINING.md "Stable
// meta-gradients"): trains the first steps of a run exactly as `reckoning train` does and, at every
// step, before the update, takes each of the step's tasks' meta-gradients twice - in float32, the
// way training computes it, and in float64 from the same weights and rates - and reports:
//
// - per task: the norm of each (float32, float64) and the float32 error relative to float64,
//   ||g32 - g64|| / ||g64||;
// - where they sit: the tensors carrying the largest share of the float64 meta-gradient and of
//   the error, and the share of both carried by the adapted elements whose first inner gradient
//   (float64) is below 1, 10, 100 and 1000 x the inner epsilon ("small" elements: AdamW's first
//   normalised update has the derivative eps / (|g| + eps)^2 there, up to 1 / eps);
// - per run: the largest and median error over all tasks, how many steps have a task above 1 %,
//   and how many steps are spikes (a task's float64 norm above 10 x the median task norm).
//
// Dropout is off in both computations (the same network in both types); the training itself runs
// as configured, so the weights at step k are those of the real run. The float64 copy uses the
// same configuration (inner.float64_update and inner.eps_root included), so the error is that of
// the configuration's float32 arithmetic.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "reckoning/meta/reckoning_model.h"
#include "reckoning/meta/run_config.h"

namespace reckoning {

// One task's meta-gradient in float32 against float64, at the model as it stands. Returns
// {norm32, norm64, rel_error, top_norm: [{tensor, share}], top_error: [{tensor, share}],
//  adapted_elements, small: [{below_eps_times, elements, norm_share, error_share}], norm64_bounded}
// (shares of the squared norms; adapted_elements, small and norm64_bounded are absent without
// facts). norm64_bounded: the float64 meta-gradient's norm at the same weights with
// inner.eps_root = (1000 eps)^2, which changes only elements with |g| below about 1000 eps - when
// it is far below norm64, the steep derivative at those elements makes this task's meta-gradient
// (the amplification lands on the weights their inner gradients depend on, not on them).
nlohmann::json meta_grad_compare(const ReckoningModel& model, const EncodedTask& task, int64_t top = 3);

struct MetaGradBenchConfig {
  RunConfig run;        // the recipe (data, model, inner and outer settings); run_dir is replaced
  int64_t steps = 100;  // optimizer steps to train and diagnose
  int64_t top = 3;      // tensors listed per task
};

// Trains `steps` steps in a temporary run directory (removed afterwards), calling `on_step` with
// each step's line {step, tasks: [meta_grad_compare per task], max_rel_error}; returns the summary
// {steps, tasks, max_rel_error, median_rel_error, steps_above_1pct, spike_steps,
//  median_norm64, max_norm64, max_norm32, worst: {step, task, ...that task's comparison}}.
nlohmann::json bench_meta_grad(const MetaGradBenchConfig& config,
                               const std::function<void(const nlohmann::json&)>& on_step = {});

}  // namespace reckoning
