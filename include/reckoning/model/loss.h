// The masked language-modelling loss used by both loops: next-token cross entropy on selected
// target tokens only, averaged per sequence over its targets, then averaged over sequences:
//   L = mean_i( sum_t m_it * CE_it / sum_t m_it )      (RECKONING.md section 2)
// Logits are computed only at the positions that predict a target (through the tied head), so a
// long conditioning prefix or padding costs no (N, V) output-layer work.
#pragma once

#include <torch/torch.h>

#include "reckoning/model/decoder.h"

namespace reckoning {

struct LmBatch {
  torch::Tensor ids;          // (B, T) int64
  torch::Tensor attn_mask;    // (B, T) int64, 1 = real token
  torch::Tensor target_mask;  // (B, T) bool, true = token t is a target (predicted from t - 1)
};

// Per-sequence mean of target-token cross entropy, (B) ; sequences without targets give 0.
torch::Tensor masked_lm_loss_per_sequence(const DecoderConfig& config, const DecoderWeights& weights,
                                          const LmBatch& batch, bool dropout);

// Mean over the sequences that have at least one target: a scalar.
torch::Tensor masked_lm_loss(const DecoderConfig& config, const DecoderWeights& weights,
                             const LmBatch& batch, bool dropout);

}  // namespace reckoning
