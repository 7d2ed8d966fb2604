// Masked language-modelling loss; see loss.h.
#include "reckoning/model/loss.h"

#include "reckoning/model/head_loss.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

// Cross entropy of the target rows h (N, C) through the output matrix: one node for a shared head;
// with a task-batched head (tasks, V, C) the rows of each task (a contiguous run: `predicts` (B, T-1)
// marks them row-major and the tasks hold equal blocks of its rows) go through that task's head.
torch::Tensor head_cross_entropy(const torch::Tensor& h, const torch::Tensor& head, const torch::Tensor& targets,
                                 const torch::Tensor& predicts) {
  const int64_t tasks = task_count(head, 2);
  if (tasks == 0) return tied_head_cross_entropy(h, head, targets);
  const torch::Tensor per_task = predicts.reshape({tasks, -1}).sum(1).to(torch::kCPU);  // targets per task
  std::vector<torch::Tensor> parts;
  int64_t start = 0;
  for (int64_t t = 0; t < tasks; ++t) {
    const int64_t n = per_task[t].item<int64_t>();
    if (n > 0) parts.push_back(tied_head_cross_entropy(h.narrow(0, start, n), head[t], targets.narrow(0, start, n)));
    start += n;
  }
  return parts.empty() ? torch::zeros({0}, h.options()) : torch::cat(parts);
}

}  // namespace

torch::Tensor masked_lm_loss_per_sequence(const DecoderConfig& config, const DecoderWeights& weights,
                                          const LmBatch& batch, bool dropout) {
  const int64_t B = batch.ids.size(0);
  torch::Tensor hidden = decoder_hidden(config, weights, batch.ids, batch.attn_mask, dropout);  // (B, T, C)
  const torch::Device device = hidden.device();  // the weights' (decoder_hidden moves the batch there)
  torch::Tensor predicts = batch.target_mask.slice(1, 1).to(device, torch::kBool);  // (B, T-1): position t-1 predicts t
  torch::Tensor h = hidden.slice(1, 0, -1).index({predicts});                // (N, C)
  torch::Tensor targets = batch.ids.slice(1, 1).to(device).index({predicts});  // (N)
  torch::Tensor rows = predicts.nonzero().select(1, 0);                        // (N) sequence of each target
  torch::Tensor ce = head_cross_entropy(h, weights.head(), targets, predicts);  // (N), keeps no (N, V) tensor
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

namespace reckoning {

torch::Tensor masked_lm_loss_per_task(const DecoderConfig& config, const DecoderWeights& weights,
                                      const LmBatch& batch, int64_t tasks, bool dropout) {
  TORCH_CHECK(tasks > 0 && batch.ids.size(0) % tasks == 0, "masked_lm_loss_per_task: ", batch.ids.size(0),
              " sequences are not ", tasks, " tasks' equal blocks");
  torch::Tensor per_sequence = masked_lm_loss_per_sequence(config, weights, batch, dropout).view({tasks, -1});
  torch::Tensor has_targets = batch.target_mask.slice(1, 1).any(1).view({tasks, -1}).to(per_sequence.device());
  return per_sequence.sum(1) / has_targets.sum(1).clamp_min(1).to(per_sequence.scalar_type());
}

LmBatch lm_batch_stack(const std::vector<LmBatch>& batches) {
  TORCH_CHECK(!batches.empty(), "lm_batch_stack: no batches");
  if (batches.size() == 1) return batches.front();
  int64_t rows = 0, length = 0;
  for (const LmBatch& b : batches) {
    rows = std::max(rows, b.ids.size(0));
    length = std::max(length, b.ids.size(1));
  }
  auto pad = [&](const torch::Tensor& t) {
    return torch::constant_pad_nd(t, {0, length - t.size(1), 0, rows - t.size(0)}, 0);
  };
  std::vector<torch::Tensor> ids, attn, targets;
  for (const LmBatch& b : batches) {
    ids.push_back(pad(b.ids));
    attn.push_back(pad(b.attn_mask));
    targets.push_back(pad(b.target_mask.to(torch::kUInt8)));
  }
  return {torch::cat(ids), torch::cat(attn), torch::cat(targets).to(torch::kBool)};
}

}  // namespace reckoning
