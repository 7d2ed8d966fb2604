// RECKONING model directories; see reckoning_model.h.
#include "reckoning/meta/reckoning_model.h"

#include "reckoning/model/lora.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/base/threads.h"

namespace reckoning {

torch::Device ReckoningModel::device() const {
  return device_check_usable(run.device, "configuration key 'device'");
}

void reckoning_model_to(ReckoningModel& model, const torch::Device& device) {
  auto move = [&](const torch::Tensor& t) {
    if (!t.defined() || t.device() == device) return t;
    torch::Tensor moved = t.detach().to(device);
    return t.requires_grad() ? moved.requires_grad_(true) : moved;
  };
  model.weights = decoder_map(model.weights, move);
  model.lrs.values = move(model.lrs.values);
}

void fit_default_threads(const DecoderConfig& config) {
  const bool head = config.vocab_size() >= config.mlp_size();
  const long long rows = head ? config.vocab_size() : config.mlp_size();
  fit_default_threads_to_work(rows * config.hidden_size(), str("largest weight matrix ", head ? "V x C = " : config.is_gpt2() ? "4C x C = " : "MLP x C = ",
                                                               rows, " x ", config.hidden_size()));
}

ReckoningModel reckoning_model_load(const std::string& dir) {
  check(is_directory(dir), dir, "a model directory", "no such directory");
  ReckoningModel model;
  const std::string settings = path_join(dir, "reckoning.json");
  if (file_exists(settings)) model.run = run_config_from_json(read_json_file(settings), settings);
  DecoderModel loaded = decoder_load_dir(dir, torch::kFloat32);
  model.config = loaded.config;
  model.weights = decoder_map(loaded.weights, [](const torch::Tensor& t) { return t.requires_grad_(false); });
  // The LoRA adapters' initial (meta-learned) values, in PEFT's layout beside the model.
  if (lora_peft_present(dir)) {
    lora_load_peft(model.weights, dir);
  } else {
    check(!inner_adapts_lora(model.inner()), path_join(dir, "adapter_model.safetensors"),
          str("the model's LoRA adapters (", settings, " says inner.adapt: lora)"), "no such file");
  }
  model.tokenizer = tokenizer_load(dir);
  check(model.tokenizer->vocab_size() <= model.config.vocab_size(), path_join(dir, "config.json"),
        str("vocab_size >= the tokenizer's ", model.tokenizer->vocab_size(), " tokens"),
        std::to_string(model.config.vocab_size()));
  const std::string lrs_path = path_join(dir, "inner_lrs.safetensors");
  if (file_exists(lrs_path)) {
    Safetensors file = safetensors_load(lrs_path, torch::kFloat32);
    const torch::Tensor* values = file.find("inner_lrs");
    check(values != nullptr, lrs_path, "a tensor 'inner_lrs'", "none");
    auto meta = [&](const char* key) {
      auto it = file.metadata.find(key);
      check(it != file.metadata.end(), str(lrs_path, ": metadata '", key, "'"), "present", "missing");
      return it->second;
    };
    LrMode mode = enum_parse<LrMode>(meta("mode"), str(lrs_path, ": metadata 'mode'"));
    const std::string log_space = meta("log_space");
    model.lrs = inner_lrs_from_values(inner_rate_specs(model.config, model.inner(), model.weights), model.config.n_layer(),
                                      mode, log_space == "true", *values, lrs_path);
    model.lrs.values.requires_grad_(false);
  } else {
    model.lrs = inner_lrs_init(inner_rate_specs(model.config, model.inner(), model.weights), model.config.n_layer(),
                               LrMode::Static, model.run.inner_steps, model.run.inner_lr, false);
  }
  return model;
}

void reckoning_model_write_files(const ReckoningModel& model, const std::string& dir) {
  create_directories(dir);
  decoder_save_dir({model.config, decoder_map(model.weights, [](const torch::Tensor& t) { return t.detach(); })}, dir);
  model.tokenizer->save(dir);
  if (lora_present(model.weights)) lora_save_peft(model.weights, dir);
  // Stored as parametrised (log(rate) in log-space mode); rows = groups, columns = inner steps.
  safetensors_save(path_join(dir, "inner_lrs.safetensors"),
                   {{"inner_lrs", model.lrs.values.detach().to(torch::kFloat32)}},
                   {{"mode", enum_name(model.lrs.mode)},
                    {"log_space", model.lrs.log_space ? "true" : "false"},
                    {"rows", [&] {
                       std::string g;
                       for (const auto& n : model.lrs.group_names) g += (g.empty() ? "" : ",") + n;
                       return g;
                     }()}});
  write_json_file_atomic(path_join(dir, "reckoning.json"), run_config_model_json(model.run));
}

void reckoning_model_save(const ReckoningModel& model, const std::string& dir) {
  const std::string staging = staging_path(dir);
  try {
    reckoning_model_write_files(model, staging);
    replace_directory(staging, dir);
  } catch (...) {
    // Written whole or not at all: nothing half-written is left beside `dir` (a full disk gets its
    // space back).
    try {
      remove_tree(staging);
    } catch (const Error&) {
    }
    throw;
  }
}

}  // namespace reckoning
