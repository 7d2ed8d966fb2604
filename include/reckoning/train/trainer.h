// The outer loop (RECKONING.md section 4): meta-training of the base weights and the learned inner
// rates through the inner loop, and the FT-ICR / control baselines with the same machinery.
//
// - Loss per task: masked LM loss of the target tokens + EOS, through the adapted weights
//   (RECKONING) or the base weights (FT-ICR, no-facts). The tasks of a micro-batch and the
//   micro-batches of an optimizer step are averaged (the reference sums; see docs/TRAINING.md). A
//   micro-batch's tasks go through one task-batched inner loop (outer.batched, tasks_loss); with
//   outer.task_clip through per-task replicas of the outer tensors (task_replicas), so that one
//   backward gives each task's own meta-gradient to clip.
// - Outer AdamW with three groups: decayed weights, undecayed biases/norms, and the rates (their own
//   learning rate, no decay); linear warm-up over outer.warmup x steps then linear decay to 0;
//   global gradient-norm clipping (and, with outer.task_clip, each task's meta-gradient clipped
//   before the tasks are averaged, so no single task sets the step); gradient accumulation.
// - Validation every eval.every steps on label accuracy: checkpoints/best keeps the best model,
//   checkpoints/last the latest state (model, rates, optimizer, schedule, RNG, data position);
//   early stopping after eval.patience validations without improvement.
// - A resumed run continues exactly as the uninterrupted run would (same losses, to the bit).
// - run_dir/metrics.jsonl: one JSON line per optimizer step; run_dir/eval.jsonl: one line per
//   validation (accuracy breakdown and the learned-rate table at that step); run_dir/config.json:
//   the resolved configuration with the library and LibTorch versions.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "reckoning/eval/evaluate.h"
#include "reckoning/meta/reckoning_model.h"
#include "reckoning/meta/run_config.h"

namespace reckoning {

struct TrainSummary {
  int64_t steps = 0;               // optimizer steps done (in total, over resumes)
  int64_t best_step = -1;
  double best_valid_accuracy = -1;
  bool early_stopped = false;
  std::string best_dir, last_dir;  // model directories
  std::vector<double> losses;      // outer loss of every optimizer step of this invocation
  EvalOptions eval_options;        // how validation generated (the test set is evaluated the same way)
};

struct TrainOptions {
  bool resume = false;      // continue from run_dir/checkpoints/last
  int64_t stop_after = 0;   // stop (with a checkpoint) after this many steps in total (0 = run to the end)
  bool progress = true;     // progress line on a terminal
  // Called at every optimizer step before its losses, with the model as it stands, the step's
  // tasks and the 0-based step (the meta-gradient diagnostic, perf/meta_grad.h, looks here). It
  // must leave the model and the global random state as it found them.
  std::function<void(const ReckoningModel&, const std::vector<const EncodedTask*>&, int64_t)> before_step;
  // Called with the per-task meta-gradients of a task-batched micro-batch under outer.task_clip
  // (one per replica, row t = task t; task_replicas) before they are clipped and summed; it may
  // change them (the tests inject a non-finite meta-gradient here).
  std::function<void(std::vector<torch::Tensor>&)> task_gradients;
};

TrainSummary train(const RunConfig& config, const TrainOptions& options = {});

// The test set after training: data.test evaluated once with the best checkpoint, the way
// validation generated (summary.eval_options), written to run_dir/test_report.json. Nothing
// (nullopt) without data.test or a best checkpoint, or when options.stop_after named a step the
// run did not reach (it stopped early).
std::optional<EvalReport> evaluate_test_set(const RunConfig& config, const TrainSummary& summary,
                                            const TrainOptions& options = {});

// Drops every parameter's gradient before a step (what zero_grad does with set_to_none in
// LibTorch 2.x): LibTorch 1.13's zero_grad keeps them allocated and zeroed, one model copy held
// through the next step's peak (0.5 GB at GPT-2 small). The next backward allocates them anew.
void release_gradients(torch::optim::Optimizer& optimizer);

// The loss of one task for training (dropout on). Appends the inner steps' trace if given.
torch::Tensor task_loss(const ReckoningModel& model, const EncodedTask& task, InnerMode mode,
                        bool dropout, std::vector<InnerStepTrace>* trace = nullptr);

// The losses of several tasks (N) for training: their inner loops as one task-batched loop
// (inner_loop_tasks), their questions as one batch through each task's adapted weights; without
// facts (FT-ICR, the controls) the questions through the base weights. The tasks must all have
// facts or all have none. `traces` gets each task's inner steps.
torch::Tensor tasks_loss(const ReckoningModel& model, const std::vector<const EncodedTask*>& tasks, InnerMode mode,
                         bool dropout, std::vector<std::vector<InnerStepTrace>>* traces = nullptr);

// Each task's own meta-gradient from one task-batched inner loop and one backward (outer.task_clip
// with outer.batched): a copy of `model` whose trainable outer tensors (weights, LoRA adapters, the
// rate table) are replaced by one replica per task along a new leading dimension - fresh leaves,
// `tasks` times their memory - so tasks_loss through it leaves task t's gradient in row t of each
// replica's gradient. `leaves` pairs each outer tensor with its replica.
struct TaskReplicas {
  ReckoningModel model;
  std::vector<std::pair<torch::Tensor, torch::Tensor>> leaves;  // (outer tensor, its (tasks, ...) replica)
};
TaskReplicas task_replicas(const ReckoningModel& model, int64_t tasks);

// The gradient of `loss` (computed through replicas.model) with respect to each replica, in
// replicas.leaves' order (undefined where the loss does not reach it): row t of each is task t's.
std::vector<torch::Tensor> task_replica_gradients(const TaskReplicas& replicas, const torch::Tensor& loss);

// Adds sum_t scales[t] x grads[i][t] to the gradient of each outer tensor replicas.leaves[i].first
// (grads[i]: its replica's gradient, undefined = none). A task with scale 0 is left out: its rows
// are not read (they may hold NaN or Inf).
void add_task_gradients(const TaskReplicas& replicas, const std::vector<torch::Tensor>& grads,
                        const std::vector<double>& scales);

// Creates a model from scratch for `config` (word tokenizer built from `corpus_tasks`, or loaded
// from config.model_tokenizer) or loads config.model_init; rates initialised per config.
ReckoningModel model_for_training(const RunConfig& config, const std::vector<Task>& corpus_tasks);

// The learned-rate table as eval.jsonl records it at each validation: {"mode", "log_space",
// "rows": group names, "values": (G, N) rates in rate space (exp applied in log-space mode)}.
nlohmann::json inner_lrs_snapshot(const InnerLrs& lrs);

// Linear warm-up then linear decay: the multiplier of the base learning rate at 0-based `step`.
double lr_schedule(int64_t step, int64_t total_steps, double warmup_fraction);

}  // namespace reckoning
