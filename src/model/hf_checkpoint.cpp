// Hugging Face GPT-2 model directories <-> Gpt2Model; see hf_checkpoint.h for the GPT-2 facts handled.
// Names and order come only from gpt2_visit / gpt2_weight_specs (gpt2_weights.h).
#include "reckoning/model/hf_checkpoint.h"

#include <algorithm>
#include <map>
#include <regex>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

namespace {

const char kPrefix[] = "transformer.";
const char kWeightsFile[] = "model.safetensors";
const char kIndexFile[] = "model.safetensors.index.json";

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// "'a', 'b', 'c' and 4 more": error messages stay readable when a whole model is wrong.
std::string name_list(const std::vector<std::string>& names) {
  const size_t shown = std::min<size_t>(names.size(), 8);
  std::string s;
  for (size_t i = 0; i < shown; ++i) s += (i ? ", '" : "'") + names[i] + "'";
  if (names.size() > shown) s += str(" and ", names.size() - shown, " more");
  return s;
}

}  // namespace

std::string gpt2_strip_prefix(const std::string& name) {
  // GPT2LMHeadModel wraps GPT2Model as `.transformer`, so its state dict names every weight
  // `transformer.<name>`; GPT2Model itself (and the published `gpt2` checkpoint) has no prefix.
  const size_t n = sizeof(kPrefix) - 1;
  return name.compare(0, n, kPrefix) == 0 ? name.substr(n) : name;
}

Gpt2KeyRole gpt2_key_role(const std::string& name) {
  // `attn.bias` is the causal mask (a tril of ones) and `attn.masked_bias` the fill value (-1e4)
  // that older transformers versions register as persistent buffers: constants, not weights.
  // Note `attn.c_attn.bias` is a real weight; the pattern matches the exact buffer names only.
  static const std::regex mask_buffer(R"(h\.[0-9]+\.attn\.(bias|masked_bias))");
  const std::string bare = gpt2_strip_prefix(name);
  if (std::regex_match(bare, mask_buffer)) return Gpt2KeyRole::kMaskBuffer;
  // GPT2LMHeadModel's head is tied to wte; it is saved by some writers (HF drops it in newer ones).
  if (name == "lm_head.weight") return Gpt2KeyRole::kTiedHead;
  return Gpt2KeyRole::kWeight;
}

std::string checkpoint_weights_path(const std::string& dir) {
  check(is_directory(dir), dir, "a model directory", "no such directory");
  const std::string single = path_join(dir, kWeightsFile);
  if (is_regular_file(single)) return single;
  const std::string index = path_join(dir, kIndexFile);
  if (is_regular_file(index)) return index;
  std::string got = "neither";
  if (file_exists(path_join(dir, "pytorch_model.bin"))) {
    got = "only pytorch_model.bin (PyTorch pickles are not supported; convert it to safetensors)";
  }
  throw_error(dir, str(kWeightsFile, " or ", kIndexFile), got);
}

Safetensors checkpoint_read_tensors(const std::string& path, std::optional<torch::Dtype> float_dtype) {
  const std::string suffix = ".json";
  const bool is_index = path.size() >= suffix.size() &&
                        path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  return is_index ? safetensors_load_index(path, float_dtype) : safetensors_load(path, float_dtype);
}

Gpt2Weights gpt2_weights_from_tensors(const Gpt2Config& config, const Safetensors& tensors,
                                      const std::string& where, torch::Dtype dtype) {
  // Bare name -> (name as stored, tensor). The stored name is what error messages show.
  std::map<std::string, std::pair<std::string, const torch::Tensor*>> by_name;
  const std::pair<std::string, torch::Tensor>* head = nullptr;
  for (const auto& entry : tensors.tensors) {
    const std::string& name = entry.first;
    switch (gpt2_key_role(name)) {
      case Gpt2KeyRole::kMaskBuffer:
        continue;
      case Gpt2KeyRole::kTiedHead:
        head = &entry;
        continue;
      case Gpt2KeyRole::kWeight:
        break;
    }
    const std::string bare = gpt2_strip_prefix(name);
    auto [it, inserted] = by_name.emplace(bare, std::make_pair(name, &entry.second));
    check(inserted, str(where, ": tensor '", name, "'"), "each weight once (with or without prefix)",
          str("a second copy of '", it->second.first, "'"));
  }

  Gpt2Weights w;
  w.h.resize(static_cast<size_t>(config.n_layer));
  const std::vector<WeightSpec> specs = gpt2_weight_specs(config);
  std::vector<std::string> missing;
  size_t k = 0;
  gpt2_visit(w, [&](const std::string& name, torch::Tensor& t) {
    const WeightSpec& spec = specs[k++];
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      missing.push_back(name);
      return;
    }
    const auto& [stored_name, tensor] = it->second;
    const std::string tensor_where = str(where, ": tensor '", stored_name, "'");
    check(tensor->is_floating_point(), tensor_where, "a floating-point tensor",
          std::string(c10::toString(tensor->scalar_type())));
    // Conv1D layout: HF stores linear weights [in, out] and so do we; a transposed ([out, in])
    // tensor is a different model, so it is refused, not transposed.
    check(tensor->sizes().vec() == spec.shape, tensor_where, str("shape ", shape_string(spec.shape)),
          str("shape ", shape_string(tensor->sizes())));
    t = tensor->detach().to(dtype).contiguous();
    by_name.erase(it);
  });
  check(missing.empty(), where, str("every GPT-2 weight for n_layer = ", config.n_layer),
        str("missing tensor ", name_list(missing)));
  if (!by_name.empty()) {
    std::vector<std::string> extra;
    for (const auto& [bare, stored] : by_name) extra.push_back(stored.first);
    throw_error(where,
                str("only GPT-2 weights for n_layer = ", config.n_layer,
                    " (plus attn.bias/attn.masked_bias buffers and a tied lm_head.weight)"),
                str("unexpected tensor ", name_list(extra)));
  }
  if (head != nullptr) {
    // The head is tied to wte in GPT-2; an untied head cannot be represented, so refuse it rather
    // than silently drop it.
    const std::string tensor_where = str(where, ": tensor '", head->first, "'");
    check(head->second.sizes() == w.wte.sizes(), tensor_where,
          str("shape ", shape_string(w.wte.sizes()), " (tied to wte.weight)"),
          str("shape ", shape_string(head->second.sizes())));
    check(torch::equal(head->second.detach().to(dtype), w.wte), tensor_where,
          "values equal to wte.weight (the output head is tied)", "different values");
  }
  return w;
}

Gpt2Model gpt2_load_dir(const std::string& dir, torch::Dtype dtype) {
  check(c10::isFloatingType(dtype), str("gpt2_load_dir(", dir, ")"), "a floating-point dtype",
        std::string(c10::toString(dtype)));
  Gpt2Model model;
  const std::string weights_path = checkpoint_weights_path(dir);
  model.config = gpt2_config_load(path_join(dir, "config.json"));
  // Converting while reading keeps one copy per tensor (file -> tensor in `dtype`).
  Safetensors tensors = checkpoint_read_tensors(weights_path, dtype);
  model.weights = gpt2_weights_from_tensors(model.config, tensors, weights_path, dtype);
  return model;
}

void gpt2_save_dir(const Gpt2Model& model, const std::string& dir) {
  model.config.validate(path_join(dir, "config.json"));
  const std::string weights_path = path_join(dir, kWeightsFile);
  gpt2_check_shapes(model.config, model.weights, weights_path);
  // GPT2Model's names without prefix: GPT2LMHeadModel.from_pretrained adds its `transformer.`
  // base-model prefix itself when the file has none, re-ties lm_head to wte, and does not expect
  // the mask buffers. metadata format "pt" is required by transformers' safetensors loader.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  gpt2_visit(model.weights, [&](const std::string& name, const torch::Tensor& t) {
    tensors.emplace_back(name, t.detach().to(torch::kFloat32));
  });
  create_directories(dir);
  safetensors_save(weights_path, tensors, {{"format", "pt"}});
  gpt2_config_save(model.config, path_join(dir, "config.json"));
}

}  // namespace reckoning
