// GPT-2 weight names, specs, flattening and initialisation; see gpt2_weights.h.
#include "reckoning/model/gpt2_weights.h"

#include <cmath>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

Gpt2Weights empty_weights(const Gpt2Config& config) {
  Gpt2Weights w;
  w.h.resize(static_cast<size_t>(config.n_layer));
  return w;
}

std::string shape_string(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace

std::vector<WeightSpec> gpt2_weight_specs(const Gpt2Config& c) {
  const int64_t C = c.n_embd;
  std::vector<WeightSpec> specs;
  Gpt2Weights w = empty_weights(c);
  gpt2_visit(w, [&](const std::string& name, torch::Tensor&) {
    WeightSpec s{name, {}, 0, false, false};
    if (name == "wte.weight") {
      s.shape = {c.n_vocab, C};
      s.decays = true;
    } else if (name == "wpe.weight") {
      s.shape = {c.n_ctx, C};
      s.decays = true;
    } else if (name.rfind("ln_f.", 0) == 0) {
      s.shape = {C};
      s.layer_group = c.n_layer + 1;
    } else {
      s.layer_group = std::stoll(name.substr(2, name.find('.', 2) - 2)) + 1;
      if (ends_with(name, "attn.c_attn.weight")) s.shape = {C, 3 * C};
      else if (ends_with(name, "attn.c_attn.bias")) s.shape = {3 * C};
      else if (ends_with(name, "attn.c_proj.weight")) s.shape = {C, C};
      else if (ends_with(name, "mlp.c_fc.weight")) s.shape = {C, c.n_inner()};
      else if (ends_with(name, "mlp.c_fc.bias")) s.shape = {c.n_inner()};
      else if (ends_with(name, "mlp.c_proj.weight")) s.shape = {c.n_inner(), C};
      else s.shape = {C};  // LayerNorm weights/biases, c_proj biases
      s.decays = s.shape.size() == 2;
      s.residual_projection = ends_with(name, "c_proj.weight");
    }
    specs.push_back(std::move(s));
  });
  return specs;
}

std::vector<torch::Tensor> gpt2_flatten(const Gpt2Weights& weights) {
  std::vector<torch::Tensor> out;
  out.reserve(4 + 12 * weights.h.size());
  gpt2_visit(weights, [&](const std::string&, const torch::Tensor& t) { out.push_back(t); });
  return out;
}

Gpt2Weights gpt2_unflatten(const Gpt2Config& config, const std::vector<torch::Tensor>& tensors) {
  Gpt2Weights w = empty_weights(config);
  const size_t expected = 4 + 12 * static_cast<size_t>(config.n_layer);
  TORCH_INTERNAL_ASSERT(tensors.size() == expected, "gpt2_unflatten: expected ", expected,
                        " tensors, got ", tensors.size());
  size_t k = 0;
  gpt2_visit(w, [&](const std::string&, torch::Tensor& t) { t = tensors[k++]; });
  return w;
}

Gpt2Weights gpt2_init(const Gpt2Config& config, uint64_t seed, torch::Dtype dtype) {
  config.validate("gpt2_init config");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const auto options = torch::TensorOptions().dtype(dtype);
  Gpt2Weights w = empty_weights(config);
  std::vector<WeightSpec> specs = gpt2_weight_specs(config);
  size_t k = 0;
  torch::NoGradGuard no_grad;
  gpt2_visit(w, [&](const std::string& name, torch::Tensor& t) {
    const WeightSpec& s = specs[k++];
    if (s.shape.size() == 2) {
      double std = config.initializer_range;
      if (s.residual_projection) std /= std::sqrt(2.0 * static_cast<double>(config.n_layer));
      t = at::normal(0.0, std, s.shape, generator, options);
    } else if (ends_with(name, ".weight")) {  // LayerNorm gains
      t = torch::ones(s.shape, options);
    } else {
      t = torch::zeros(s.shape, options);
    }
  });
  return w;
}

void gpt2_check_shapes(const Gpt2Config& config, const Gpt2Weights& weights, const std::string& where) {
  check(static_cast<int64_t>(weights.h.size()) == config.n_layer, where,
        str(config.n_layer, " transformer blocks (n_layer)"), std::to_string(weights.h.size()));
  std::vector<WeightSpec> specs = gpt2_weight_specs(config);
  size_t k = 0;
  gpt2_visit(weights, [&](const std::string& name, const torch::Tensor& t) {
    const WeightSpec& s = specs[k++];
    check(t.defined(), str(where, ": tensor '", name, "'"), "present", "missing");
    check(t.sizes().vec() == s.shape, str(where, ": tensor '", name, "'"),
          str("shape ", shape_string(s.shape)), str("shape ", shape_string(t.sizes())));
  });
}

int64_t gpt2_parameter_count(const Gpt2Weights& weights) {
  int64_t n = 0;
  gpt2_visit(weights, [&](const std::string&, const torch::Tensor& t) { n += t.numel(); });
  return n;
}

}  // namespace reckoning
