// GPT-2 configuration <-> Hugging Face config.json; see gpt2_config.h.
#include "reckoning/model/gpt2_config.h"

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

void Gpt2Config::validate(const std::string& where) const {
  auto positive = [&](const char* field, int64_t value) {
    check(value > 0, str(where, ": field '", field, "'"), "a positive integer", std::to_string(value));
  };
  positive("n_vocab", n_vocab);
  positive("n_ctx", n_ctx);
  positive("n_embd", n_embd);
  positive("n_head", n_head);
  positive("n_layer", n_layer);
  check(n_embd % n_head == 0, str(where, ": field 'n_head'"),
        str("a divisor of n_embd = ", n_embd), std::to_string(n_head));
  check(layer_norm_epsilon > 0, str(where, ": field 'layer_norm_epsilon'"), "a positive number",
        std::to_string(layer_norm_epsilon));
  for (auto [field, p] : {std::pair{"embd_pdrop", embd_pdrop}, std::pair{"attn_pdrop", attn_pdrop},
                          std::pair{"resid_pdrop", resid_pdrop}}) {
    check(p >= 0 && p < 1, str(where, ": field '", field, "'"), "a probability in [0, 1)",
          std::to_string(p));
  }
  check(initializer_range > 0, str(where, ": field 'initializer_range'"), "a positive number",
        std::to_string(initializer_range));
  check(eos_token_id >= 0 && eos_token_id < n_vocab, str(where, ": field 'eos_token_id'"),
        str("an id in [0, ", n_vocab, ")"), std::to_string(eos_token_id));
  check(bos_token_id >= 0 && bos_token_id < n_vocab, str(where, ": field 'bos_token_id'"),
        str("an id in [0, ", n_vocab, ")"), std::to_string(bos_token_id));
}

namespace {

template <class T>
T get_field(const nlohmann::json& json, const char* key, const std::string& where, T fallback,
            bool required) {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) {
    check(!required, where, str("field '", key, "'"), "nothing");
    return fallback;
  }
  if constexpr (std::is_integral_v<T>) {
    check(it->is_number_integer(), str(where, ": field '", key, "'"), "an integer", it->dump());
  } else {
    check(it->is_number(), str(where, ": field '", key, "'"), "a number", it->dump());
  }
  return it->get<T>();
}

}  // namespace

Gpt2Config gpt2_config_from_json(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, "a JSON object", json.type_name());
  if (auto it = json.find("model_type"); it != json.end()) {
    check(it->is_string() && it->get<std::string>() == "gpt2", str(where, ": field 'model_type'"),
          "\"gpt2\"", it->dump());
  }
  Gpt2Config c;
  c.n_vocab = get_field<int64_t>(json, "vocab_size", where, c.n_vocab, true);
  int64_t n_ctx_fallback = get_field<int64_t>(json, "n_ctx", where, c.n_ctx, false);
  c.n_ctx = get_field<int64_t>(json, "n_positions", where, n_ctx_fallback, false);
  c.n_embd = get_field<int64_t>(json, "n_embd", where, c.n_embd, true);
  c.n_head = get_field<int64_t>(json, "n_head", where, c.n_head, true);
  c.n_layer = get_field<int64_t>(json, "n_layer", where, c.n_layer, true);
  c.layer_norm_epsilon = get_field<double>(json, "layer_norm_epsilon", where, c.layer_norm_epsilon, false);
  c.embd_pdrop = get_field<double>(json, "embd_pdrop", where, c.embd_pdrop, false);
  c.attn_pdrop = get_field<double>(json, "attn_pdrop", where, c.attn_pdrop, false);
  c.resid_pdrop = get_field<double>(json, "resid_pdrop", where, c.resid_pdrop, false);
  c.initializer_range = get_field<double>(json, "initializer_range", where, c.initializer_range, false);
  c.bos_token_id = get_field<int64_t>(json, "bos_token_id", where, c.bos_token_id, false);
  c.eos_token_id = get_field<int64_t>(json, "eos_token_id", where, c.eos_token_id, false);
  if (auto it = json.find("n_inner"); it != json.end() && !it->is_null()) {
    check(it->is_number_integer() && it->get<int64_t>() == 4 * c.n_embd, str(where, ": field 'n_inner'"),
          str("null or 4 * n_embd = ", 4 * c.n_embd), it->dump());
  }
  if (auto it = json.find("activation_function"); it != json.end()) {
    check(it->is_string() && (it->get<std::string>() == "gelu_new" ||
                              it->get<std::string>() == "gelu_pytorch_tanh"),
          str(where, ": field 'activation_function'"), "\"gelu_new\" (tanh-approximate GELU)",
          it->dump());
  }
  c.validate(where);
  return c;
}

nlohmann::json gpt2_config_to_json(const Gpt2Config& c) {
  return {
      {"model_type", "gpt2"},
      {"architectures", {"GPT2LMHeadModel"}},
      {"vocab_size", c.n_vocab},
      {"n_positions", c.n_ctx},
      {"n_ctx", c.n_ctx},
      {"n_embd", c.n_embd},
      {"n_head", c.n_head},
      {"n_layer", c.n_layer},
      {"n_inner", nullptr},
      {"activation_function", "gelu_new"},
      {"layer_norm_epsilon", c.layer_norm_epsilon},
      {"embd_pdrop", c.embd_pdrop},
      {"attn_pdrop", c.attn_pdrop},
      {"resid_pdrop", c.resid_pdrop},
      {"initializer_range", c.initializer_range},
      {"bos_token_id", c.bos_token_id},
      {"eos_token_id", c.eos_token_id},
      {"scale_attn_weights", true},
      {"tie_word_embeddings", true},
  };
}

Gpt2Config gpt2_config_load(const std::string& path) {
  return gpt2_config_from_json(read_json_file(path), path);
}

void gpt2_config_save(const Gpt2Config& config, const std::string& path) {
  write_json_file_atomic(path, gpt2_config_to_json(config));
}

}  // namespace reckoning
