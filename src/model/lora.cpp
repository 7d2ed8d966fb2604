// LoRA adapters; see lora.h.
#include "reckoning/model/lora.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/base/text.h"
#include "reckoning/model/precision.h"
#include "reckoning/model/task_batch.h"

namespace reckoning {

namespace {

const std::vector<std::string>& gpt2_modules() {
  static const std::vector<std::string> modules{"attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj"};
  return modules;
}

const std::vector<std::string>& llama_modules() {
  static const std::vector<std::string> modules{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                "self_attn.o_proj", "mlp.gate_proj",    "mlp.up_proj",
                                                "mlp.down_proj"};
  return modules;
}

// One adaptable layer of a block: its weight, its adapter slot, and whether the weight is stored
// (in, out) (GPT-2's Conv1D) rather than (out, in) (Linear).
struct Module {
  torch::Tensor* weight;
  LoraPair* pair;
  bool in_out;
};

Module module_of(Gpt2BlockWeights& b, const std::string& m) {
  if (m == "attn.c_attn") return {&b.attn_c_attn_weight, &b.attn_c_attn_lora, true};
  if (m == "attn.c_proj") return {&b.attn_c_proj_weight, &b.attn_c_proj_lora, true};
  if (m == "mlp.c_fc") return {&b.mlp_c_fc_weight, &b.mlp_c_fc_lora, true};
  TORCH_INTERNAL_ASSERT(m == "mlp.c_proj", "lora: unknown module ", m);
  return {&b.mlp_c_proj_weight, &b.mlp_c_proj_lora, true};
}

Module module_of(LlamaLayerWeights& l, const std::string& m) {
  if (m == "self_attn.q_proj") return {&l.q_proj, &l.q_lora, false};
  if (m == "self_attn.k_proj") return {&l.k_proj, &l.k_lora, false};
  if (m == "self_attn.v_proj") return {&l.v_proj, &l.v_lora, false};
  if (m == "self_attn.o_proj") return {&l.o_proj, &l.o_lora, false};
  if (m == "mlp.gate_proj") return {&l.gate_proj, &l.gate_lora, false};
  if (m == "mlp.up_proj") return {&l.up_proj, &l.up_lora, false};
  TORCH_INTERNAL_ASSERT(m == "mlp.down_proj", "lora: unknown module ", m);
  return {&l.down_proj, &l.down_lora, false};
}

// Calls f(module name, Module) for every adaptable module of every block, in canonical order.
template <class F>
void for_each_module(DecoderWeights& weights, F&& f) {
  std::visit(
      [&](auto& family) {
        if constexpr (std::is_same_v<std::decay_t<decltype(family)>, Gpt2Weights>) {
          for (Gpt2BlockWeights& b : family.h) {
            for (const std::string& m : gpt2_modules()) f(m, module_of(b, m));
          }
        } else {
          for (LlamaLayerWeights& l : family.layers) {
            for (const std::string& m : llama_modules()) f(m, module_of(l, m));
          }
        }
      },
      weights.arch);
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The block prefix of layer l's names ("h.3." or "model.layers.3.").
std::string block_prefix(bool gpt2, int64_t l) { return gpt2 ? str("h.", l, ".") : str("model.layers.", l, "."); }

// "a, b, c"
std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& m : items) out += (out.empty() ? "" : ", ") + m;
  return out;
}

// The targets that are among a family's `modules`, in their order; refuses (naming `where` and
// `whose`, e.g. "a qwen2 model") a list with none of them.
std::vector<std::string> targets_among(const LoraConfig& lora, const std::vector<std::string>& modules,
                                       const std::string& where, const std::string& whose) {
  std::vector<std::string> out;
  for (const std::string& m : modules) {
    if (contains(lora.targets, m)) out.push_back(m);
  }
  check(!out.empty(), where, str("modules of ", whose, " (", joined(modules), ")"), joined(lora.targets));
  return out;
}

const std::string kPeftGpt2Prefix = "base_model.model.transformer.";
const std::string kPeftPrefix = "base_model.model.";

}  // namespace

const std::vector<std::string>& lora_modules(const DecoderConfig& config) {
  return config.is_gpt2() ? gpt2_modules() : llama_modules();
}

const std::vector<std::string>& lora_modules(const DecoderWeights& weights) {
  return weights.is_gpt2() ? gpt2_modules() : llama_modules();
}

const std::vector<std::string>& lora_modules_all() {
  static const std::vector<std::string> all = [] {
    std::vector<std::string> out = gpt2_modules();
    out.insert(out.end(), llama_modules().begin(), llama_modules().end());
    return out;
  }();
  return all;
}

torch::Tensor lora_path(const torch::Tensor& x2, const LoraPair& lora, const LoraApply& apply) {
  const torch::Tensor x = apply.training && apply.dropout_p > 0 ? torch::dropout(x2, apply.dropout_p, true) : x2;
  return task_matmul(task_matmul(x, lora.a, /*transposed=*/true) * apply.scale, lora.b, /*transposed=*/true);
}

std::vector<std::string> lora_targets_parse(const std::string& list, const std::string& where) {
  std::vector<std::string> out;
  std::istringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    item = trim(item);
    if (item.empty()) continue;
    bool any = false;
    for (const std::string& m : lora_modules_all()) {
      const bool match = item == "all" || item == m || m.substr(m.find('.') + 1) == item;
      if (match && !contains(out, m)) out.push_back(m);
      any = any || match;
    }
    check(any, where,
          "modules among attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj (GPT-2), self_attn.q_proj, k_proj, v_proj, "
          "o_proj, mlp.gate_proj, up_proj, down_proj (Llama family), their last parts, or all",
          str("'", item, "'"));
  }
  check(!out.empty(), where, "at least one module (e.g. 'attn.c_attn,mlp.c_fc', 'q_proj,v_proj' or 'all')",
        str("'", list, "'"));
  // Canonical order, whatever the order given.
  std::vector<std::string> ordered;
  for (const std::string& m : lora_modules_all()) {
    if (contains(out, m)) ordered.push_back(m);
  }
  return ordered;
}

std::vector<std::string> lora_targets_for(const LoraConfig& lora, const DecoderConfig& config,
                                          const std::string& where) {
  return targets_among(lora, lora_modules(config), where, str("a ", config.model_type(), " model"));
}

void lora_config_check(const LoraConfig& lora, const std::string& where) {
  check(lora.rank > 0, str(where, ": rank"), "a positive rank", std::to_string(lora.rank));
  check(lora.alpha > 0, str(where, ": alpha"), "a positive alpha", std::to_string(lora.alpha));
  check(lora.dropout >= 0 && lora.dropout < 1, str(where, ": dropout"), "a probability in [0, 1)",
        std::to_string(lora.dropout));
  check(!lora.targets.empty(), str(where, ": targets"), "at least one module", "none");
}

std::vector<WeightSpec> lora_specs(const DecoderConfig& config, const LoraConfig& lora) {
  const std::vector<std::string> targets = lora_targets_for(lora, config, "LoRA targets");
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const WeightSpec& s : decoder_weight_specs(config)) shapes[s.name] = s.shape;
  std::vector<WeightSpec> specs;
  for (int64_t l = 0; l < config.n_layer(); ++l) {
    for (const std::string& m : targets) {
      const std::string p = block_prefix(config.is_gpt2(), l) + m;
      const std::vector<int64_t>& shape = shapes.at(p + ".weight");
      const int64_t in = config.is_gpt2() ? shape[0] : shape[1], out = config.is_gpt2() ? shape[1] : shape[0];
      specs.push_back({p + ".lora_A.weight", {lora.rank, in}, l + 1, true, false});
      specs.push_back({p + ".lora_B.weight", {out, lora.rank}, l + 1, true, false});
    }
  }
  return specs;
}

void lora_attach(DecoderWeights& weights, const LoraConfig& lora, uint64_t seed) {
  lora_config_check(lora, "LoRA configuration");
  const std::vector<std::string> family = targets_among(lora, lora_modules(weights), "LoRA targets", "this model's family");
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  for_each_module(weights, [&](const std::string& m, Module module) {
    if (!contains(family, m)) {
      *module.pair = LoraPair{};
      return;
    }
    const torch::Tensor& w = *module.weight;
    const int64_t in = module.in_out ? w.size(0) : w.size(1), out = module.in_out ? w.size(1) : w.size(0);
    const double bound = 1.0 / std::sqrt(static_cast<double>(in));  // kaiming_uniform(a = sqrt(5))
    torch::Tensor a = torch::empty({lora.rank, in}, torch::kFloat64).uniform_(-bound, bound, gen);
    module.pair->a = a.to(w.options().requires_grad(false));
    module.pair->b = torch::zeros({out, lora.rank}, w.options().requires_grad(false));
  });
  weights.set_lora(lora.scale(), lora.dropout);
}

bool lora_present(const DecoderWeights& weights) {
  bool any = false;
  lora_visit(weights, [&](const std::string&, const torch::Tensor&) { any = true; });
  return any;
}

int64_t lora_parameter_count(const DecoderWeights& weights) {
  int64_t n = 0;
  lora_visit(weights, [&](const std::string&, const torch::Tensor& t) { n += t.numel(); });
  return n;
}

std::vector<torch::Tensor> lora_flatten(const DecoderWeights& weights) {
  std::vector<torch::Tensor> out;
  lora_visit(weights, [&](const std::string&, const torch::Tensor& t) { out.push_back(t); });
  return out;
}

DecoderWeights lora_with(const DecoderWeights& weights, const std::vector<torch::Tensor>& adapters) {
  DecoderWeights out = weights;
  size_t k = 0;
  lora_visit(out, [&](const std::string& name, torch::Tensor& t) {
    TORCH_CHECK(k < adapters.size(), "lora_with: ", adapters.size(), " tensors for more adapters (", name, ")");
    t = adapters[k++];
  });
  TORCH_CHECK(k == adapters.size(), "lora_with: ", adapters.size(), " tensors for ", k, " adapter tensors");
  return out;
}

DecoderWeights lora_merge(const DecoderWeights& weights) {
  DecoderWeights out = weights;
  const double scale = weights.lora_scale();
  for_each_module(out, [&](const std::string&, Module module) {
    if (!module.pair->defined()) return;
    const torch::Tensor update = torch::matmul(module.pair->b, module.pair->a) * scale;  // (out, in)
    *module.weight = *module.weight + (module.in_out ? update.t() : update);
    *module.pair = LoraPair{};
  });
  out.set_lora(0, 0);
  return out;
}

LoraConfig lora_config_of(const DecoderWeights& weights) {
  LoraConfig lora;
  lora.targets.clear();
  DecoderWeights view = weights;  // shares the tensors; for_each_module needs a mutable walk
  for_each_module(view, [&](const std::string& m, Module module) {
    if (!module.pair->defined()) return;
    lora.rank = module.pair->a.size(0);
    if (!contains(lora.targets, m)) lora.targets.push_back(m);
  });
  lora.alpha = weights.lora_scale() * static_cast<double>(lora.rank);
  lora.dropout = weights.lora_dropout();
  return lora;
}

std::string lora_peft_name(const std::string& name) {
  return name.rfind("model.", 0) == 0 ? kPeftPrefix + name : kPeftGpt2Prefix + name;
}

void lora_save_peft(const DecoderWeights& weights, const std::string& dir, const std::string& base_model) {
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
                          {"fan_in_fan_out", weights.is_gpt2()},
                          {"bias", "none"},
                          {"inference_mode", false}});
}

bool lora_peft_present(const std::string& dir) {
  return file_exists(path_join(dir, "adapter_config.json")) || file_exists(path_join(dir, "adapter_model.safetensors"));
}

void lora_load_peft(DecoderWeights& weights, const std::string& dir) {
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
    const bool fan_in_fan_out = j.value("fan_in_fan_out", weights.is_gpt2());
    check(fan_in_fan_out == weights.is_gpt2(), str(config_path, ": key 'fan_in_fan_out'"),
          weights.is_gpt2() ? "true (GPT-2's Conv1D layers)" : "false (Linear layers)", fan_in_fan_out ? "true" : "false");
  } catch (const nlohmann::json::exception& e) {
    throw_error(config_path, "a PEFT LoRA configuration (r, lora_alpha, target_modules)", e.what());
  }
  lora_config_check(lora, config_path);
  const Safetensors file = safetensors_load(tensors_path, weights.embedding().scalar_type());
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
