// The one model interface the rest of the system uses: a decoder-only language model of any family
// here - GPT-2 (gpt2.h) or the Llama family (llama.h: Llama 2 / 3, TinyLlama, SmolLM, Mistral,
// Qwen 2 / 2.5 / 3) - as a config and weights that the inner loop, the losses, generation, the
// trainer, evaluation, answering and the benchmarks hold without knowing which family it is.
//
// - DecoderConfig / DecoderWeights hold one family's config / weights (a variant); the family is
//   the config's model_type ("gpt2", "llama", "mistral", "qwen2", "qwen3").
// - decoder_visit calls f(name, tensor) over the weights in the family's canonical order (its
//   Hugging Face names); lora_visit over the LoRA adapters present. Flattening, specs (the learned
//   rates' layer groups), maps and the files all go through them.
// - decoder_hidden / decoder_logits / decoder_forward are the family's forward pass (twice
//   differentiable, padding and KV cache as attention.h); decoder_head is the output matrix (V, C)
//   - GPT-2's tied wte, a Llama-family lm_head or its tied embedding - for head_loss.h.
// - Directories: decoder_load_dir picks the family from config.json's model_type (GPT-2 when it
//   says gpt2 or nothing); decoder_save_dir writes the family's Hugging Face layout.
// Not here: the families themselves (gpt2*.h, llama*.h), adapters (lora.h), generation (generate.h).
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "reckoning/model/attention.h"
#include "reckoning/model/gpt2.h"
#include "reckoning/model/llama.h"
#include "reckoning/model/weight_spec.h"

namespace reckoning {

struct DecoderConfig {
  std::variant<Gpt2Config, LlamaConfig> arch;

  DecoderConfig() = default;
  DecoderConfig(Gpt2Config c) : arch(std::move(c)) {}   // NOLINT: a family's config is a decoder config
  DecoderConfig(LlamaConfig c) : arch(std::move(c)) {}  // NOLINT

  bool is_gpt2() const { return std::holds_alternative<Gpt2Config>(arch); }
  const Gpt2Config& gpt2() const { return std::get<Gpt2Config>(arch); }
  Gpt2Config& gpt2() { return std::get<Gpt2Config>(arch); }
  const LlamaConfig& llama() const { return std::get<LlamaConfig>(arch); }
  LlamaConfig& llama() { return std::get<LlamaConfig>(arch); }

  std::string model_type() const;  // "gpt2", "llama", "mistral", "qwen2", "qwen3"
  int64_t n_layer() const;
  int64_t vocab_size() const;
  int64_t hidden_size() const;
  int64_t mlp_size() const;        // the MLP's inner width (GPT-2 4C, intermediate_size)
  int64_t n_ctx() const;           // the longest sequence: n_positions, max_position_embeddings
  int64_t eos_token_id() const;    // -1 when the config names none
  // Throws reckoning::Error naming `where` and the field if a value is out of range.
  void validate(const std::string& where) const;
};

// The Hugging Face config.json of the family, and back (by model_type; none = gpt2).
nlohmann::json decoder_config_to_json(const DecoderConfig& config);
DecoderConfig decoder_config_from_json(const nlohmann::json& json, const std::string& where);

struct DecoderWeights {
  std::variant<Gpt2Weights, LlamaWeights> arch;

  DecoderWeights() = default;
  DecoderWeights(Gpt2Weights w) : arch(std::move(w)) {}   // NOLINT
  DecoderWeights(LlamaWeights w) : arch(std::move(w)) {}  // NOLINT

  bool is_gpt2() const { return std::holds_alternative<Gpt2Weights>(arch); }
  const Gpt2Weights& gpt2() const { return std::get<Gpt2Weights>(arch); }
  Gpt2Weights& gpt2() { return std::get<Gpt2Weights>(arch); }
  const LlamaWeights& llama() const { return std::get<LlamaWeights>(arch); }
  LlamaWeights& llama() { return std::get<LlamaWeights>(arch); }

  // The token embedding (V, C): where the model lives (device) and its floating type.
  const torch::Tensor& embedding() const;
  // The output matrix (V, C): logits = h W^T.
  const torch::Tensor& head() const;
  // How its LoRA adapters are applied (lora.h): alpha / rank and the dropout on their input.
  double lora_scale() const;
  double lora_dropout() const;
  void set_lora(double scale, double dropout);
};

// f(name, tensor) for every weight in the family's canonical order. `W` is DecoderWeights or
// const DecoderWeights; f receives torch::Tensor& or const torch::Tensor&.
template <class W, class F>
void decoder_visit(W& w, F&& f) {
  std::visit(
      [&](auto& family) {
        if constexpr (std::is_same_v<std::decay_t<decltype(family)>, Gpt2Weights>) {
          gpt2_visit(family, f);
        } else {
          llama_visit(family, f);
        }
      },
      w.arch);
}

// f(name, tensor) for both tensors of every LoRA adapter present, in the family's canonical order
// (gpt2_lora_visit, llama_lora_visit). `W` is (const) DecoderWeights, Gpt2Weights or LlamaWeights.
template <class W, class F>
void lora_visit(W& w, F&& f) {
  using Plain = std::remove_const_t<W>;
  if constexpr (std::is_same_v<Plain, DecoderWeights>) {
    std::visit([&](auto& family) { lora_visit(family, f); }, w.arch);
  } else if constexpr (std::is_same_v<Plain, Gpt2Weights>) {
    gpt2_lora_visit(w, f);
  } else {
    static_assert(std::is_same_v<Plain, LlamaWeights>, "lora_visit: not a model's weights");
    llama_lora_visit(w, f);
  }
}

// Specs of every weight `config` gives the model, in decoder_visit's order.
std::vector<WeightSpec> decoder_weight_specs(const DecoderConfig& config);

// The weights in canonical order (the tensors themselves: autograd identity is kept), and the
// inverse: `base` with its weights replaced by `tensors` in the same order (the count must match;
// adapters and their settings are kept).
std::vector<torch::Tensor> decoder_flatten(const DecoderWeights& weights);
DecoderWeights decoder_with(const DecoderWeights& base, const std::vector<torch::Tensor>& tensors);

// Applies fn to every tensor, LoRA adapters included, and returns the result as new weights.
template <class Fn>
DecoderWeights decoder_map(const DecoderWeights& weights, Fn&& fn) {
  DecoderWeights out = weights;
  decoder_visit(out, [&](const std::string&, torch::Tensor& t) { t = fn(t); });
  lora_visit(out, [&](const std::string&, torch::Tensor& t) { t = fn(t); });
  return out;
}

// The family's initialisation (gpt2_init, llama_init); deterministic for `seed`.
DecoderWeights decoder_init(const DecoderConfig& config, uint64_t seed, torch::Dtype dtype = torch::kFloat32);

// Checks that every tensor is there with its spec's shape; errors name `where` and the tensor.
void decoder_check_shapes(const DecoderConfig& config, const DecoderWeights& weights, const std::string& where);

// Scalar parameters (a tied head counted once; adapters not counted).
int64_t decoder_parameter_count(const DecoderWeights& weights);

// Task-batched weights (task_batch.h): how many tasks they carry along dimension 0 (0 when every
// tensor is shared); throws when tensors disagree on the count.
int64_t decoder_tasks(const DecoderConfig& config, const DecoderWeights& weights);
// How many of `prompts` consecutive prompts (rows) each task of `weights` answers: prompts / tasks,
// 0 for shared weights; throws naming `where` when the tasks do not divide the prompts.
int64_t decoder_prompts_per_task(const DecoderConfig& config, const DecoderWeights& weights, int64_t prompts,
                                 const std::string& where);
// One task's weights out of task-batched weights (shared tensors as they are; views, no copy).
DecoderWeights decoder_task(const DecoderConfig& config, const DecoderWeights& weights, int64_t task);

// ids (B, T) int64, mask (B, T) or undefined -> final hidden states (B, T, C) (gpt2_hidden,
// llama_hidden). With a cache, ids are the new positions only.
torch::Tensor decoder_hidden(const DecoderConfig& config, const DecoderWeights& weights, const torch::Tensor& ids,
                             const torch::Tensor& mask, bool dropout, KvCache* cache = nullptr);
// hidden (..., C) -> logits (..., V).
torch::Tensor decoder_logits(const DecoderWeights& weights, const torch::Tensor& hidden);
// Same arguments as decoder_hidden -> logits (B, T, V).
torch::Tensor decoder_forward(const DecoderConfig& config, const DecoderWeights& weights, const torch::Tensor& ids,
                              const torch::Tensor& mask, bool dropout, KvCache* cache = nullptr);

struct DecoderModel {
  DecoderConfig config;
  DecoderWeights weights;
};

// A Hugging Face model directory of any family here (gpt2_load_dir, llama_load_dir); tensors in
// `dtype`, not requiring grad.
DecoderModel decoder_load_dir(const std::string& dir, torch::Dtype dtype = torch::kFloat32);
// Writes config.json and model.safetensors in the family's layout (gpt2_save_dir, llama_save_dir).
void decoder_save_dir(const DecoderModel& model, const std::string& dir);

}  // namespace reckoning
