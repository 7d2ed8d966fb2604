// Hyperparameters of the Llama family of decoders - Llama 2 / 3 / 3.x, TinyLlama, SmolLM, Mistral,
// Qwen 2 / 2.5, Qwen 3 - under the Hugging Face config.json names, read and written as published.
//
// One architecture covers them: RMSNorm before attention and MLP, rotary position embeddings
// (rotate-half form) with `rope_theta` and `rope_scaling` (none, "linear", "dynamic" or Llama 3's
// "llama3"), grouped-query attention (`num_key_value_heads`), a SwiGLU MLP, a final RMSNorm and a
// tied or separate output head. The families differ only in switches:
//   llama    attention_bias (q, k, v, o), mlp_bias
//   mistral  as llama without biases; sliding_window (keys further back are not attended)
//   qwen2    q, k, v biases (o none); sliding window only with use_sliding_window
//   qwen3    attention_bias as llama; per-head RMSNorm of q and k (q_norm, k_norm) before RoPE
// Refused, naming the field: other activations than silu, rope types not listed above
// (yarn, longrope), Qwen 2's use_sliding_window with max_window_layers below the layer count.
//
// Not here: the weights (llama_weights.h), the forward pass (llama.h), checkpoint files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

struct RopeScaling {
  std::string type = "default";  // default | linear | dynamic | llama3
  double factor = 1.0;
  double low_freq_factor = 1.0;   // llama3
  double high_freq_factor = 4.0;  // llama3
  int64_t original_max_position_embeddings = 8192;  // llama3 (and dynamic, else max_position_embeddings)
};

struct LlamaConfig {
  std::string model_type = "llama";  // llama | mistral | qwen2 | qwen3
  int64_t vocab_size = 32000;
  int64_t hidden_size = 4096;
  int64_t intermediate_size = 11008;
  int64_t num_hidden_layers = 32;
  int64_t num_attention_heads = 32;
  int64_t num_key_value_heads = 32;
  int64_t head_dim = 128;               // hidden_size / heads unless given (Qwen 3 gives it)
  int64_t max_position_embeddings = 4096;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  bool attention_bias = false;          // q, k, v (and o for llama / qwen3) projections have biases
  bool mlp_bias = false;                // llama only
  bool qk_norm = false;                 // qwen3
  int64_t sliding_window = 0;           // 0 = none
  bool tie_word_embeddings = false;
  double initializer_range = 0.02;
  double attention_dropout = 0.0;
  std::optional<int64_t> bos_token_id, eos_token_id, pad_token_id;
  std::string torch_dtype = "float32";  // as the file says (what the weights were saved in)

  int64_t q_dim() const { return num_attention_heads * head_dim; }
  int64_t kv_dim() const { return num_key_value_heads * head_dim; }
  // Which projections carry a bias.
  bool qkv_bias() const { return attention_bias; }
  bool o_bias() const { return attention_bias && model_type != "qwen2"; }

  // Throws reckoning::Error naming `where` and the field if a value is out of range.
  void validate(const std::string& where) const;
};

// The model types this family reads ("llama", "mistral", "qwen2", "qwen3").
bool llama_family_model_type(const std::string& model_type);

// Reads a Hugging Face config object of one of those model types; `where` names the file.
LlamaConfig llama_config_from_json(const nlohmann::json& json, const std::string& where);
// Writes it back in the Hugging Face layout for its model type (architectures LlamaForCausalLM,
// MistralForCausalLM, Qwen2ForCausalLM or Qwen3ForCausalLM), loadable by transformers unchanged.
nlohmann::json llama_config_to_json(const LlamaConfig& config);

// The rotary inverse frequencies (head_dim / 2 values) after rope_scaling, for a forward whose
// positions run up to `seq_len` - 1 (only "dynamic" depends on it), as transformers computes them.
std::vector<double> llama_rope_inv_freq(const LlamaConfig& config, int64_t seq_len);

// A random-model configuration of one family for `reckoning init --arch` and tests: the family's
// switches with the given sizes (heads / kv_heads must divide; head_dim = width / heads).
LlamaConfig llama_config_for(const std::string& model_type, int64_t layers, int64_t width, int64_t heads,
                             int64_t kv_heads, int64_t intermediate, int64_t vocab, int64_t max_positions);

}  // namespace reckoning
