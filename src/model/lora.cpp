// LoRA adapters; see lora.h.
#include "reckoning/model/lora.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/base/text.h"

namespace reckoning {

const std::vector<std::string>& lora_modules() {
  static const std::vector<std::string> modules{"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
  return modules;
}

namespace {

// The adapter slot of `module` in a block.
LoraPair& slot(Gpt2BlockWeights& b, const std::string& module) {
  if (module == "attn.c_attn") return b.attn_c_attn_lora;
  if (module == "attn.c_proj") return b.attn_c_proj_lora;
  if (module == "mlp.c_fc") return b.mlp_c_fc_lora;
  TORCH_INTERNAL_ASSERT(module == "mlp.c_proj", "lora: unknown module ", module);
  return b.mlp_c_proj_lora;
}

torch::Tensor& weight_of(Gpt2BlockWeights& b, const std::string& module) {
  if (module == "attn.c_attn") return b.attn_c_attn_weight;
  if (module == "attn.c_proj") return b.attn_c_proj_weight;
  if (module == "mlp.c_fc") return b.mlp_c_fc_weight;
  return b.mlp_c_proj_weight;
}

// (in, out) of a module's Conv1D weight in block `layer`, as gpt2_weight_specs states it.
std::pair<int64_t, int64_t> module_shape(const std::vector<WeightSpec>& specs, int64_t layer, const std::string& module) {
  const std::string name = str("h.", layer, ".", module, ".weight");
  for (const WeightSpec& s : specs) {
    if (s.name == name) return {s.shape[0], s.shape[1]};
  }
  TORCH_INTERNAL_ASSERT(false, "lora: no weight ", name);
  return {0, 0};
}

bool targeted(const LoraConfig& lora, const std::string& module) {
  return std::find(lora.targets.begin(), lora.targets.end(), module) != lora.targets.end();
}

const std::string kPeftPrefix = "base_model.model.transformer.";

}  // namespace

std::vector<std::string> lora_targets_parse(const std::string& list, const std::string& where) {
  std::vector<std::string> out;
  std::istringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    item = trim(item);
    if (item.empty()) continue;
    bool any = false;
    for (const std::string& m : lora_modules()) {
      const bool match = item == "all" || item == m || m.substr(m.find('.') + 1) == item;
      if (match && std::find(out.begin(), out.end(), m) == out.end()) out.push_back(m);
      any = any || match;
    }
    check(any, where, "modules among attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (or c_attn, c_proj, c_fc, all)",
          str("'", item, "'"));
  }
  check(!out.empty(), where, "at least one module (e.g. 'attn.c_attn,mlp.c_fc' or 'all')", str("'", list, "'"));
  // Canonical order, whatever the order given.
  std::vector<std::string> ordered;
  for (const std::string& m : lora_modules()) {
    if (std::find(out.begin(), out.end(), m) != out.end()) ordered.push_back(m);
  }
  return ordered;
}

void lora_config_check(const LoraConfig& lora, const std::string& where) {
  check(lora.rank > 0, str(where, ": rank"), "a positive rank", std::to_string(lora.rank));
  check(lora.alpha > 0, str(where, ": alpha"), "a positive alpha", std::to_string(lora.alpha));
  check(lora.dropout >= 0 && lora.dropout < 1, str(where, ": dropout"), "a probability in [0, 1)",
        std::to_string(lora.dropout));
  check(!lora.targets.empty(), str(where, ": targets"), "at least one module", "none");
}

std::vector<WeightSpec> lora_specs(const Gpt2Config& config, const LoraConfig& lora) {
  const std::vector<WeightSpec> weights = gpt2_weight_specs(config);
  std::vector<WeightSpec> specs;
  for (int64_t l = 0; l < config.n_layer; ++l) {
    for (const std::string& m : lora_modules()) {
      if (!targeted(lora, m)) continue;
      const auto [in, out] = module_shape(weights, l, m);
      const std::string p = str("h.", l, ".", m);
      specs.push_back({p + ".lora_A.weight", {lora.rank, in}, l + 1, true, false});
      specs.push_back({p + ".lora_B.weight", {out, lora.rank}, l + 1, true, false});
    }
  }
  return specs;
}

void lora_attach(Gpt2Weights& weights, const LoraConfig& lora, uint64_t seed) {
  lora_config_check(lora, "LoRA configuration");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for (Gpt2BlockWeights& b : weights.h) {
    for (const std::string& m : lora_modules()) {
      LoraPair& pair = slot(b, m);
      if (!targeted(lora, m)) {
        pair = LoraPair{};
        continue;
      }
      const torch::Tensor& w = weight_of(b, m);  // (in, out)
      const int64_t in = w.size(0), out = w.size(1);
      const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a = sqrt(5))
      torch::Tensor a = torch::empty({lora.rank, in}, torch::kFloat64).uniform_(-bound, bound, gen);
      pair.a = a.to(w.options().requires_grad(false));
      pair.b = torch::zeros({out, lora.rank}, w.options().requires_grad(false));
    }
  }
  weights.lora_scale = lora.scale();
  weights.lora_dropout = lora.dropout;
}

bool lora_present(const Gpt2Weights& weights) {
  bool any = false;
  lora_visit(weights, [&](const std::string&, const torch::Tensor&) { any = true; });
  return any;
}

int64_t lora_parameter_count(const Gpt2Weights& weights) {
  int64_t n = 0;
  lora_visit(weights, [&](const std::string&, const torch::Tensor& t) { n += t.numel(); });
  return n;
}

std::vector<torch::Tensor> lora_flatten(const Gpt2Weights& weights) {
  std::vector<torch::Tensor> out;
  lora_visit(weights, [&](const std::string&, const torch::Tensor& t) { out.push_back(t); });
  return out;
}

Gpt2Weights lora_with(const Gpt2Weights& weights, const std::vector<torch::Tensor>& adapters) {
  Gpt2Weights out = weights;
  size_t k = 0;
  lora_visit(out, [&](const std::string& name, torch::Tensor& t) {
    TORCH_CHECK(k < adapters.size(), "lora_with: ", adapters.size(), " tensors for more adapters (", name, ")");
    t = adapters[k++];
  });
  TORCH_CHECK(k == adapters.size(), "lora_with: ", adapters.size(), " tensors for ", k, " adapter tensors");
  return out;
}

Gpt2Weights lora_merge(const Gpt2Weights& weights) {
  Gpt2Weights out = weights;
  for (Gpt2BlockWeights& b : out.h) {
    for (const std::string& m : lora_modules()) {
      LoraPair& pair = slot(b, m);
      if (!pair.defined()) continue;
      torch::Tensor& w = weight_of(b, m);
      w = w + (torch::matmul(pair.b, pair.a) * weights.lora_scale).t();  // (in, out)
      pair = LoraPair{};
    }
  }
  out.lora_scale = 0;
  out.lora_dropout = 0;
  return out;
}

LoraConfig lora_config_of(const Gpt2Weights& weights) {
  LoraConfig lora;
  lora.targets.clear();
  for (const Gpt2BlockWeights& b : weights.h) {
    for (const std::string& m : lora_modules()) {
      const LoraPair& pair = slot(const_cast<Gpt2BlockWeights&>(b), m);
      if (!pair.defined()) continue;
      lora.rank = pair.a.size(0);
      if (std::find(lora.targets.begin(), lora.targets.end(), m) == lora.targets.end()) lora.targets.push_back(m);
    }
  }
  lora.alpha = weights.lora_scale * static_cast<double>(lora.rank);
  lora.dropout = weights.lora_dropout;
  return lora;
}

std::string lora_peft_name(const std::string& name) { return kPeftPrefix + name; }

void lora_save_peft(const Gpt2Weights& weights, const std::string& dir, const std::string& base_model) {
  check(lora_present(weights), str(dir, ": adapters"), "LoRA adapters to save", "none");
  create_directories(dir);
  const LoraConfig lora = lora_config_of(weights);
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  lora_visit(weights, [&](const std::string& name, const torch::Tensor& t) {
    tensors.emplace_back(lora_peft_name(name), t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
  });
  safetensors_save(path_join(dir, "adapter_model.safetensors"), tensors, {{"format", "pt"}});
  write_json_file_atomic(path_join(dir, "adapter_config.json"),
                         {{"peft_type", "LORA"},
                          {"task_type", "CAUSAL_LM"},
                          {"base_model_name_or_path", base_model},
                          {"r", lora.rank},
                          {"lora_alpha", lora.alpha},
                          {"lora_dropout", lora.dropout},
                          {"target_modules", lora.targets},
                          {"fan_in_fan_out", true},
                          {"bias", "none"},
                          {"inference_mode", false}});
}

bool lora_peft_present(const std::string& dir) {
  return file_exists(path_join(dir, "adapter_config.json")) || file_exists(path_join(dir, "adapter_model.safetensors"));
}

void lora_load_peft(Gpt2Weights& weights, const std::string& dir) {
  const std::string config_path = path_join(dir, "adapter_config.json");
  const std::string tensors_path = path_join(dir, "adapter_model.safetensors");
  check(file_exists(config_path), config_path, "a PEFT adapter configuration beside adapter_model.safetensors",
        "no such file");
  const nlohmann::json j = read_json_file(config_path);
  LoraConfig lora;
  try {
    check(j.value("peft_type", std::string("LORA")) == "LORA", str(config_path, ": key 'peft_type'"), "'LORA'",
          j.at("peft_type").dump());
    lora.rank = j.at("r").get<int64_t>();
    lora.alpha = j.at("lora_alpha").get<double>();
    lora.dropout = j.value("lora_dropout", 0.0);
    std::string targets;  // a list of module names (or, as PEFT also allows, one string)
    const nlohmann::json& modules = j.at("target_modules");
    if (modules.is_string()) targets = modules.get<std::string>();
    for (const auto& t : modules.is_array() ? modules : nlohmann::json::array()) {
      targets += (targets.empty() ? "" : ",") + t.get<std::string>();
    }
    lora.targets = lora_targets_parse(targets, str(config_path, ": key 'target_modules'"));
    check(j.value("fan_in_fan_out", true), str(config_path, ": key 'fan_in_fan_out'"),
          "true (GPT-2's Conv1D layers)", "false");
  } catch (const nlohmann::json::exception& e) {
    throw_error(config_path, "a PEFT LoRA configuration (r, lora_alpha, target_modules)", e.what());
  }
  lora_config_check(lora, config_path);
  const Safetensors file = safetensors_load(tensors_path, weights.wte.scalar_type());
  // Attach zero adapters of the stated shape, then fill each from the file.
  lora_attach(weights, lora, 0);
  size_t used = 0;
  lora_visit(weights, [&](const std::string& name, torch::Tensor& t) {
    const std::string peft = lora_peft_name(name);
    const torch::Tensor* stored = file.find(peft);
    check(stored != nullptr, str(tensors_path, ": tensor '", peft, "'"), "present (the configuration targets it)",
          "missing");
    check(stored->sizes() == t.sizes(), str(tensors_path, ": tensor '", peft, "'"), reckoning::str("shape ", t.sizes()),
          reckoning::str("shape ", stored->sizes()));
    t = stored->to(t.options());
    ++used;
  });
  check(used == file.tensors.size(), tensors_path,
        str(used, " adapter tensors for the targets ", nlohmann::json(lora.targets).dump()),
        str(file.tensors.size(), " tensors (some not of this configuration)"));
}

}  // namespace reckoning
