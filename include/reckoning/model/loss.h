// The masked language-modelling loss used by both loops: next-token cross entropy on selected
// target tokens only, averaged per sequence over its targets, then averaged over sequences:
//   L = mean_i( sum_t m_it * CE_it / sum_t m_it )      (RECKONING.md section 2)
// Logits are computed only at the positions that predict a target (through the tied head), so a
// long conditioning prefix or padding costs no (N, V) output-layer work.
#pragma once

#include <vector>

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

// The loss of each of `tasks` tasks whose sequences are the batch's equal blocks of rows in task
// order (lm_batch_stack), each the mean over its sequences with a target (0 for a task without
// any): (tasks). The weights are shared or task-batched over the same tasks (task_batch.h).
torch::Tensor masked_lm_loss_per_task(const DecoderConfig& config, const DecoderWeights& weights,
                                      const LmBatch& batch, int64_t tasks, bool dropout);

// The batches of several tasks as one: each padded to the most rows (sequences of padding only,
// without targets) and the longest sequence (padding on the right), then stacked in order, so that
// task i holds rows [i R, (i + 1) R). Padding changes no task's loss or gradient: padded keys are
// masked and padded sequences have no targets. One batch is returned as it is.
LmBatch lm_batch_stack(const std::vector<LmBatch>& batches);

}  // namespace reckoning
