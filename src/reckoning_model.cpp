// RECKONING model directories; see reckoning_model.h.
#include "reckoning/reckoning_model.h"

#include "reckoning/checkpoint.h"
#include "reckoning/error.h"
#include "reckoning/io.h"
#include "reckoning/safetensors.h"

namespace reckoning {

InnerLoopConfig inner_config_from_run(const RunConfig& run) {
  InnerLoopConfig inner;
  inner.optimizer = inner_optimizer_parse(run.inner_optimizer, "inner.optimizer");
  inner.beta1 = run.inner_beta1;
  inner.beta2 = run.inner_beta2;
  inner.eps = run.inner_eps;
  inner.weight_decay = run.inner_weight_decay;
  inner.momentum = run.inner_momentum;
  inner.grad_clip = run.inner_grad_clip;
  inner.adapt = run.inner_adapt;
  inner.fused = run.inner_fused;
  return inner;
}

PromptOptions prompt_options_from_run(const RunConfig& run) {
  PromptOptions p;
  p.method = method_parse(run.method, "method");
  p.control = control_parse(run.control, "control");
  p.multi_task = run.multi_task;
  p.distractors = run.data_distractors;
  p.seed = run.seed;
  return p;
}

MatmulDtype matmul_dtype_from_run(const RunConfig& run) {
  return matmul_dtype_parse(run.matmul_dtype, "configuration key 'matmul_dtype'");
}

InnerLoopConfig ReckoningModel::inner() const { return inner_config_from_run(run); }
MatmulDtype ReckoningModel::matmul_dtype() const { return matmul_dtype_from_run(run); }
torch::Device device_from_run(const RunConfig& run) { return device_parse(run.device, "configuration key 'device'"); }
torch::Device ReckoningModel::device() const { return device_from_run(run); }

void reckoning_model_to(ReckoningModel& model, const torch::Device& device) {
  auto move = [&](const torch::Tensor& t) {
    if (!t.defined() || t.device() == device) return t;
    torch::Tensor moved = t.detach().to(device);
    return t.requires_grad() ? moved.requires_grad_(true) : moved;
  };
  model.weights = gpt2_map(model.weights, move);
  model.lrs.values = move(model.lrs.values);
}
PromptOptions ReckoningModel::prompt() const { return prompt_options_from_run(run); }

ReckoningModel reckoning_model_load(const std::string& dir) {
  check(is_directory(dir), dir, "a model directory", "no such directory");
  ReckoningModel model;
  const std::string settings = path_join(dir, "reckoning.json");
  if (file_exists(settings)) model.run = run_config_from_json(read_json_file(settings), settings);
  Gpt2Model gpt2 = gpt2_load_dir(dir, torch::kFloat32);
  model.config = gpt2.config;
  model.weights = gpt2_map(gpt2.weights, [](const torch::Tensor& t) { return t.requires_grad_(false); });
  model.tokenizer = tokenizer_load(dir);
  check(model.tokenizer->vocab_size() <= model.config.n_vocab, path_join(dir, "config.json"),
        str("vocab_size >= the tokenizer's ", model.tokenizer->vocab_size(), " tokens"),
        std::to_string(model.config.n_vocab));
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
    LrMode mode = lr_mode_parse(meta("mode"), str(lrs_path, ": metadata 'mode'"));
    const std::string log_space = meta("log_space");
    model.lrs = inner_lrs_from_values(model.config, mode, log_space == "true", *values, lrs_path);
    model.lrs.values.requires_grad_(false);
  } else {
    model.lrs = inner_lrs_init(model.config, LrMode::Static, model.run.inner_steps, model.run.inner_lr, false);
  }
  return model;
}

void reckoning_model_write_files(const ReckoningModel& model, const std::string& dir) {
  create_directories(dir);
  Gpt2Model gpt2{model.config, gpt2_map(model.weights, [](const torch::Tensor& t) { return t.detach(); })};
  gpt2_save_dir(gpt2, dir);
  model.tokenizer->save(dir);
  // Stored as parametrised (log(rate) in log-space mode); rows = groups, columns = inner steps.
  safetensors_save(path_join(dir, "inner_lrs.safetensors"),
                   {{"inner_lrs", model.lrs.values.detach().to(torch::kFloat32)}},
                   {{"mode", lr_mode_name(model.lrs.mode)},
                    {"log_space", model.lrs.log_space ? "true" : "false"},
                    {"rows", [&] {
                       std::string g;
                       for (const auto& n : model.lrs.group_names) g += (g.empty() ? "" : ",") + n;
                       return g;
                     }()}});
  write_json_file_atomic(path_join(dir, "reckoning.json"), run_config_to_json(model.run));
}

void reckoning_model_save(const ReckoningModel& model, const std::string& dir) {
  const std::string staging = staging_path(dir);
  reckoning_model_write_files(model, staging);
  replace_directory(staging, dir);
}

}  // namespace reckoning
