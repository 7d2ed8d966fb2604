// Learned inner learning rates; see inner_lrs.h.
#include "reckoning/inner_lrs.h"

#include <cmath>
#include <cstdio>

#include "reckoning/error.h"
#include "reckoning/gpt2_weights.h"

namespace reckoning {

LrMode lr_mode_parse(const std::string& text, const std::string& where) {
  if (text == "per-tensor") return LrMode::PerTensor;
  if (text == "per-layer") return LrMode::PerLayer;
  if (text == "static") return LrMode::Static;
  throw_error(where, "one of per-tensor, per-layer, static", str("'", text, "'"));
}

std::string lr_mode_name(LrMode mode) {
  switch (mode) {
    case LrMode::PerTensor: return "per-tensor";
    case LrMode::PerLayer: return "per-layer";
    case LrMode::Static: return "static";
  }
  return "?";
}

std::vector<std::vector<torch::Tensor>> InnerLrs::table() const {
  std::vector<std::vector<torch::Tensor>> out;
  for (const torch::Tensor& row : (log_space ? values.exp() : values).unbind(0)) out.push_back(row.unbind(0));
  return out;
}

torch::Tensor InnerLrs::rates() const {
  torch::Tensor v = values.detach();
  return log_space ? v.exp() : v.clone();
}

namespace {

// Group mapping and labels for a mode (independent of the values).
void build_groups(const Gpt2Config& config, LrMode mode, std::vector<int64_t>& group_of_tensor,
                  std::vector<std::string>& group_names) {
  group_of_tensor.clear();
  group_names.clear();
  std::vector<WeightSpec> specs = gpt2_weight_specs(config);
  switch (mode) {
    case LrMode::PerTensor:
      for (size_t i = 0; i < specs.size(); ++i) {
        group_of_tensor.push_back(static_cast<int64_t>(i));
        group_names.push_back(specs[i].name);
      }
      break;
    case LrMode::PerLayer:
      group_names.push_back("embeddings");
      for (int64_t l = 0; l < config.n_layer; ++l) group_names.push_back(str("h.", l));
      group_names.push_back("ln_f");
      for (const WeightSpec& s : specs) group_of_tensor.push_back(s.layer_group);
      break;
    case LrMode::Static:
      group_names.push_back("all");
      group_of_tensor.assign(specs.size(), 0);
      break;
  }
}

}  // namespace

InnerLrs inner_lrs_init(const Gpt2Config& config, LrMode mode, int64_t steps, double initial,
                        bool log_space, torch::Dtype dtype) {
  check(steps >= 0, "inner_lrs_init: inner steps", "a non-negative count", std::to_string(steps));
  check(!log_space || initial > 0, "inner_lrs_init: initial rate",
        "a positive rate in log-space mode", std::to_string(initial));
  InnerLrs lrs;
  lrs.mode = mode;
  lrs.log_space = log_space;
  build_groups(config, mode, lrs.group_of_tensor, lrs.group_names);
  const double stored = log_space ? std::log(initial) : initial;
  lrs.values = torch::full({static_cast<int64_t>(lrs.group_names.size()), steps}, stored,
                           torch::dtype(dtype));
  if (lrs.learned()) lrs.values.requires_grad_(true);
  return lrs;
}

InnerLrs inner_lrs_from_values(const Gpt2Config& config, LrMode mode, bool log_space,
                               torch::Tensor values, const std::string& where) {
  InnerLrs lrs;
  lrs.mode = mode;
  lrs.log_space = log_space;
  build_groups(config, mode, lrs.group_of_tensor, lrs.group_names);
  check(values.dim() == 2 && values.size(0) == static_cast<int64_t>(lrs.group_names.size()), where,
        str("a (", lrs.group_names.size(), ", steps) table of ", lr_mode_name(mode), " rates"),
        reckoning::str("shape ", values.sizes()));
  lrs.values = values.detach().clone();
  if (lrs.learned()) lrs.values.requires_grad_(true);
  return lrs;
}

std::string inner_lrs_format(const InnerLrs& lrs) {
  torch::Tensor r = lrs.rates().to(torch::kFloat64);
  size_t width = 5;
  for (const auto& n : lrs.group_names) width = std::max(width, n.size());
  std::string out = str(lr_mode_name(lrs.mode), " inner learning rates",
                        lrs.log_space ? " (log-space parametrisation)" : "", ", ",
                        lrs.group_names.size(), " groups x ", lrs.steps(), " steps\n");
  out += std::string(width, ' ');
  char cell[64];
  for (int64_t k = 0; k < lrs.steps(); ++k) {
    std::snprintf(cell, sizeof cell, " %12s", str("step ", k).c_str());
    out += cell;
  }
  out += "\n";
  for (size_t g = 0; g < lrs.group_names.size(); ++g) {
    out += lrs.group_names[g] + std::string(width - lrs.group_names[g].size(), ' ');
    for (int64_t k = 0; k < lrs.steps(); ++k) {
      std::snprintf(cell, sizeof cell, " %12.4e", r[g][k].item<double>());
      out += cell;
    }
    out += "\n";
  }
  return out;
}

}  // namespace reckoning
