// GPT-2 hyperparameters under GPT-2's own names, read from and written to a Hugging Face
// `config.json` (where n_vocab is `vocab_size` and n_ctx is `n_positions`).
//
// Not here: the weights (gpt2_weights.h), the forward pass (gpt2.h), checkpoint files.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace reckoning {

struct Gpt2Config {
  int64_t n_vocab = 50257;           // vocabulary size (HF: vocab_size)
  int64_t n_ctx = 1024;              // maximum sequence length (HF: n_positions)
  int64_t n_embd = 768;              // model width C
  int64_t n_head = 12;               // attention heads; n_embd % n_head == 0
  int64_t n_layer = 12;              // transformer blocks
  double layer_norm_epsilon = 1e-5;  // LayerNorm epsilon
  double embd_pdrop = 0.1;           // dropout after token + position embeddings
  double attn_pdrop = 0.1;           // dropout on attention probabilities
  double resid_pdrop = 0.1;          // dropout on each residual branch
  double initializer_range = 0.02;   // std of the normal initialisation
  int64_t bos_token_id = 50256;
  int64_t eos_token_id = 50256;      // end of sequence; also the padding id

  int64_t head_dim() const { return n_embd / n_head; }
  int64_t n_inner() const { return 4 * n_embd; }  // MLP width (HF n_inner = null)

  // Throws reckoning::Error naming `where` and the field if a value is out of range.
  void validate(const std::string& where) const;
};

// Reads a Hugging Face GPT-2 config object; `where` names the file in errors. Accepts `n_ctx` as
// a fallback for `n_positions`, refuses a non-null `n_inner` other than 4 * n_embd and an
// activation other than gelu_new (the tanh approximation), which this implementation does not
// support.
Gpt2Config gpt2_config_from_json(const nlohmann::json& json, const std::string& where);
// Writes the Hugging Face layout (model_type gpt2, architectures GPT2LMHeadModel, ...), loadable
// by transformers.GPT2Config unchanged.
nlohmann::json gpt2_config_to_json(const Gpt2Config& config);

Gpt2Config gpt2_config_load(const std::string& path);
// Written atomically (temporary file + rename).
void gpt2_config_save(const Gpt2Config& config, const std::string& path);

}  // namespace reckoning
