// Masked language-modelling loss; see loss.h.
#include "reckoning/model/loss.h"

#include "reckoning/model/head_loss.h"

namespace reckoning {

torch::Tensor masked_lm_loss_per_sequence(const DecoderConfig& config, const DecoderWeights& weights,
                                          const LmBatch& batch, bool dropout) {
  const int64_t B = batch.ids.size(0);
  torch::Tensor hidden = decoder_hidden(config, weights, batch.ids, batch.attn_mask, dropout);  // (B, T, C)
  const torch::Device device = hidden.device();  // the weights' (decoder_hidden moves the batch there)
  torch::Tensor predicts = batch.target_mask.slice(1, 1).to(device, torch::kBool);  // (B, T-1): position t-1 predicts t
  torch::Tensor h = hidden.slice(1, 0, -1).index({predicts});                // (N, C)
  torch::Tensor targets = batch.ids.slice(1, 1).to(device).index({predicts});  // (N)
  torch::Tensor rows = predicts.nonzero().select(1, 0);                        // (N) sequence of each target
  torch::Tensor ce = tied_head_cross_entropy(h, weights.head(), targets);  // (N), keeps no (N, V) tensor
  torch::Tensor sums = torch::zeros({B}, ce.options()).index_add(0, rows, ce);  // (B)
  torch::Tensor counts = predicts.sum(1).to(ce.scalar_type());                  // (B)
  return sums / counts.clamp_min(1);
}

torch::Tensor masked_lm_loss(const DecoderConfig& config, const DecoderWeights& weights,
                             const LmBatch& batch, bool dropout) {
  torch::Tensor per_sequence = masked_lm_loss_per_sequence(config, weights, batch, dropout);  // (B)
  torch::Tensor has_targets = batch.target_mask.slice(1, 1).any(1);                         // (B)
  const int64_t n = has_targets.sum().item<int64_t>();
  TORCH_CHECK(n > 0, "masked_lm_loss: no sequence in the batch has a target token");
  return per_sequence.sum() / static_cast<double>(n);
}

}  // namespace reckoning
