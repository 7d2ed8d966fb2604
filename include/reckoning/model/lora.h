// LoRA adapters on GPT-2's Conv1D layers (Hu et al. 2021; the parameter-efficient inner loop of
// RECKONING's authors' code and of PERK): a layer with weight W (in, out) computes
//   x W + b + scale * dropout(x) a^T b^T,   scale = alpha / rank,
// with a (rank, in) and b (out, rank) - PEFT's lora_A.weight and lora_B.weight. b starts at zero, so
// fresh adapters leave the model's outputs unchanged; a starts as PEFT's (Kaiming-uniform,
// U(-1/sqrt(in), 1/sqrt(in))).
//
// The adapters live in Gpt2Weights (gpt2_weights.h: LoraPair per adapted module, lora_scale,
// lora_dropout) so that every forward pass - training, the inner loop, evaluation, generation -
// applies them without knowing. lora_merge folds them into the weights.
//
// On disk, PEFT's layout: adapter_config.json (peft_type LORA, r, lora_alpha, lora_dropout,
// target_modules, fan_in_fan_out true for GPT-2's Conv1D) and adapter_model.safetensors with
// "base_model.model.transformer.h.{i}.{module}.lora_{A,B}.weight" (PEFT's names and shapes; PEFT
// itself is not in Debian, so loading them with it is not tested here).
// Not here: which tensors the inner loop adapts (inner_loop.h), the rates (inner_lrs.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/gpt2_weights.h"

namespace reckoning {

// The adaptable modules, in canonical order.
const std::vector<std::string>& lora_modules();  // attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj

struct LoraConfig {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  // Modules given as lora_modules() names or their last part (c_attn, c_fc; "c_proj" = both
  // projections); "all" = every module.
  std::vector<std::string> targets = {"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
  double scale() const { return alpha / static_cast<double>(rank); }
};

// Parses "attn.c_attn,mlp.c_fc" / "all" into lora_modules() names; errors name `where`.
std::vector<std::string> lora_targets_parse(const std::string& list, const std::string& where);
// Refuses a non-positive rank or alpha, a dropout outside [0, 1) or no targets, naming `where`.
void lora_config_check(const LoraConfig& lora, const std::string& where);

// The adapter tensors' specs in lora_visit order: name, shape, layer_group (block + 1, as the
// block's weights), decays = true.
std::vector<WeightSpec> lora_specs(const Gpt2Config& config, const LoraConfig& lora);

// Adds fresh adapters (a Kaiming-uniform from `seed`, b = 0) on the target modules of every block,
// in the weights' dtype and device, replacing any there.
void lora_attach(Gpt2Weights& weights, const LoraConfig& lora, uint64_t seed);

// Whether any adapter is present; how many scalars they hold.
bool lora_present(const Gpt2Weights& weights);
int64_t lora_parameter_count(const Gpt2Weights& weights);

// The adapter tensors in lora_visit order (the tensors themselves), and the inverse: `weights`
// with its adapters replaced, in the same order (the count must match).
std::vector<torch::Tensor> lora_flatten(const Gpt2Weights& weights);
Gpt2Weights lora_with(const Gpt2Weights& weights, const std::vector<torch::Tensor>& adapters);

// The weights with every adapter folded in: W + scale (b a)^T; no adapters remain.
Gpt2Weights lora_merge(const Gpt2Weights& weights);

// The adapters' LoraConfig as stored (rank from the tensors, alpha from the scale).
LoraConfig lora_config_of(const Gpt2Weights& weights);

// PEFT's files: adapter_config.json and adapter_model.safetensors in `dir` (atomic writes), and
// back. Loading checks every name and shape against `weights` (the base model) and names the
// file and tensor on a mismatch.
void lora_save_peft(const Gpt2Weights& weights, const std::string& dir, const std::string& base_model = "");
bool lora_peft_present(const std::string& dir);
void lora_load_peft(Gpt2Weights& weights, const std::string& dir);

// PEFT's tensor name for a lora_visit name ("h.0.attn.c_attn.lora_A.weight" ->
// "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight").
std::string lora_peft_name(const std::string& name);

}  // namespace reckoning
