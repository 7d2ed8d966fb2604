// What every model family's weights share: the description of one weight tensor (WeightSpec), and
// a LoRA adapter on one linear layer (LoraPair) with the way a forward pass applies it.
// Not here: a family's weights (gpt2_weights.h, llama_weights.h), adapters as a whole (lora.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace reckoning {

// What the rest of the system needs to know about one weight tensor.
struct WeightSpec {
  std::string name;            // Hugging Face name, e.g. "h.3.mlp.c_fc.weight"
  std::vector<int64_t> shape;  // expected shape under the config
  int64_t layer_group;         // 0 = embeddings, 1..n_layer = block i-1, n_layer+1 = final norm (and an untied head)
  bool decays;                 // receives weight decay (matrices and embeddings, not biases/norms)
  bool residual_projection;    // projections into the residual stream (GPT-2: init std / sqrt(2 n_layer))
};

// A LoRA adapter on one linear layer with input width `in` and output width `out`: the layer's
// output gains scale * (x a^T) b^T, i.e. its weight gains scale * b a (as (out, in)). Stored as PEFT
// stores it: a = lora_A.weight (r, in), b = lora_B.weight (out, r). Undefined tensors = no adapter
// (include/reckoning/model/lora.h builds them).
struct LoraPair {
  torch::Tensor a;  // (r, in)
  torch::Tensor b;  // (out, r)
  bool defined() const { return a.defined(); }
};

// How a model's adapters are applied: scale = alpha / rank, and dropout on the adapter path's input.
struct LoraApply {
  double scale = 0, dropout_p = 0;
  bool training = false;  // dropout only in training
};

// The adapter path of a layer for inputs x2 (N, in): scale * dropout(x2) a^T b^T, (N, out); never
// forms the (in, out) update. Matrix products follow precision.h.
torch::Tensor lora_path(const torch::Tensor& x2, const LoraPair& lora, const LoraApply& apply);

}  // namespace reckoning
