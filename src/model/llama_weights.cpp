// Llama-family weights: specs, initialisation, from named tensors; see llama_weights.h.
#include "reckoning/model/llama_weights.h"

#include <map>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "(";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + ")";
}

// Defines, in llama_visit's order, every tensor the config gives the model: undefined tensors of
// the right shape are created by `make(spec)` for each spec. Used by init and by the spec list.
LlamaWeights llama_skeleton(const LlamaConfig& c, const std::function<torch::Tensor(const WeightSpec&)>& make) {
  const int64_t C = c.hidden_size, I = c.intermediate_size, V = c.vocab_size, D = c.head_dim;
  const int64_t L = c.num_hidden_layers;
  LlamaWeights w;
  auto spec = [&](const std::string& name, std::vector<int64_t> shape, int64_t group, bool decays, bool residual) {
    return make(WeightSpec{name, std::move(shape), group, decays, residual});
  };
  w.embed_tokens = spec("model.embed_tokens.weight", {V, C}, 0, true, false);
  for (int64_t i = 0; i < L; ++i) {
    LlamaLayerWeights l;
    const std::string p = "model.layers." + std::to_string(i) + ".";
    const int64_t g = i + 1;
    l.input_layernorm = spec(p + "input_layernorm.weight", {C}, g, false, false);
    l.q_proj = spec(p + "self_attn.q_proj.weight", {c.q_dim(), C}, g, true, false);
    if (c.qkv_bias()) l.q_bias = spec(p + "self_attn.q_proj.bias", {c.q_dim()}, g, false, false);
    l.k_proj = spec(p + "self_attn.k_proj.weight", {c.kv_dim(), C}, g, true, false);
    if (c.qkv_bias()) l.k_bias = spec(p + "self_attn.k_proj.bias", {c.kv_dim()}, g, false, false);
    l.v_proj = spec(p + "self_attn.v_proj.weight", {c.kv_dim(), C}, g, true, false);
    if (c.qkv_bias()) l.v_bias = spec(p + "self_attn.v_proj.bias", {c.kv_dim()}, g, false, false);
    l.o_proj = spec(p + "self_attn.o_proj.weight", {C, c.q_dim()}, g, true, true);
    if (c.o_bias()) l.o_bias = spec(p + "self_attn.o_proj.bias", {C}, g, false, false);
    if (c.qk_norm) {
      l.q_norm = spec(p + "self_attn.q_norm.weight", {D}, g, false, false);
      l.k_norm = spec(p + "self_attn.k_norm.weight", {D}, g, false, false);
    }
    l.post_attention_layernorm = spec(p + "post_attention_layernorm.weight", {C}, g, false, false);
    l.gate_proj = spec(p + "mlp.gate_proj.weight", {I, C}, g, true, false);
    if (c.mlp_bias) l.gate_bias = spec(p + "mlp.gate_proj.bias", {I}, g, false, false);
    l.up_proj = spec(p + "mlp.up_proj.weight", {I, C}, g, true, false);
    if (c.mlp_bias) l.up_bias = spec(p + "mlp.up_proj.bias", {I}, g, false, false);
    l.down_proj = spec(p + "mlp.down_proj.weight", {C, I}, g, true, true);
    if (c.mlp_bias) l.down_bias = spec(p + "mlp.down_proj.bias", {C}, g, false, false);
    w.layers.push_back(std::move(l));
  }
  w.norm = spec("model.norm.weight", {C}, L + 1, false, false);
  if (!c.tie_word_embeddings) w.lm_head = spec("lm_head.weight", {V, C}, L + 1, true, false);
  return w;
}

}  // namespace

std::vector<WeightSpec> llama_weight_specs(const LlamaConfig& config) {
  std::vector<WeightSpec> specs;
  llama_skeleton(config, [&](const WeightSpec& s) {
    specs.push_back(s);
    return torch::empty({0});  // defined, so that the skeleton keeps its place; never used
  });
  return specs;
}

LlamaWeights llama_init(const LlamaConfig& config, uint64_t seed, torch::Dtype dtype) {
  torch::manual_seed(seed);
  const auto options = torch::dtype(dtype);
  return llama_skeleton(config, [&](const WeightSpec& s) {
    const bool norm = s.name.find("norm.weight") != std::string::npos;
    if (norm) return torch::ones(s.shape, options);
    if (s.shape.size() == 1) return torch::zeros(s.shape, options);  // biases
    return torch::randn(s.shape, options) * config.initializer_range;
  });
}

LlamaWeights llama_weights_from_named(const LlamaConfig& config,
                                      const std::vector<std::pair<std::string, torch::Tensor>>& named,
                                      const std::string& where) {
  std::map<std::string, torch::Tensor> by_name;
  for (const auto& [name, tensor] : named) {
    check(by_name.emplace(name, tensor).second, str(where, ": tensor '", name, "'"), "each tensor once", "a repeat");
  }
  std::vector<std::string> used;
  LlamaWeights w = llama_skeleton(config, [&](const WeightSpec& s) {
    auto it = by_name.find(s.name);
    check(it != by_name.end(), str(where, ": tensor '", s.name, "'"), str("it (shape ", shape_string(s.shape), ")"),
          "none (missing from the checkpoint)");
    check(it->second.sizes() == at::IntArrayRef(s.shape), str(where, ": tensor '", s.name, "'"),
          str("shape ", shape_string(s.shape)), shape_string(it->second.sizes()));
    check(it->second.is_floating_point(), str(where, ": tensor '", s.name, "'"), "a floating-point tensor",
          std::string(c10::toString(it->second.scalar_type())));
    used.push_back(s.name);
    return it->second;
  });
  for (const auto& [name, tensor] : by_name) {
    if (std::find(used.begin(), used.end(), name) != used.end()) continue;
    // transformers saves a tied head as well; it must be the embedding.
    if (name == "lm_head.weight" && config.tie_word_embeddings) {
      check(tensor.sizes() == w.embed_tokens.sizes() && torch::equal(tensor.to(w.embed_tokens.dtype()), w.embed_tokens),
            str(where, ": tensor 'lm_head.weight'"), "a copy of model.embed_tokens.weight (tie_word_embeddings is true)",
            "a different tensor");
      continue;
    }
    // Rotary caches some older checkpoints carry are buffers, not weights.
    const std::string buffer = "rotary_emb.inv_freq";
    if (name.size() >= buffer.size() && name.compare(name.size() - buffer.size(), buffer.size(), buffer) == 0) continue;
    throw_error(str(where, ": tensor '", name, "'"), "only the tensors of the configured model (llama_weight_specs)",
                "an unexpected tensor");
  }
  return w;
}

void llama_check_shapes(const LlamaConfig& config, const LlamaWeights& weights, const std::string& where) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  llama_visit(weights, [&](const std::string& name, const torch::Tensor& t) { named.emplace_back(name, t); });
  llama_weights_from_named(config, named, where);
}

int64_t llama_parameter_count(const LlamaWeights& weights) {
  int64_t n = 0;
  llama_visit(weights, [&](const std::string&, const torch::Tensor& t) { n += t.numel(); });
  return n;
}

}  // namespace reckoning
