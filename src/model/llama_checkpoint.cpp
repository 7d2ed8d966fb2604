// Llama-family model directories; see llama_checkpoint.h.
#include "reckoning/model/llama_checkpoint.h"

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/hf_checkpoint.h"

namespace reckoning {

std::string checkpoint_model_type(const std::string& dir) {
  const std::string path = path_join(dir, "config.json");
  const nlohmann::json json = read_json_file(path);
  check(json.is_object(), path, "a JSON object", json.type_name());
  if (!json.contains("model_type") || json["model_type"].is_null()) return "";
  check(json["model_type"].is_string(), str(path, ": field 'model_type'"), "a string", json["model_type"].dump());
  return json["model_type"].get<std::string>();
}

LlamaModel llama_load_dir(const std::string& dir, torch::Dtype dtype) {
  check(c10::isFloatingType(dtype), str("llama_load_dir(", dir, ")"), "a floating-point dtype",
        std::string(c10::toString(dtype)));
  const std::string config_path = path_join(dir, "config.json");
  LlamaModel model;
  model.config = llama_config_from_json(read_json_file(config_path), config_path);
  const std::string weights_path = checkpoint_weights_path(dir);
  Safetensors tensors = checkpoint_read_tensors(weights_path, dtype);  // converted while reading: one copy
  for (auto& [name, t] : tensors.tensors) {
    check(t.is_floating_point(), str(weights_path, ": tensor '", name, "'"), "a floating-point tensor",
          std::string(c10::toString(t.scalar_type())));
    t = t.contiguous();
  }
  model.weights = llama_weights_from_named(model.config, tensors.tensors, weights_path);
  return model;
}

void llama_save_dir(const LlamaModel& model, const std::string& dir) {
  LlamaConfig config = model.config;
  config.torch_dtype = "float32";
  config.validate(path_join(dir, "config.json"));
  const std::string weights_path = path_join(dir, "model.safetensors");
  llama_check_shapes(config, model.weights, weights_path);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  llama_visit(model.weights, [&](const std::string& name, const torch::Tensor& t) {
    tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat32));
  });
  create_directories(dir);
  safetensors_save(weights_path, tensors, {{"format", "pt"}});
  write_json_file_atomic(path_join(dir, "config.json"), llama_config_to_json(config));
}

}  // namespace reckoning
