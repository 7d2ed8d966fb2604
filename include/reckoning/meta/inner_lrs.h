// Learned inner learning rates (the subject of the RECKONING ablation, RECKONING.md section 3).
//
// One table `values` of shape (G, N): G groups x N inner steps. Which group a weight tensor uses:
//   per-tensor  G = number of weight tensors (the authors' code: one rate vector per tensor)
//   per-layer   G = n_layer + 2: embeddings (wte, wpe), one per transformer block, ln_f (the paper);
//               for the Llama family embeddings, layers.i, final (the norm and an untied head)
//   static      G = 1, not learned (the ablation: one constant for every tensor and step)
// Rates are unconstrained by default (as the reference; they may turn negative). With
// `log_space`, the table stores log(rate) and rate = exp(value): always positive and updated
// multiplicatively by the outer optimizer (a documented improvement, off by default).
// Not here: how rates are used (inner_loop.h) or trained (trainer.h).
#pragma once

#include <string>
#include <vector>

#include <torch/torch.h>

#include "reckoning/base/enum_table.h"
#include "reckoning/model/decoder.h"

namespace reckoning {

enum class LrMode { PerTensor, PerLayer, Static };

// Names (enum_table.h): per-tensor | per-layer | static.
template <>
const std::vector<EnumName<LrMode>>& enum_names<LrMode>();

struct InnerLrs {
  LrMode mode = LrMode::PerLayer;
  bool log_space = false;
  torch::Tensor values;                  // (G, N) float; requires grad unless mode == Static
  std::vector<int64_t> group_of_tensor;  // canonical weight index -> row of `values`
  std::vector<std::string> group_names;  // row labels: tensor names, "embeddings"/"h.0"/.../"ln_f", or "all"

  // `values` may also carry a leading task dimension, (T, G, N): one copy of the table per task of
  // a task-batched inner loop (inner_lrs_per_task), so that each task's rate gradient is its own.
  int64_t steps() const { return values.size(-1); }
  int64_t tasks() const { return values.dim() == 3 ? values.size(0) : 0; }  // 0: one shared table
  bool learned() const { return mode != LrMode::Static; }
  // Every rate as a 0-dim tensor connected to `values` (so the outer gradient reaches it), indexed
  // [group][step]: tensor i uses [group_of_tensor[i]][k] at inner step k. Built with one exp (in
  // log space) and unbinds, so the graph has a handful of nodes, not a few per tensor and step.
  // With a task dimension each entry is (T): one rate per task.
  std::vector<std::vector<torch::Tensor>> table() const;
  // All rates as a (G, N) tensor in rate space (exp applied in log-space mode), detached (task 0's
  // with a task dimension).
  torch::Tensor rates() const;
};

// The same table once per task, (T, G, N), as a fresh leaf (requiring grad when learned): a
// task-batched inner loop with it leaves each task's rate gradient in its own row.
InnerLrs inner_lrs_per_task(const InnerLrs& lrs, int64_t tasks);

// Builds the table over the tensors `specs` (the model's weights, or its LoRA adapters:
// inner_rate_specs), every entry = `initial` (a rate, > 0 when log_space). Per layer, the rows are
// the layer groups the specs use.
InnerLrs inner_lrs_init(const std::vector<WeightSpec>& specs, int64_t n_layer, LrMode mode, int64_t steps,
                        double initial, bool log_space, torch::Dtype dtype = torch::kFloat32);
InnerLrs inner_lrs_from_values(const std::vector<WeightSpec>& specs, int64_t n_layer, LrMode mode, bool log_space,
                               torch::Tensor values, const std::string& where);

// The same over every weight of a model, every entry = `initial` (a rate, > 0 when log_space).
InnerLrs inner_lrs_init(const DecoderConfig& config, LrMode mode, int64_t steps, double initial,
                        bool log_space, torch::Dtype dtype = torch::kFloat32);

// Rebuilds the mapping for `config` around stored values (loaded from a checkpoint); checks that
// the shape fits the mode, naming `where` otherwise.
InnerLrs inner_lrs_from_values(const DecoderConfig& config, LrMode mode, bool log_space,
                               torch::Tensor values, const std::string& where);

}  // namespace reckoning
