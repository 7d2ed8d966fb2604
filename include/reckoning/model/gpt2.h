// The GPT-2 forward pass as free functions over explicit weights, so that the same code runs on
// base weights, on the inner loop's fast weights and in float64 gradient checks.
//
// - Causal self-attention is written with plain ops (matmul, masked fill, softmax): fused
//   attention kernels have no double backward, and the inner loop needs second-order gradients.
// - GELU is the tanh approximation (GPT-2's "gelu_new").
// - The output head is tied: logits = h @ wte^T.
// - Padding: `mask` (B, T) marks real tokens (1) and padding (0). Padded keys are never attended
//   to and position ids count real tokens only, so left- and right-padded batches give the same
//   logits at real positions as each sequence alone.
// - Dropout is applied only when `dropout` is true (training).
// Not here: generation (generate.h), losses (loss.h).
#pragma once

#include <vector>

#include <torch/torch.h>

#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/gpt2_weights.h"

namespace reckoning {

// Keys and values of every layer for the positions seen so far, so that each new token costs one
// position. Created empty; gpt2_forward appends to it.
struct KvCache {
  std::vector<torch::Tensor> k;  // per layer (B, H, T_past, D)
  std::vector<torch::Tensor> v;  // per layer (B, H, T_past, D)
  torch::Tensor mask;            // (B, T_past) 1 = real token
  int64_t length() const { return mask.defined() ? mask.size(1) : 0; }
  // Keeps rows `index` (1-D int64) of the batch, in that order (beam search reordering).
  void select(const torch::Tensor& index);
};

// ids (B, T) int64, mask (B, T) or undefined (= all real) -> final hidden states (B, T, C) after
// ln_f. With a cache, ids are the new positions only; the cache is extended in place.
torch::Tensor gpt2_hidden(const Gpt2Config& config, const Gpt2Weights& weights,
                          const torch::Tensor& ids, const torch::Tensor& mask, bool dropout,
                          KvCache* cache = nullptr);

// Same arguments -> logits (B, T, V) through the tied head.
torch::Tensor gpt2_forward(const Gpt2Config& config, const Gpt2Weights& weights,
                           const torch::Tensor& ids, const torch::Tensor& mask, bool dropout,
                           KvCache* cache = nullptr);

// hidden (..., C) -> logits (..., V) through the tied head.
torch::Tensor gpt2_logits(const Gpt2Weights& weights, const torch::Tensor& hidden);

}  // namespace reckoning
