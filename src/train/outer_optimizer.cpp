// The outer optimizer's parameter groups; see outer_optimizer.h.
#include "reckoning/train/outer_optimizer.h"

#include "reckoning/model/decoder.h"
#include "reckoning/model/lora.h"

namespace reckoning {

void OuterOptimizer::set_lr_factor(double factor) {
  for (size_t g = 0; g < adamw->param_groups().size(); ++g) {
    static_cast<torch::optim::AdamWOptions&>(adamw->param_groups()[g].options()).lr(base_lrs[g] * factor);
  }
}

OuterOptimizer outer_optimizer_for(const ReckoningModel& model, const RunConfig& config) {
  std::vector<torch::Tensor> decay, no_decay;
  std::vector<WeightSpec> specs = decoder_weight_specs(model.config);
  std::vector<torch::Tensor> flat = decoder_flatten(model.weights);
  for (size_t i = 0; i < flat.size(); ++i) {
    if (flat[i].requires_grad()) (specs[i].decays ? decay : no_decay).push_back(flat[i]);  // not a frozen base
  }
  // The LoRA adapters' initial values: not decayed (decay would pull a toward 0 and the adapters'
  // start toward no update at all).
  for (const torch::Tensor& t : lora_flatten(model.weights)) {
    if (t.requires_grad()) no_decay.push_back(t);
  }
  auto group_options = [&](double lr, double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(lr);
    o->betas({config.outer_beta1, config.outer_beta2}).eps(config.outer_eps).weight_decay(wd);
    return o;
  };
  const double lr_rates = config.rates_lr();
  OuterOptimizer out;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, group_options(config.outer_lr, config.outer_weight_decay));
  groups.emplace_back(no_decay, group_options(config.outer_lr, 0.0));
  out.base_lrs = {config.outer_lr, config.outer_lr};
  if (model.lrs.learned()) {
    groups.emplace_back(std::vector<torch::Tensor>{model.lrs.values}, group_options(lr_rates, 0.0));
    out.base_lrs.push_back(lr_rates);
  }
  out.adamw = std::make_unique<torch::optim::AdamW>(groups, torch::optim::AdamWOptions(config.outer_lr));
  for (auto& g : out.adamw->param_groups()) out.params.insert(out.params.end(), g.params().begin(), g.params().end());
  return out;
}

}  // namespace reckoning
