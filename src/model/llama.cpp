// Llama-family forward pass; see llama.h. Matrix products go through precision.h;
// weights may be task-batched (task_batch.h).
#include "reckoning/model/llama.h"

#include <limits>

#include "reckoning/model/precision.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

// x (B, T, in) W^T (W: (out, in)) + b -> (B, T, out), plus the layer's LoRA path when it has one.
torch::Tensor linear(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, const LoraPair& lora,
                     const LoraApply& apply) {
  const torch::Tensor x2 = x.reshape({-1, x.size(-1)});
  torch::Tensor y = task_matmul(x2, w, /*transposed=*/true, b);
  if (lora.defined()) y = y + lora_path(x2, lora, apply);
  return y.view({x.size(0), x.size(1), w.size(-2)});
}

// transformers' rotate_half: (x1, x2) -> (-x2, x1) over the two halves of the last dimension.
torch::Tensor rotate_half(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

torch::Tensor attention(const LlamaConfig& c, const LlamaLayerWeights& l, const torch::Tensor& x,
                        const torch::Tensor& cos, const torch::Tensor& sin, const torch::Tensor& key_ok, bool dropout,
                        KvCache* cache, size_t layer, const LoraApply& lora) {
  const int64_t B = x.size(0), T = x.size(1), H = c.num_attention_heads, H_kv = c.num_key_value_heads, D = c.head_dim;
  torch::Tensor q = linear(x, l.q_proj, l.q_bias, l.q_lora, lora).view({B, T, H, D});
  torch::Tensor k = linear(x, l.k_proj, l.k_bias, l.k_lora, lora).view({B, T, H_kv, D});
  torch::Tensor v = linear(x, l.v_proj, l.v_bias, l.v_lora, lora).view({B, T, H_kv, D}).transpose(1, 2);  // (B, H_kv, T, D)
  if (c.qk_norm) {  // Qwen 3: RMSNorm over each head's D values, before the rotation
    q = rms_norm(q, l.q_norm, c.rms_norm_eps);
    k = rms_norm(k, l.k_norm, c.rms_norm_eps);
  }
  q = q.transpose(1, 2);  // (B, H, T, D)
  k = k.transpose(1, 2);  // (B, H_kv, T, D)
  const torch::Tensor cos4 = cos.unsqueeze(1), sin4 = sin.unsqueeze(1);  // (B, 1, T, D)
  q = q * cos4 + rotate_half(q) * sin4;
  k = k * cos4 + rotate_half(k) * sin4;
  if (cache != nullptr) std::tie(k, v) = cache->append(layer, k, v);  // (B, H_kv, T_all, D)
  torch::Tensor y = causal_attention(q, k, v, key_ok, c.sliding_window, dropout ? c.attention_dropout : 0.0);
  y = y.transpose(1, 2).contiguous().view({B, T, H * D});
  return linear(y, l.o_proj, l.o_bias, l.o_lora, lora);
}

}  // namespace

torch::Tensor rms_norm(const torch::Tensor& x, const torch::Tensor& weight, double eps) {
  return task_affine(x * torch::rsqrt(x.pow(2).mean(-1, /*keepdim=*/true) + eps), weight);
}

std::pair<torch::Tensor, torch::Tensor> llama_rope(const LlamaConfig& c, const torch::Tensor& positions,
                                                   torch::Dtype dtype) {
  const int64_t seq_len = positions.numel() > 0 ? positions.max().item<int64_t>() + 1 : 0;
  const std::vector<double> inv = llama_rope_inv_freq(c, seq_len);
  const torch::Tensor inv_freq =
      torch::tensor(inv, torch::dtype(torch::kFloat64)).to(positions.device());  // (D/2)
  // Angles in float64, then cos / sin in the model's dtype (transformers computes them in float32).
  const torch::Tensor freqs = positions.to(torch::kFloat64).unsqueeze(-1) * inv_freq;  // (B, T, D/2)
  const torch::Tensor emb = torch::cat({freqs, freqs}, -1);                             // (B, T, D)
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor llama_hidden(const LlamaConfig& c, const LlamaWeights& w, const torch::Tensor& ids_in,
                           const torch::Tensor& mask_in, bool dropout, KvCache* cache) {
  TORCH_CHECK(ids_in.dim() == 2, "llama_hidden: ids must be (B, T), got ", ids_in.sizes());
  const int64_t B = ids_in.size(0), T = ids_in.size(1);
  const torch::Device device = w.embed_tokens.device();
  const torch::Tensor ids = ids_in.to(device);
  // No position table: rotary embeddings go on past max_position_embeddings (as transformers does;
  // what "dynamic" rope scaling is for).
  const SequencePositions seq =
      sequence_positions(mask_in, B, T, device, cache, std::numeric_limits<int64_t>::max(), "llama_hidden");
  const auto [cos, sin] = llama_rope(c, seq.positions, w.embed_tokens.scalar_type());
  torch::Tensor x = task_embedding(w.embed_tokens, ids);  // (B, T, C)
  const LoraApply lora{w.lora_scale, w.lora_dropout, dropout};
  for (size_t i = 0; i < w.layers.size(); ++i) {
    const LlamaLayerWeights& l = w.layers[i];
    x = x + attention(c, l, rms_norm(x, l.input_layernorm, c.rms_norm_eps), cos, sin, seq.key_ok, dropout, cache, i, lora);
    const torch::Tensor h = rms_norm(x, l.post_attention_layernorm, c.rms_norm_eps);
    x = x + linear(torch::silu(linear(h, l.gate_proj, l.gate_bias, l.gate_lora, lora)) *
                       linear(h, l.up_proj, l.up_bias, l.up_lora, lora),
                   l.down_proj, l.down_bias, l.down_lora, lora);
  }
  return rms_norm(x, w.norm, c.rms_norm_eps);
}

torch::Tensor llama_logits(const LlamaWeights& w, const torch::Tensor& hidden) {
  return task_logits(hidden, w.lm_head.defined() ? w.lm_head : w.embed_tokens);  // (..., V)
}

torch::Tensor llama_forward(const LlamaConfig& c, const LlamaWeights& w, const torch::Tensor& ids,
                            const torch::Tensor& mask, bool dropout, KvCache* cache) {
  return llama_logits(w, llama_hidden(c, w, ids, mask, dropout, cache));
}

}  // namespace reckoning
