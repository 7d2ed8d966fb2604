// The Llama-family forward pass (llama_config.h) as free functions over explicit weights, like
// gpt2.h: the same code runs on base weights, on the inner loop's fast weights and in float64
// gradient checks. Every operation is twice differentiable (attention with plain ops, attention.h).
//
// Follows transformers' LlamaForCausalLM / MistralForCausalLM / Qwen2ForCausalLM /
// Qwen3ForCausalLM: RMSNorm (x / sqrt(mean(x^2) + eps) * w), rotary embeddings in rotate-half form
// on q and k (after Qwen 3's per-head q/k RMSNorm), grouped-query causal attention (Mistral's
// sliding window), SwiGLU MLP down(silu(gate(x)) * up(x)), final RMSNorm, head tied or not.
// Padding and the KV cache as in attention.h.
#pragma once

#include <torch/torch.h>

#include "reckoning/model/attention.h"
#include "reckoning/model/llama_config.h"
#include "reckoning/model/llama_weights.h"

namespace reckoning {

// RMSNorm over the last dimension.
torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps);

// cos and sin (B, T, D) of the rotary embedding at `positions` (B, T), in `dtype`.
std::pair<torch::Tensor, torch::Tensor> llama_rope(const LlamaConfig& config, const torch::Tensor& positions,
                                                   torch::Dtype dtype);

// ids (B, T) int64, mask (B, T) or undefined (= all real) -> final hidden states (B, T, C) after
// the final norm. With a cache, ids are the new positions only; the cache is extended in place.
// `dropout`: attention dropout (attention_dropout; 0 in the published models) in training.
torch::Tensor llama_hidden(const LlamaConfig& config, const LlamaWeights& weights, const torch::Tensor& ids,
                           const torch::Tensor& mask, bool dropout, KvCache* cache = nullptr);

// hidden (..., C) -> logits (..., V) through lm_head, or the embedding when tied.
torch::Tensor llama_logits(const LlamaWeights& weights, const torch::Tensor& hidden);

// Same arguments as llama_hidden -> logits (B, T, V).
torch::Tensor llama_forward(const LlamaConfig& config, const LlamaWeights& weights, const torch::Tensor& ids,
                            const torch::Tensor& mask, bool dropout, KvCache* cache = nullptr);

}  // namespace reckoning
