// The inner loop (RECKONING's dynamic knowledge encoding, RECKONING.md section 2): a pure function
// base weights + learned rates + a task's facts -> adapted weights (new tensors, never in-place)
// plus a per-step trace.
//
// - Fast weights start as the base tensors themselves, so the meta-gradient reaches them.
// - The facts are one batch of separate sequences; the loss is loss.h's masked LM loss.
// - AdamW (default; decoupled weight decay applied first, bias correction, fresh state per task,
//   a safe square root whose gradient is zero where the second moment is zero) or SGD (optional
//   momentum, coupled L2 weight decay), every operation differentiable.
// - Mode::SecondOrder keeps the whole graph (exact MAML meta-gradient). Mode::FirstOrder detaches
//   the update directions but not the step sizes: rates still get dL/dlr_k = -<dL/dw, u_k>.
//   Mode::Evaluate keeps no meta-graph at all: each new fast weight is detached, memory is flat in
//   the number of steps.
// - What adapts (`adapt`): every weight (empty or "full"), the weights whose names match a regex,
//   or ("lora") only the LoRA adapters the base weights carry (lora.h): then the fast weights are
//   the adapters, starting from the base's adapters (outer parameters, meta-learned as in MAML),
//   and the base weights stay as they are (frozen, or outer-trained by the trainer).
// - Truncated unrolling (`unroll_from` = K, as in PERK): in second-order mode the first K steps are
//   first order (their gradients detached and their graphs freed), the rest exact; K = 0 is the
//   exact meta-gradient.
// - Fact mini-batches (`fact_batch` = n): each step's inner gradient is accumulated over chunks of
//   n facts, weighted so that it equals the one-batch gradient (the loss is a mean over facts).
//   It lowers the peak of the steps whose graph is not kept (evaluation, first order, truncated
//   steps); a kept step keeps every chunk's graph anyway. Without dropout the result equals one
//   batch (dropout masks are drawn per chunk).
// Not here: the learned-rate table (inner_lrs.h), the outer loop (trainer.h).
#pragma once

#include <regex>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "reckoning/model/decoder.h"
#include "reckoning/meta/inner_lrs.h"
#include "reckoning/model/loss.h"

namespace reckoning {

enum class InnerOptimizer { AdamW, Sgd };
enum class InnerMode { SecondOrder, FirstOrder, Evaluate };

// Names (enum_table.h): adamw | sgd.
template <>
const std::vector<EnumName<InnerOptimizer>>& enum_names<InnerOptimizer>();

struct InnerLoopConfig {
  InnerOptimizer optimizer = InnerOptimizer::AdamW;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  // AdamW's denominator sqrt(v_hat + eps_root) + eps (optax's eps_root; 0 = torch's AdamW): bounds
  // the update's derivative for elements with a tiny gradient (inner_adamw.h).
  double eps_root = 0;
  // Compute AdamW's update and its derivatives in float64 while storing the tensors' type.
  bool float64_update = false;
  double weight_decay = 0.01;  // AdamW: decoupled; SGD: coupled L2
  double momentum = 0.0;       // SGD only
  double grad_clip = 0.0;      // clip the inner gradient's global norm to this; 0 = off
  std::string adapt = "";      // "" or "full": all weights; "lora": the adapters; else a regex over names
  int64_t unroll_from = 0;     // second order: steps < unroll_from are first order (0 = exact)
  int64_t fact_batch = 0;      // facts per chunk of the inner gradient (0 = all in one batch)
  // AdamW with a meta-graph as one fused autograd node per tensor and step (same values, far fewer
  // tensors kept; a CPU kernel, tensor operations on a GPU); false = plain differentiable ops, the
  // reference it is tested against.
  bool fused = true;
};

struct InnerStepTrace {
  double loss = 0;       // inner loss before this step's update
  double grad_norm = 0;  // global norm of the inner gradient (before clipping)
  double lr_mean = 0, lr_min = 0, lr_max = 0;  // rates used at this step, over adapted tensors
};

struct InnerResult {
  DecoderWeights weights;                // adapted (fast) weights; with "lora", the base with adapted adapters
  std::vector<InnerStepTrace> trace;  // one entry per inner step
};

// Runs lrs.steps() inner steps on `facts`. `dropout` switches dropout in the inner forward passes
// (on in training, off in evaluation).
InnerResult inner_loop(const DecoderConfig& config, const DecoderWeights& base, const InnerLrs& lrs,
                       const InnerLoopConfig& inner, const LmBatch& facts, InnerMode mode,
                       bool dropout);

// Several tasks' inner loops as one (task-batched fast weights, task_batch.h): the facts of each
// task are padded to one batch (lm_batch_stack) and every inner step is one forward and backward for
// all of them; each adapted tensor (or adapter) gets a leading task dimension, while the learned
// rates are shared. Each task's losses, gradient norms and inner gradient clipping are its own, so
// its adapted weights equal its own inner_loop's (up to floating-point rounding; dropout masks are
// drawn for the whole batch). Tasks differ in their numbers and lengths of facts freely.
struct InnerBatchResult {
  DecoderWeights weights;                          // task-batched: decoder_task (decoder.h) picks one task's
  std::vector<std::vector<InnerStepTrace>> traces;  // per task, one entry per inner step
  int64_t tasks = 0;
};

InnerBatchResult inner_loop_tasks(const DecoderConfig& config, const DecoderWeights& base, const InnerLrs& lrs,
                                  const InnerLoopConfig& inner, const std::vector<LmBatch>& facts, InnerMode mode,
                                  bool dropout);

// Which canonical weight indices `inner.adapt` selects (none with "lora"); throws naming the
// pattern if it is not a valid regex or matches nothing.
std::vector<bool> inner_adapted_mask(const DecoderConfig& config, const InnerLoopConfig& inner);

// Whether the inner loop adapts LoRA adapters ("lora") rather than weights.
bool inner_adapts_lora(const InnerLoopConfig& inner);

// The specs of the tensors the inner loop's rates index: the adapters' (lora_specs of the
// weights' adapters) with "lora", else every weight's (decoder_weight_specs).
std::vector<WeightSpec> inner_rate_specs(const DecoderConfig& config, const InnerLoopConfig& inner,
                                         const DecoderWeights& weights);

}  // namespace reckoning
