// The family-agnostic model interface; see decoder.h.
#include "reckoning/model/decoder.h"

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/model/llama_checkpoint.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

// Calls gpt2(config) or llama(config) for the family `config` holds.
template <class G, class L>
auto on_family(const DecoderConfig& config, G&& gpt2, L&& llama) {
  return config.is_gpt2() ? gpt2(config.gpt2()) : llama(config.llama());
}

}  // namespace

std::string DecoderConfig::model_type() const {
  return on_family(*this, [](const Gpt2Config&) { return std::string("gpt2"); },
                   [](const LlamaConfig& c) { return c.model_type; });
}

int64_t DecoderConfig::n_layer() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.n_layer; },
                   [](const LlamaConfig& c) { return c.num_hidden_layers; });
}

int64_t DecoderConfig::vocab_size() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.n_vocab; },
                   [](const LlamaConfig& c) { return c.vocab_size; });
}

int64_t DecoderConfig::hidden_size() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.n_embd; },
                   [](const LlamaConfig& c) { return c.hidden_size; });
}

int64_t DecoderConfig::mlp_size() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.n_inner(); },
                   [](const LlamaConfig& c) { return c.intermediate_size; });
}

int64_t DecoderConfig::n_ctx() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.n_ctx; },
                   [](const LlamaConfig& c) { return c.max_position_embeddings; });
}

int64_t DecoderConfig::eos_token_id() const {
  return on_family(*this, [](const Gpt2Config& c) { return c.eos_token_id; },
                   [](const LlamaConfig& c) { return c.eos_token_id.value_or(-1); });
}

void DecoderConfig::validate(const std::string& where) const {
  if (is_gpt2()) {
    gpt2().validate(where);
  } else {
    llama().validate(where);
  }
}

nlohmann::json decoder_config_to_json(const DecoderConfig& config) {
  return on_family(config, [](const Gpt2Config& c) { return gpt2_config_to_json(c); },
                   [](const LlamaConfig& c) { return llama_config_to_json(c); });
}

DecoderConfig decoder_config_from_json(const nlohmann::json& json, const std::string& where) {
  const std::string type = json.is_object() && json.contains("model_type") && json.at("model_type").is_string()
                               ? json.at("model_type").get<std::string>()
                               : "";
  if (type.empty() || type == "gpt2") return gpt2_config_from_json(json, where);
  check(llama_family_model_type(type), str(where, ": field 'model_type'"),
        "gpt2, llama, mistral, qwen2 or qwen3", str("'", type, "'"));
  return llama_config_from_json(json, where);
}

const torch::Tensor& DecoderWeights::embedding() const {
  return is_gpt2() ? gpt2().wte : llama().embed_tokens;
}

const torch::Tensor& DecoderWeights::head() const {
  if (is_gpt2()) return gpt2().wte;
  return llama().lm_head.defined() ? llama().lm_head : llama().embed_tokens;
}

double DecoderWeights::lora_scale() const { return is_gpt2() ? gpt2().lora_scale : llama().lora_scale; }
double DecoderWeights::lora_dropout() const { return is_gpt2() ? gpt2().lora_dropout : llama().lora_dropout; }

void DecoderWeights::set_lora(double scale, double dropout) {
  std::visit(
      [&](auto& family) {
        family.lora_scale = scale;
        family.lora_dropout = dropout;
      },
      arch);
}

std::vector<WeightSpec> decoder_weight_specs(const DecoderConfig& config) {
  return on_family(config, [](const Gpt2Config& c) { return gpt2_weight_specs(c); },
                   [](const LlamaConfig& c) { return llama_weight_specs(c); });
}

std::vector<torch::Tensor> decoder_flatten(const DecoderWeights& weights) {
  std::vector<torch::Tensor> out;
  decoder_visit(weights, [&](const std::string&, const torch::Tensor& t) { out.push_back(t); });
  return out;
}

DecoderWeights decoder_with(const DecoderWeights& base, const std::vector<torch::Tensor>& tensors) {
  DecoderWeights out = base;
  size_t k = 0;
  decoder_visit(out, [&](const std::string& name, torch::Tensor& t) {
    TORCH_CHECK(k < tensors.size(), "decoder_with: ", tensors.size(), " tensors for more weights (", name, ")");
    t = tensors[k++];
  });
  TORCH_CHECK(k == tensors.size(), "decoder_with: ", tensors.size(), " tensors for ", k, " weights");
  return out;
}

DecoderWeights decoder_init(const DecoderConfig& config, uint64_t seed, torch::Dtype dtype) {
  if (config.is_gpt2()) return gpt2_init(config.gpt2(), seed, dtype);
  return llama_init(config.llama(), seed, dtype);
}

void decoder_check_shapes(const DecoderConfig& config, const DecoderWeights& weights, const std::string& where) {
  check(config.is_gpt2() == weights.is_gpt2(), where, str("weights of a ", config.model_type(), " model"),
        weights.is_gpt2() ? "GPT-2 weights" : "Llama-family weights");
  if (config.is_gpt2()) {
    gpt2_check_shapes(config.gpt2(), weights.gpt2(), where);
  } else {
    llama_check_shapes(config.llama(), weights.llama(), where);
  }
}

int64_t decoder_parameter_count(const DecoderWeights& weights) {
  return weights.is_gpt2() ? gpt2_parameter_count(weights.gpt2()) : llama_parameter_count(weights.llama());
}

namespace {

// f(tensor, its spec's number of dimensions) over the weights and the LoRA adapters present.
template <class W, class F>
void visit_with_plain_dims(const DecoderConfig& config, W& weights, F&& f) {
  const std::vector<WeightSpec> specs = decoder_weight_specs(config);
  size_t k = 0;
  decoder_visit(weights, [&](const std::string&, auto& t) { f(t, static_cast<int64_t>(specs[k++].shape.size())); });
  lora_visit(weights, [&](const std::string&, auto& t) { f(t, int64_t{2}); });
}

}  // namespace

int64_t decoder_tasks(const DecoderConfig& config, const DecoderWeights& weights) {
  int64_t tasks = 0;
  visit_with_plain_dims(config, weights, [&](const torch::Tensor& t, int64_t plain) {
    const int64_t n = task_count(t, plain);
    TORCH_CHECK(n == 0 || tasks == 0 || n == tasks, "task-batched weights: ", n, " tasks in one tensor, ", tasks,
                " in another");
    if (n > 0) tasks = n;
  });
  return tasks;
}

int64_t decoder_prompts_per_task(const DecoderConfig& config, const DecoderWeights& weights, int64_t prompts,
                                 const std::string& where) {
  const int64_t tasks = decoder_tasks(config, weights);
  check(tasks == 0 || (prompts > 0 && prompts % tasks == 0), str(where, ": task-batched weights"),
        str("a number of tasks that divides the prompts (", prompts, ")"), str(tasks, " tasks"));
  return tasks == 0 ? 0 : prompts / tasks;
}

DecoderWeights decoder_task(const DecoderConfig& config, const DecoderWeights& weights, int64_t task) {
  DecoderWeights out = weights;
  visit_with_plain_dims(config, out, [&](torch::Tensor& t, int64_t plain) {
    if (task_count(t, plain) > 0) t = t[task];
  });
  return out;
}

torch::Tensor decoder_hidden(const DecoderConfig& config, const DecoderWeights& weights, const torch::Tensor& ids,
                             const torch::Tensor& mask, bool dropout, KvCache* cache) {
  if (config.is_gpt2()) return gpt2_hidden(config.gpt2(), weights.gpt2(), ids, mask, dropout, cache);
  return llama_hidden(config.llama(), weights.llama(), ids, mask, dropout, cache);
}

torch::Tensor decoder_logits(const DecoderWeights& weights, const torch::Tensor& hidden) {
  return weights.is_gpt2() ? gpt2_logits(weights.gpt2(), hidden) : llama_logits(weights.llama(), hidden);
}

torch::Tensor decoder_forward(const DecoderConfig& config, const DecoderWeights& weights, const torch::Tensor& ids,
                              const torch::Tensor& mask, bool dropout, KvCache* cache) {
  return decoder_logits(weights, decoder_hidden(config, weights, ids, mask, dropout, cache));
}

DecoderModel decoder_load_dir(const std::string& dir, torch::Dtype dtype) {
  const std::string type = checkpoint_model_type(dir);
  if (type.empty() || type == "gpt2") {
    Gpt2Model m = gpt2_load_dir(dir, dtype);
    return {m.config, m.weights};
  }
  check(llama_family_model_type(type), str(path_join(dir, "config.json"), ": field 'model_type'"),
        "gpt2, llama, mistral, qwen2 or qwen3", str("'", type, "'"));
  LlamaModel m = llama_load_dir(dir, dtype);
  return {m.config, m.weights};
}

void decoder_save_dir(const DecoderModel& model, const std::string& dir) {
  if (model.config.is_gpt2()) {
    gpt2_save_dir(Gpt2Model{model.config.gpt2(), model.weights.gpt2()}, dir);
  } else {
    llama_save_dir(LlamaModel{model.config.llama(), model.weights.llama()}, dir);
  }
}

}  // namespace reckoning
