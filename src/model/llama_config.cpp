// Llama-family configuration <-> Hugging Face config.json; see llama_config.h.
#include "reckoning/model/llama_config.h"

#include <cmath>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

template <class T>
T field(const nlohmann::json& json, const char* key, const std::string& where, T fallback, bool required = false) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) {
    check(!required, where, str("field '", key, "'"), "nothing");
    return fallback;
  }
  if constexpr (std::is_same_v<T, bool>) {
    check(it->is_boolean(), str(where, ": field '", key, "'"), "true or false", it->dump());
  } else if constexpr (std::is_integral_v<T>) {
    check(it->is_number_integer(), str(where, ": field '", key, "'"), "an integer", it->dump());
  } else if constexpr (std::is_same_v<T, std::string>) {
    check(it->is_string(), str(where, ": field '", key, "'"), "a string", it->dump());
  } else {
    check(it->is_number(), str(where, ": field '", key, "'"), "a number", it->dump());
  }
  return it->get<T>();
}

// A token id field: an integer, null, or (Llama 3.x eos_token_id) a list whose first entry is used.
std::optional<int64_t> token_id(const nlohmann::json& json, const char* key, const std::string& where) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return std::nullopt;
  if (it->is_array() && !it->empty() && (*it)[0].is_number_integer()) return (*it)[0].get<int64_t>();
  check(it->is_number_integer(), str(where, ": field '", key, "'"), "an integer, a list of integers or null", it->dump());
  return it->get<int64_t>();
}

const char* architecture_of(const std::string& model_type) {
  if (model_type == "mistral") return "MistralForCausalLM";
  if (model_type == "qwen2") return "Qwen2ForCausalLM";
  if (model_type == "qwen3") return "Qwen3ForCausalLM";
  return "LlamaForCausalLM";
}

}  // namespace

bool llama_family_model_type(const std::string& model_type) {
  return model_type == "llama" || model_type == "mistral" || model_type == "qwen2" || model_type == "qwen3";
}

void LlamaConfig::validate(const std::string& where) const {
  auto positive = [&](const char* name, int64_t value) {
    check(value > 0, str(where, ": field '", name, "'"), "a positive integer", std::to_string(value));
  };
  check(llama_family_model_type(model_type), str(where, ": field 'model_type'"), "llama, mistral, qwen2 or qwen3",
        model_type);
  positive("vocab_size", vocab_size);
  positive("hidden_size", hidden_size);
  positive("intermediate_size", intermediate_size);
  positive("num_hidden_layers", num_hidden_layers);
  positive("num_attention_heads", num_attention_heads);
  positive("num_key_value_heads", num_key_value_heads);
  positive("head_dim", head_dim);
  positive("max_position_embeddings", max_position_embeddings);
  check(head_dim % 2 == 0, str(where, ": field 'head_dim'"), "an even number (rotary pairs)", std::to_string(head_dim));
  check(num_attention_heads % num_key_value_heads == 0, str(where, ": field 'num_key_value_heads'"),
        str("a divisor of num_attention_heads = ", num_attention_heads), std::to_string(num_key_value_heads));
  check(rms_norm_eps > 0, str(where, ": field 'rms_norm_eps'"), "a positive number", std::to_string(rms_norm_eps));
  check(rope_theta > 0, str(where, ": field 'rope_theta'"), "a positive number", std::to_string(rope_theta));
  check(sliding_window >= 0, str(where, ": field 'sliding_window'"), "null or a positive integer",
        std::to_string(sliding_window));
  check(rope_scaling.factor > 0, str(where, ": field 'rope_scaling.factor'"), "a positive number",
        std::to_string(rope_scaling.factor));
  if (rope_scaling.type == "llama3") {
    check(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor, str(where, ": field 'rope_scaling.high_freq_factor'"),
          str("more than low_freq_factor = ", rope_scaling.low_freq_factor), std::to_string(rope_scaling.high_freq_factor));
    positive("rope_scaling.original_max_position_embeddings", rope_scaling.original_max_position_embeddings);
  }
  for (auto [name, id] : {std::pair{"bos_token_id", bos_token_id}, std::pair{"eos_token_id", eos_token_id},
                          std::pair{"pad_token_id", pad_token_id}}) {
    if (id) check(*id >= 0 && *id < vocab_size, str(where, ": field '", name, "'"), str("an id in [0, ", vocab_size, ")"),
                  std::to_string(*id));
  }
}

LlamaConfig llama_config_from_json(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, "a JSON object", json.type_name());
  LlamaConfig c;
  c.model_type = field<std::string>(json, "model_type", where, "", true);
  check(llama_family_model_type(c.model_type), str(where, ": field 'model_type'"), "llama, mistral, qwen2 or qwen3",
        json["model_type"].dump());
  c.vocab_size = field<int64_t>(json, "vocab_size", where, 0, true);
  c.hidden_size = field<int64_t>(json, "hidden_size", where, 0, true);
  c.intermediate_size = field<int64_t>(json, "intermediate_size", where, 0, true);
  c.num_hidden_layers = field<int64_t>(json, "num_hidden_layers", where, 0, true);
  c.num_attention_heads = field<int64_t>(json, "num_attention_heads", where, 0, true);
  c.num_key_value_heads = field<int64_t>(json, "num_key_value_heads", where, c.num_attention_heads);
  check(c.num_attention_heads > 0, str(where, ": field 'num_attention_heads'"), "a positive integer",
        std::to_string(c.num_attention_heads));
  c.head_dim = field<int64_t>(json, "head_dim", where, c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings = field<int64_t>(json, "max_position_embeddings", where, 2048);
  c.rms_norm_eps = field<double>(json, "rms_norm_eps", where, 1e-6);
  c.rope_theta = field<double>(json, "rope_theta", where, 10000.0);
  c.tie_word_embeddings = field<bool>(json, "tie_word_embeddings", where, false);
  c.initializer_range = field<double>(json, "initializer_range", where, 0.02);
  c.attention_dropout = field<double>(json, "attention_dropout", where, 0.0);
  c.torch_dtype = field<std::string>(json, "torch_dtype", where, "float32");
  const std::string act = field<std::string>(json, "hidden_act", where, "silu");
  check(act == "silu", str(where, ": field 'hidden_act'"), "\"silu\" (SwiGLU)", str("\"", act, "\""));
  c.bos_token_id = token_id(json, "bos_token_id", where);
  c.eos_token_id = token_id(json, "eos_token_id", where);
  c.pad_token_id = token_id(json, "pad_token_id", where);
  if (c.model_type == "qwen2") {
    c.attention_bias = true;  // Qwen2Attention: q, k, v with bias, o without
    check(!field<bool>(json, "use_sliding_window", where, false), str(where, ": field 'use_sliding_window'"),
          "false (Qwen 2's per-layer sliding window is not supported)", "true");
  } else {
    c.attention_bias = field<bool>(json, "attention_bias", where, false);
  }
  if (c.model_type == "llama") c.mlp_bias = field<bool>(json, "mlp_bias", where, false);
  c.qk_norm = c.model_type == "qwen3";
  if (c.model_type == "mistral") c.sliding_window = field<int64_t>(json, "sliding_window", where, 0);

  if (auto it = json.find("rope_scaling"); it != json.end() && !it->is_null()) {
    const std::string w = str(where, ": field 'rope_scaling'");
    check(it->is_object(), w, "an object or null", it->dump());
    const nlohmann::json& r = *it;
    std::string type = r.contains("rope_type") ? field<std::string>(r, "rope_type", w, "default")
                                               : field<std::string>(r, "type", w, "default");
    check(type == "default" || type == "linear" || type == "dynamic" || type == "llama3", str(w, ".rope_type"),
          "default, linear, dynamic or llama3 (yarn and longrope are not supported)", str("\"", type, "\""));
    c.rope_scaling.type = type;
    c.rope_scaling.factor = field<double>(r, "factor", w, 1.0, type != "default");
    c.rope_scaling.low_freq_factor = field<double>(r, "low_freq_factor", w, 1.0, type == "llama3");
    c.rope_scaling.high_freq_factor = field<double>(r, "high_freq_factor", w, 4.0, type == "llama3");
    c.rope_scaling.original_max_position_embeddings =
        field<int64_t>(r, "original_max_position_embeddings", w, c.max_position_embeddings, type == "llama3");
  }
  c.validate(where);
  return c;
}

nlohmann::json llama_config_to_json(const LlamaConfig& c) {
  nlohmann::json j = {{"model_type", c.model_type},
                      {"architectures", {architecture_of(c.model_type)}},
                      {"vocab_size", c.vocab_size},
                      {"hidden_size", c.hidden_size},
                      {"intermediate_size", c.intermediate_size},
                      {"num_hidden_layers", c.num_hidden_layers},
                      {"num_attention_heads", c.num_attention_heads},
                      {"num_key_value_heads", c.num_key_value_heads},
                      {"head_dim", c.head_dim},
                      {"max_position_embeddings", c.max_position_embeddings},
                      {"rms_norm_eps", c.rms_norm_eps},
                      {"rope_theta", c.rope_theta},
                      {"hidden_act", "silu"},
                      {"tie_word_embeddings", c.tie_word_embeddings},
                      {"initializer_range", c.initializer_range},
                      {"attention_dropout", c.attention_dropout},
                      {"torch_dtype", c.torch_dtype}};
  if (c.model_type != "qwen2") j["attention_bias"] = c.attention_bias;
  if (c.model_type == "qwen2") j["use_sliding_window"] = false;
  if (c.model_type == "llama") j["mlp_bias"] = c.mlp_bias;
  if (c.model_type == "mistral") j["sliding_window"] = c.sliding_window > 0 ? nlohmann::json(c.sliding_window) : nlohmann::json();
  if (c.rope_scaling.type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    nlohmann::json r = {{"rope_type", c.rope_scaling.type}, {"factor", c.rope_scaling.factor}};
    if (c.rope_scaling.type == "llama3") {
      r["low_freq_factor"] = c.rope_scaling.low_freq_factor;
      r["high_freq_factor"] = c.rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = c.rope_scaling.original_max_position_embeddings;
    }
    j["rope_scaling"] = r;
  }
  for (auto [name, id] : {std::pair{"bos_token_id", c.bos_token_id}, std::pair{"eos_token_id", c.eos_token_id},
                          std::pair{"pad_token_id", c.pad_token_id}})
    j[name] = id ? nlohmann::json(*id) : nlohmann::json();
  return j;
}

std::vector<double> llama_rope_inv_freq(const LlamaConfig& c, int64_t seq_len) {
  const int64_t dim = c.head_dim;
  double base = c.rope_theta;
  const RopeScaling& r = c.rope_scaling;
  if (r.type == "dynamic" && seq_len > c.max_position_embeddings) {
    // transformers' _compute_dynamic_ntk_parameters: a larger base beyond the trained length.
    base *= std::pow(r.factor * static_cast<double>(seq_len) / static_cast<double>(c.max_position_embeddings) -
                         (r.factor - 1.0),
                     static_cast<double>(dim) / static_cast<double>(dim - 2));
  }
  std::vector<double> inv(dim / 2);
  for (int64_t i = 0; i < dim / 2; ++i) inv[i] = 1.0 / std::pow(base, static_cast<double>(2 * i) / static_cast<double>(dim));
  if (r.type == "linear") {
    for (double& f : inv) f /= r.factor;
  } else if (r.type == "llama3") {
    // transformers' _compute_llama3_parameters: long wavelengths slowed by `factor`, short ones
    // kept, the band between interpolated.
    const double old_len = static_cast<double>(r.original_max_position_embeddings);
    const double low_wavelen = old_len / r.low_freq_factor, high_wavelen = old_len / r.high_freq_factor;
    for (double& f : inv) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f /= r.factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_len / wavelen - r.low_freq_factor) / (r.high_freq_factor - r.low_freq_factor);
        f = (1.0 - smooth) * f / r.factor + smooth * f;
      }
    }
  }
  return inv;
}

LlamaConfig llama_config_for(const std::string& model_type, int64_t layers, int64_t width, int64_t heads,
                             int64_t kv_heads, int64_t intermediate, int64_t vocab, int64_t max_positions) {
  LlamaConfig c;
  c.model_type = model_type;
  c.num_hidden_layers = layers;
  c.hidden_size = width;
  c.num_attention_heads = heads;
  c.num_key_value_heads = kv_heads;
  c.head_dim = heads > 0 ? width / heads : 0;
  c.intermediate_size = intermediate;
  c.vocab_size = vocab;
  c.max_position_embeddings = max_positions;
  c.attention_bias = model_type == "qwen2";
  c.qk_norm = model_type == "qwen3";
  c.rms_norm_eps = model_type == "llama" || model_type == "mistral" ? 1e-5 : 1e-6;
  c.rope_theta = model_type == "qwen2" || model_type == "qwen3" ? 1000000.0 : 10000.0;
  c.tie_word_embeddings = model_type == "qwen2" || model_type == "qwen3";
  c.validate(str("llama_config_for(", model_type, ")"));
  return c;
}

}  // namespace reckoning
