// LoRA adapters (Hu et al. 2021; the parameter-efficient inner loop of RECKONING's authors' code
// and of PERK) on the linear layers of any model family here: a layer with input x computes
//   its output + scale * dropout(x) a^T b^T,   scale = alpha / rank,
// with a (rank, in) and b (out, rank) - PEFT's lora_A.weight and lora_B.weight. b starts at zero, so
// fresh adapters leave the model's outputs unchanged; a starts as PEFT's (Kaiming-uniform,
// U(-1/sqrt(in), 1/sqrt(in))).
//
// The adaptable modules of each block:
//   GPT-2 (Conv1D, weight (in, out))   attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj
//   Llama family (Linear, (out, in))   self_attn.q_proj, k_proj, v_proj, o_proj, mlp.gate_proj, up_proj, down_proj
// The adapters live in the family's weights (LoraPair per module, lora_scale, lora_dropout) so that
// every forward pass - training, the inner loop, evaluation, generation - applies them without
// knowing. lora_merge folds them into the weights.
//
// On disk, PEFT's layout: adapter_config.json (peft_type LORA, r, lora_alpha, lora_dropout,
// target_modules, fan_in_fan_out true for GPT-2's Conv1D, false for Linear) and
// adapter_model.safetensors with "base_model.model.transformer.h.{i}.{module}.lora_{A,B}.weight"
// (GPT-2) or "base_model.model.model.layers.{i}.{module}.lora_{A,B}.weight" (Llama family) - PEFT's
// names and shapes; PEFT itself is not in Debian, so loading them with it is not tested here.
// Not here: which tensors the inner loop adapts (inner_loop.h), the rates (inner_lrs.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "reckoning/model/decoder.h"

namespace reckoning {

// The adaptable modules of a family, in canonical order (see above), and of both families.
const std::vector<std::string>& lora_modules(const DecoderConfig& config);
const std::vector<std::string>& lora_modules(const DecoderWeights& weights);
const std::vector<std::string>& lora_modules_all();

struct LoraConfig {
  int64_t rank = 8;
  double alpha = 16;
  double dropout = 0;
  // Module names of lora_modules_all(); a model uses those of its family.
  std::vector<std::string> targets = lora_modules_all();
  double scale() const { return alpha / static_cast<double>(rank); }
};

// Parses a comma-separated list into module names: a full name ("attn.c_attn", "self_attn.q_proj"),
// its last part ("c_attn", "q_proj"; "c_proj" = both GPT-2 projections) or "all" (every module of
// every family). Errors name `where` and the item that matches nothing.
std::vector<std::string> lora_targets_parse(const std::string& list, const std::string& where);
// Refuses a non-positive rank or alpha, a dropout outside [0, 1) or no targets, naming `where`.
void lora_config_check(const LoraConfig& lora, const std::string& where);
// The targets that are modules of `config`'s family, in canonical order; refuses (naming `where`)
// a list with none of them.
std::vector<std::string> lora_targets_for(const LoraConfig& lora, const DecoderConfig& config,
                                          const std::string& where);

// The adapter tensors' specs in lora_visit order: name, shape, layer_group (block + 1, as the
// block's weights), decays = true.
std::vector<WeightSpec> lora_specs(const DecoderConfig& config, const LoraConfig& lora);

// Adds fresh adapters (a Kaiming-uniform from `seed`, b = 0) on the target modules of every block,
// in the weights' dtype and device, replacing any there. Refuses targets none of which the
// weights' family has.
void lora_attach(DecoderWeights& weights, const LoraConfig& lora, uint64_t seed);

// Whether any adapter is present; how many scalars they hold.
bool lora_present(const DecoderWeights& weights);
int64_t lora_parameter_count(const DecoderWeights& weights);

// The adapter tensors in lora_visit order (the tensors themselves), and the inverse: `weights`
// with its adapters replaced, in the same order (the count must match).
std::vector<torch::Tensor> lora_flatten(const DecoderWeights& weights);
DecoderWeights lora_with(const DecoderWeights& weights, const std::vector<torch::Tensor>& adapters);

// The weights with every adapter folded in: W + scale b a (as the layer's (out, in)); no adapters remain.
DecoderWeights lora_merge(const DecoderWeights& weights);

// The adapters' LoraConfig as stored (rank from the tensors, alpha from the scale, targets the
// family's modules that carry one).
LoraConfig lora_config_of(const DecoderWeights& weights);

// PEFT's files: adapter_config.json and adapter_model.safetensors in `dir` (atomic writes), and
// back. Loading checks every name and shape against `weights` (the base model) and names the
// file and tensor on a mismatch.
void lora_save_peft(const DecoderWeights& weights, const std::string& dir, const std::string& base_model = "");
bool lora_peft_present(const std::string& dir);
void lora_load_peft(DecoderWeights& weights, const std::string& dir);

// PEFT's tensor name for a lora_visit name ("h.0.attn.c_attn.lora_A.weight" ->
// "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight"; "model.layers.0...." ->
// "base_model.model.model.layers.0....").
std::string lora_peft_name(const std::string& name);

}  // namespace reckoning
