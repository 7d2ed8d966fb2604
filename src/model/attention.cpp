// Shared attention pieces; see attention.h. Matrix products go through precision.h.
#include "reckoning/model/attention.h"

#include <cmath>

#include "reckoning/model/precision.h"

namespace reckoning {

void KvCache::select(const torch::Tensor& index) {
  for (auto& t : k) t = t.index_select(0, index);
  for (auto& t : v) t = t.index_select(0, index);
  if (mask.defined()) mask = mask.index_select(0, index);
}

std::pair<torch::Tensor, torch::Tensor> KvCache::append(size_t layer, const torch::Tensor& k_new,
                                                        const torch::Tensor& v_new) {
  if (k.size() > layer) {
    k[layer] = torch::cat({k[layer], k_new}, 2);
    v[layer] = torch::cat({v[layer], v_new}, 2);
  } else {
    k.push_back(k_new);
    v.push_back(v_new);
  }
  return {k[layer], v[layer]};
}

SequencePositions sequence_positions(const torch::Tensor& mask_in, int64_t B, int64_t T, const torch::Device& device,
                                     KvCache* cache, int64_t max_positions, const char* who) {
  const auto long_on_device = torch::dtype(torch::kLong).device(device);
  torch::Tensor mask = mask_in.defined() ? mask_in.to(device, torch::kLong) : torch::ones({B, T}, long_on_device);
  TORCH_CHECK(mask.size(0) == B && mask.size(1) == T, who, ": mask ", mask.sizes(), " != ids (", B, ", ", T, ")");
  // Positions count real tokens only (left padding shifts nothing); padding positions get 0.
  torch::Tensor past_real = (cache != nullptr && cache->length() > 0) ? cache->mask.sum(1, /*keepdim=*/true)
                                                                      : torch::zeros({B, 1}, long_on_device);
  SequencePositions out;
  out.positions = (past_real + mask.cumsum(1) - 1).clamp_min(0);  // (B, T)
  const int64_t past_len = cache != nullptr ? cache->length() : 0;
  if (past_len + T > max_positions) {
    // More slots than positions: fine as long as every row's real tokens fit (slots also hold left
    // padding, and a batched generation's finished rows are fed as padding).
    const int64_t longest = (past_real + mask.sum(1, /*keepdim=*/true)).max().item<int64_t>();
    TORCH_CHECK(longest <= max_positions, who, ": sequence length ", longest, " exceeds the model's ", max_positions,
                " positions");
  }
  torch::Tensor key_ok = mask;
  if (cache != nullptr) {
    key_ok = past_len > 0 ? torch::cat({cache->mask, mask}, 1) : mask;
    cache->mask = key_ok;
  }
  out.key_ok = key_ok.to(torch::kBool);  // (B, T_all)
  return out;
}

torch::Tensor causal_attention(const torch::Tensor& q, const torch::Tensor& k_in, const torch::Tensor& v_in,
                               const torch::Tensor& key_ok, int64_t window, double dropout_p) {
  const int64_t B = q.size(0), H = q.size(1), T = q.size(2), D = q.size(3);
  const int64_t H_kv = k_in.size(1), T_all = k_in.size(2), past = T_all - T;
  TORCH_CHECK(H % H_kv == 0, "causal_attention: ", H, " query heads and ", H_kv, " key/value heads");
  torch::Tensor k = k_in, v = v_in;
  if (H_kv != H) {  // each key/value head repeated for its group of query heads (transformers' repeat_kv)
    k = k.unsqueeze(2).expand({B, H_kv, H / H_kv, T_all, D}).reshape({B, H, T_all, D});
    v = v.unsqueeze(2).expand({B, H_kv, H / H_kv, T_all, D}).reshape({B, H, T_all, D});
  }
  torch::Tensor att = mixed_matmul(q, k.transpose(-2, -1)) * (1.0 / std::sqrt(static_cast<double>(D)));  // (B, H, T, T_all)
  // Query t (absolute position past + t) may see key j iff j <= past + t and key j is real.
  const auto bool_on_device = torch::dtype(torch::kBool).device(q.device());
  torch::Tensor allowed_t = torch::ones({T, T_all}, bool_on_device).tril(past);  // (T, T_all)
  if (window > 0) allowed_t = allowed_t & torch::ones({T, T_all}, bool_on_device).triu(past - window + 1);
  torch::Tensor allowed = allowed_t.unsqueeze(0).unsqueeze(0) & key_ok.view({B, 1, 1, T_all});
  // A large finite negative instead of -inf: a fully masked row (a padding query) stays finite
  // (and -1e30 stays finite in bfloat16 too).
  att = att.masked_fill(allowed.logical_not(), -1e30);
  att = torch::softmax(att, -1);
  if (dropout_p > 0) att = torch::dropout(att, dropout_p, true);
  return mixed_matmul(att, v);  // (B, H, T, D)
}

}  // namespace reckoning
