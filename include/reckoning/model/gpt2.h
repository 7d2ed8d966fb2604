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

#include "reckoning/model/attention.h"
#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/gpt2_weights.h"

namespace reckoning {

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
