// Llama-family weights as data: one struct of named tensors keyed by the Hugging Face names
// (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM), and one visitor
// (llama_visit) that alone defines those names and their order.
//
// Layout facts (each one is the published checkpoints'):
// - Linear layers are nn.Linear: weight (out, in), y = x W^T + b.
// - Which tensors exist follows the config: q/k/v biases (qwen2, attention_bias), o bias
//   (attention_bias except qwen2), MLP biases (llama mlp_bias), per-head q/k norms (qwen3), and
//   lm_head.weight only when the head is not tied to model.embed_tokens.weight.
// Not here: the forward pass (llama.h), checkpoint files (llama_checkpoint.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "reckoning/model/llama_config.h"
#include "reckoning/model/weight_spec.h"

namespace reckoning {

struct LlamaLayerWeights {
  torch::Tensor input_layernorm;           // (C)
  torch::Tensor q_proj, q_bias;            // (H D, C), (H D)
  torch::Tensor k_proj, k_bias;            // (H_kv D, C), (H_kv D)
  torch::Tensor v_proj, v_bias;            // (H_kv D, C), (H_kv D)
  torch::Tensor o_proj, o_bias;            // (C, H D), (C)
  torch::Tensor q_norm, k_norm;            // (D) qwen3
  torch::Tensor post_attention_layernorm;  // (C)
  torch::Tensor gate_proj, gate_bias;      // (I, C), (I)
  torch::Tensor up_proj, up_bias;          // (I, C), (I)
  torch::Tensor down_proj, down_bias;      // (C, I), (C)
  // Optional LoRA adapters (lora.h); not part of the canonical weights (llama_visit).
  LoraPair q_lora, k_lora, v_lora, o_lora, gate_lora, up_lora, down_lora;
};

struct LlamaWeights {
  torch::Tensor embed_tokens;            // (V, C)
  std::vector<LlamaLayerWeights> layers;
  torch::Tensor norm;                    // (C)
  torch::Tensor lm_head;                 // (V, C); undefined when tied to embed_tokens
  // How the layers' LoRA adapters (if any) are applied: scale = alpha / rank, dropout in training.
  double lora_scale = 0;
  double lora_dropout = 0;
};

// Calls f(name, tensor) for every weight the model has (undefined tensors are the ones its config
// leaves out and are skipped), in canonical order: model.embed_tokens.weight, per layer
// model.layers.{i}.input_layernorm.weight, self_attn.{q,k,v}_proj.{weight,bias},
// self_attn.o_proj.{weight,bias}, self_attn.{q,k}_norm.weight, post_attention_layernorm.weight,
// mlp.{gate,up,down}_proj.{weight,bias}, then model.norm.weight and lm_head.weight.
template <class Weights, class F>
void llama_visit(Weights& w, F&& f) {
  auto visit = [&](const std::string& name, auto& t) {
    if (t.defined()) f(name, t);
  };
  visit(std::string("model.embed_tokens.weight"), w.embed_tokens);
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    visit(p + "input_layernorm.weight", l.input_layernorm);
    visit(p + "self_attn.q_proj.weight", l.q_proj);
    visit(p + "self_attn.q_proj.bias", l.q_bias);
    visit(p + "self_attn.k_proj.weight", l.k_proj);
    visit(p + "self_attn.k_proj.bias", l.k_bias);
    visit(p + "self_attn.v_proj.weight", l.v_proj);
    visit(p + "self_attn.v_proj.bias", l.v_bias);
    visit(p + "self_attn.o_proj.weight", l.o_proj);
    visit(p + "self_attn.o_proj.bias", l.o_bias);
    visit(p + "self_attn.q_norm.weight", l.q_norm);
    visit(p + "self_attn.k_norm.weight", l.k_norm);
    visit(p + "post_attention_layernorm.weight", l.post_attention_layernorm);
    visit(p + "mlp.gate_proj.weight", l.gate_proj);
    visit(p + "mlp.gate_proj.bias", l.gate_bias);
    visit(p + "mlp.up_proj.weight", l.up_proj);
    visit(p + "mlp.up_proj.bias", l.up_bias);
    visit(p + "mlp.down_proj.weight", l.down_proj);
    visit(p + "mlp.down_proj.bias", l.down_bias);
  }
  visit(std::string("model.norm.weight"), w.norm);
  visit(std::string("lm_head.weight"), w.lm_head);
}

// Calls f(name, tensor) for both tensors of every LoRA adapter present, in canonical order: per
// layer self_attn.{q,k,v,o}_proj, mlp.{gate,up,down}_proj, each
// "model.layers.{i}.{module}.lora_A.weight" then "...lora_B.weight" (PEFT's names below "base_model.model.").
template <class Weights, class F>
void llama_lora_visit(Weights& w, F&& f) {
  for (size_t i = 0; i < w.layers.size(); ++i) {
    auto& l = w.layers[i];
    const std::string p = "model.layers." + std::to_string(i) + ".";
    auto pair = [&](const char* module, auto& adapter) {
      if (!adapter.defined()) return;
      f(p + module + ".lora_A.weight", adapter.a);
      f(p + module + ".lora_B.weight", adapter.b);
    };
    pair("self_attn.q_proj", l.q_lora);
    pair("self_attn.k_proj", l.k_lora);
    pair("self_attn.v_proj", l.v_lora);
    pair("self_attn.o_proj", l.o_lora);
    pair("mlp.gate_proj", l.gate_lora);
    pair("mlp.up_proj", l.up_lora);
    pair("mlp.down_proj", l.down_lora);
  }
}

// Specs of every weight `config` gives the model, in llama_visit's order. layer_group: 0 =
// embeddings, 1..L = layer i-1, L+1 = final norm and the untied head; decays: matrices and
// embeddings; residual_projection: o_proj and down_proj.
std::vector<WeightSpec> llama_weight_specs(const LlamaConfig& config);

// The initialisation of transformers' LlamaPreTrainedModel: every matrix and embedding
// ~ N(0, initializer_range), biases 0, norms 1. Deterministic for `seed`; not requiring grad.
LlamaWeights llama_init(const LlamaConfig& config, uint64_t seed, torch::Dtype dtype = torch::kFloat32);

// Weights from named tensors (e.g. a checkpoint, without any prefix changes: names as
// llama_visit gives them); refuses missing, unexpected or misshapen tensors naming `where` and the
// tensor. A tied head's lm_head.weight may be present if it equals the embedding.
LlamaWeights llama_weights_from_named(const LlamaConfig& config, const std::vector<std::pair<std::string, torch::Tensor>>& named,
                                      const std::string& where);

// Checks that every tensor of the specs is there with its shape; errors name `where` and the tensor.
void llama_check_shapes(const LlamaConfig& config, const LlamaWeights& weights, const std::string& where);

int64_t llama_parameter_count(const LlamaWeights& weights);

}  // namespace reckoning
