// What every decoder family here shares around attention: the key/value cache of generation, the
// positions of a (padded) batch, and causal masked attention written with plain ops (fused
// attention kernels have no double backward; the inner loop needs second-order gradients).
//
// Padding: `mask` (B, T) marks real tokens (1) and padding (0). Padded keys are never attended to
// and positions count real tokens only, so left- and right-padded batches give the same outputs at
// real positions as each sequence alone.
#pragma once

#include <vector>

#include <torch/torch.h>

namespace reckoning {

// Keys and values of every layer for the positions seen so far, so that each new token costs one
// position. Created empty; a forward pass appends to it.
struct KvCache {
  std::vector<torch::Tensor> k;  // per layer (B, H_kv, T_past, D)
  std::vector<torch::Tensor> v;  // per layer (B, H_kv, T_past, D)
  torch::Tensor mask;            // (B, T_past) 1 = real token
  int64_t length() const { return mask.defined() ? mask.size(1) : 0; }
  // Keeps rows `index` (1-D int64) of the batch, in that order (beam search reordering).
  void select(const torch::Tensor& index);
  // Appends this step's keys and values of `layer` (B, H_kv, T, D) and returns all of them so far.
  std::pair<torch::Tensor, torch::Tensor> append(size_t layer, const torch::Tensor& k, const torch::Tensor& v);
};

// The positions of a forward pass and the keys it may attend to.
struct SequencePositions {
  torch::Tensor positions;  // (B, T) int64: real tokens before each one (past included); padding 0
  torch::Tensor key_ok;     // (B, T_all) bool over past + new positions: real tokens
};

// From `mask_in` (B, T) (undefined = all real) on `device`; with a cache, continues after its
// positions and extends cache->mask in place. Throws when a row's real tokens (past + new) exceed `max_positions`.
SequencePositions sequence_positions(const torch::Tensor& mask_in, int64_t B, int64_t T, const torch::Device& device,
                                     KvCache* cache, int64_t max_positions, const char* who);

// softmax(q k^T / sqrt(D) masked) v: q (B, H, T, D), k and v (B, H_kv, T_all, D) with H a multiple
// of H_kv (grouped-query attention: each key/value head serves H / H_kv query heads). Query t
// (absolute position T_all - T + t) sees key j iff j <= its position, key j is real, and (with
// `window` > 0) its position - j < window. Dropout on the probabilities when `dropout_p` > 0.
// Returns (B, H, T, D).
torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                               const torch::Tensor& key_ok, int64_t window, double dropout_p);

}  // namespace reckoning
