// The outer optimizer of meta-training: AdamW over three parameter groups - the decayed weights
// (matrices and embeddings), the undecayed biases and LayerNorms, and the learned inner rates with
// their own learning rate (RunConfig::rates_lr) and no decay. The schedule scales every group's
// base rate by one factor (set_lr_factor).
// Not here: the schedule and the step itself (trainer.cpp).
#pragma once

#include <memory>
#include <vector>

#include <torch/torch.h>

#include "reckoning/meta/reckoning_model.h"
#include "reckoning/meta/run_config.h"

namespace reckoning {

struct OuterOptimizer {
  std::unique_ptr<torch::optim::AdamW> adamw;
  std::vector<double> base_lrs;       // per group, before the schedule's factor
  std::vector<torch::Tensor> params;  // every group's, in order (for clipping and norms)

  void set_lr_factor(double factor);
};

// Groups: 0 = decayed weights (outer.weight_decay), 1 = biases and norms (no decay), 2 = the
// rate table (only when the rates are learned; no decay, RunConfig::rates_lr).
OuterOptimizer outer_optimizer_for(const ReckoningModel& model, const RunConfig& config);

}  // namespace reckoning
