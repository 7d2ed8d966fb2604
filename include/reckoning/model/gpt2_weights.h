// GPT-2 weights as data: one struct of named tensors keyed by the Hugging Face GPT-2 names, and
// one visitor (gpt2_visit) that alone defines those names and their order. Loading, saving,
// flattening, learned-learning-rate tables, logs and tests all go through it.
//
// Layout facts (each one is GPT-2's, not ours):
// - Linear layers are Hugging Face `Conv1D`: weight shape [in, out], y = x @ W + b.
// - The output head is tied to `wte.weight` (one tensor); there is no separate lm_head.
// Not here: the forward pass (gpt2.h), file formats (safetensors.h, hf_checkpoint.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/weight_spec.h"

namespace reckoning {

struct Gpt2BlockWeights {
  torch::Tensor ln_1_weight;         // (C)
  torch::Tensor ln_1_bias;           // (C)
  torch::Tensor attn_c_attn_weight;  // (C, 3C)  Conv1D [in, out]: q | k | v
  torch::Tensor attn_c_attn_bias;    // (3C)
  torch::Tensor attn_c_proj_weight;  // (C, C)
  torch::Tensor attn_c_proj_bias;    // (C)
  torch::Tensor ln_2_weight;         // (C)
  torch::Tensor ln_2_bias;           // (C)
  torch::Tensor mlp_c_fc_weight;     // (C, 4C)
  torch::Tensor mlp_c_fc_bias;       // (4C)
  torch::Tensor mlp_c_proj_weight;   // (4C, C)
  torch::Tensor mlp_c_proj_bias;     // (C)
  // Optional LoRA adapters (lora.h); not part of the canonical weights (gpt2_visit).
  LoraPair attn_c_attn_lora, attn_c_proj_lora, mlp_c_fc_lora, mlp_c_proj_lora;
};

struct Gpt2Weights {
  torch::Tensor wte;                 // (V, C)  token embeddings, also the output head
  torch::Tensor wpe;                 // (n_ctx, C)  position embeddings
  std::vector<Gpt2BlockWeights> h;   // n_layer blocks
  torch::Tensor ln_f_weight;         // (C)
  torch::Tensor ln_f_bias;           // (C)
  // How the LoRA adapters of the blocks (if any) are applied: scale = alpha / rank, and dropout on
  // the adapter path's input in training.
  double lora_scale = 0;
  double lora_dropout = 0;
};

// Calls f(name, tensor) for every weight, in canonical order: wte.weight, wpe.weight, then per
// block h.{i}.ln_1.weight, ln_1.bias, attn.c_attn.weight, attn.c_attn.bias, attn.c_proj.weight,
// attn.c_proj.bias, ln_2.weight, ln_2.bias, mlp.c_fc.weight, mlp.c_fc.bias, mlp.c_proj.weight,
// mlp.c_proj.bias, then ln_f.weight, ln_f.bias (2 + 12 n_layer + 2 tensors). `Weights` is
// Gpt2Weights or const Gpt2Weights; f receives torch::Tensor& or const torch::Tensor&.
template <class Weights, class F>
void gpt2_visit(Weights& w, F&& f) {
  f(std::string("wte.weight"), w.wte);
  f(std::string("wpe.weight"), w.wpe);
  for (size_t i = 0; i < w.h.size(); ++i) {
    auto& b = w.h[i];
    const std::string p = "h." + std::to_string(i) + ".";
    f(p + "ln_1.weight", b.ln_1_weight);
    f(p + "ln_1.bias", b.ln_1_bias);
    f(p + "attn.c_attn.weight", b.attn_c_attn_weight);
    f(p + "attn.c_attn.bias", b.attn_c_attn_bias);
    f(p + "attn.c_proj.weight", b.attn_c_proj_weight);
    f(p + "attn.c_proj.bias", b.attn_c_proj_bias);
    f(p + "ln_2.weight", b.ln_2_weight);
    f(p + "ln_2.bias", b.ln_2_bias);
    f(p + "mlp.c_fc.weight", b.mlp_c_fc_weight);
    f(p + "mlp.c_fc.bias", b.mlp_c_fc_bias);
    f(p + "mlp.c_proj.weight", b.mlp_c_proj_weight);
    f(p + "mlp.c_proj.bias", b.mlp_c_proj_bias);
  }
  f(std::string("ln_f.weight"), w.ln_f_weight);
  f(std::string("ln_f.bias"), w.ln_f_bias);
}

// Calls f(name, tensor) for both tensors of every LoRA adapter present, in canonical order: per
// block, attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, each "h.{i}.{module}.lora_A.weight" then
// "...lora_B.weight" (PEFT's names below "transformer.").
template <class Weights, class F>
void gpt2_lora_visit(Weights& w, F&& f) {
  for (size_t i = 0; i < w.h.size(); ++i) {
    auto& b = w.h[i];
    const std::string p = "h." + std::to_string(i) + ".";
    auto pair = [&](const char* module, auto& adapter) {
      if (!adapter.defined()) return;
      f(p + module + ".lora_A.weight", adapter.a);
      f(p + module + ".lora_B.weight", adapter.b);
    };
    pair("attn.c_attn", b.attn_c_attn_lora);
    pair("attn.c_proj", b.attn_c_proj_lora);
    pair("mlp.c_fc", b.mlp_c_fc_lora);
    pair("mlp.c_proj", b.mlp_c_proj_lora);
  }
}

// Specs of every weight in canonical order (the order of gpt2_visit).
std::vector<WeightSpec> gpt2_weight_specs(const Gpt2Config& config);

// Canonical-order list of the tensors themselves (not copies: autograd identity is kept).
std::vector<torch::Tensor> gpt2_flatten(const Gpt2Weights& weights);
// The inverse of gpt2_flatten: `tensors` must hold 4 + 12 n_layer tensors in canonical order.
Gpt2Weights gpt2_unflatten(const Gpt2Config& config, const std::vector<torch::Tensor>& tensors);

// GPT-2's initialisation: every matrix and embedding ~ N(0, initializer_range), residual
// projections ~ N(0, initializer_range / sqrt(2 n_layer)), biases 0, LayerNorm weights 1.
// Deterministic for `seed`. Tensors do not require grad.
Gpt2Weights gpt2_init(const Gpt2Config& config, uint64_t seed,
                      torch::Dtype dtype = torch::kFloat32);

// Checks that every tensor is defined and has its spec's shape; errors name `where` and the tensor.
void gpt2_check_shapes(const Gpt2Config& config, const Gpt2Weights& weights, const std::string& where);

// Total number of scalar parameters (the tied head counted once).
int64_t gpt2_parameter_count(const Gpt2Weights& weights);

// Applies fn to every tensor, LoRA adapters included, and returns the result as new weights (e.g.
// to(kFloat64), detach).
template <class Fn>
Gpt2Weights gpt2_map(const Gpt2Weights& weights, Fn&& fn) {
  Gpt2Weights out = weights;  // the adapters' presence, scale and dropout
  gpt2_visit(out, [&](const std::string&, torch::Tensor& t) { t = fn(t); });
  gpt2_lora_visit(out, [&](const std::string&, torch::Tensor& t) { t = fn(t); });
  return out;
}

}  // namespace reckoning
