// GPT-2 forward pass; see gpt2.h. Follows the Hugging Face GPT2LMHeadModel computation exactly
// (pre-LayerNorm blocks, scaled dot-product attention, tanh GELU, tied head). Matrix products go
// through precision.h (bfloat16 when the caller asks for it); weights may be task-batched
// (task_batch.h).
#include "reckoning/model/gpt2.h"

#include <cmath>

#include "reckoning/base/error.h"
#include "reckoning/model/attention.h"
#include "reckoning/model/gelu.h"
#include "reckoning/model/precision.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

// x (B, T, in) @ w (in, out) + b (out) -> (B, T, out); Hugging Face Conv1D, plus the LoRA path
// scale * dropout(x) a^T b^T when the layer has an adapter (never materialising the (in, out) update).
torch::Tensor conv1d(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b,
                     const LoraPair& lora = {}, const LoraApply& apply = {}) {
  const torch::Tensor x2 = x.reshape({-1, x.size(-1)});
  torch::Tensor y = task_matmul(x2, w, /*transposed=*/false, b);
  if (lora.defined()) y = y + lora_path(x2, lora, apply);
  return y.view({x.size(0), x.size(1), w.size(-1)});
}

// Causal self-attention with a key-padding mask. x (B, T, C); key_ok (B, T_all) bool over past +
// new positions; returns (B, T, C).
torch::Tensor attention(const Gpt2Config& c, const Gpt2BlockWeights& b, const torch::Tensor& x,
                        const torch::Tensor& key_ok, bool dropout, KvCache* cache, size_t layer,
                        const LoraApply& lora) {
  const int64_t B = x.size(0), T = x.size(1), C = c.n_embd, H = c.n_head, D = c.head_dim();
  torch::Tensor qkv = conv1d(x, b.attn_c_attn_weight, b.attn_c_attn_bias, b.attn_c_attn_lora, lora);  // (B, T, 3C)
  auto parts = qkv.split(C, 2);
  torch::Tensor q = parts[0].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)
  torch::Tensor k = parts[1].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)
  torch::Tensor v = parts[2].view({B, T, H, D}).transpose(1, 2);  // (B, H, T, D)
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);  // (B, H, T_all, D)
  torch::Tensor y = causal_attention(q, k, v, key_ok, 0, dropout ? c.attn_pdrop : 0.0);  // (B, H, T, D)
  y = y.transpose(1, 2).contiguous().view({B, T, C});       // (B, T, C)
  return conv1d(y, b.attn_c_proj_weight, b.attn_c_proj_bias, b.attn_c_proj_lora, lora);
}

}  // namespace

torch::Tensor gpt2_hidden(const Gpt2Config& c, const Gpt2Weights& w, const torch::Tensor& ids_in,
                          const torch::Tensor& mask_in, bool dropout, KvCache* cache) {
  TORCH_CHECK(ids_in.dim() == 2, "gpt2_hidden: ids must be (B, T), got ", ids_in.sizes());
  const int64_t B = ids_in.size(0), T = ids_in.size(1);
  // Inputs follow the weights' device (batches are built on the CPU; a no-op there).
  const torch::Device device = w.wte.device();
  const torch::Tensor ids = ids_in.to(device);
  const SequencePositions seq = sequence_positions(mask_in, B, T, device, cache, c.n_ctx, "gpt2_hidden");
  const torch::Tensor& positions = seq.positions;
  const torch::Tensor& key_ok = seq.key_ok;

  torch::Tensor x = task_embedding(w.wte, ids) + task_embedding(w.wpe, positions);  // (B, T, C)
  if (dropout && c.embd_pdrop > 0) x = torch::dropout(x, c.embd_pdrop, true);
  const LoraApply lora{w.lora_scale, w.lora_dropout, dropout};
  for (size_t i = 0; i < w.h.size(); ++i) {
    const Gpt2BlockWeights& b = w.h[i];
    torch::Tensor a = task_layer_norm(x, b.ln_1_weight, b.ln_1_bias, c.layer_norm_epsilon);
    a = attention(c, b, a, key_ok, dropout, cache, i, lora);
    if (dropout && c.resid_pdrop > 0) a = torch::dropout(a, c.resid_pdrop, true);
    x = x + a;  // (B, T, C)
    torch::Tensor m = task_layer_norm(x, b.ln_2_weight, b.ln_2_bias, c.layer_norm_epsilon);
    m = conv1d(gelu_tanh(conv1d(m, b.mlp_c_fc_weight, b.mlp_c_fc_bias, b.mlp_c_fc_lora, lora)),
               b.mlp_c_proj_weight, b.mlp_c_proj_bias, b.mlp_c_proj_lora, lora);  // (B, T, C)
    if (dropout && c.resid_pdrop > 0) m = torch::dropout(m, c.resid_pdrop, true);
    x = x + m;
  }
  return task_layer_norm(x, w.ln_f_weight, w.ln_f_bias, c.layer_norm_epsilon);
}

torch::Tensor gpt2_logits(const Gpt2Weights& w, const torch::Tensor& hidden) {
  return task_logits(hidden, w.wte);  // (..., V)
}

torch::Tensor gpt2_forward(const Gpt2Config& c, const Gpt2Weights& w, const torch::Tensor& ids,
                           const torch::Tensor& mask, bool dropout, KvCache* cache) {
  return gpt2_logits(w, gpt2_hidden(c, w, ids, mask, dropout, cache));
}

}  // namespace reckoning
