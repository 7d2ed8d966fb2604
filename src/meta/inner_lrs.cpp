// Learned inner learning rates; see inner_lrs.h.
#include "reckoning/meta/inner_lrs.h"

#include <cmath>
#include <cstdio>

#include "reckoning/base/error.h"
#include "reckoning/model/decoder.h"

namespace reckoning {

template <>
const std::vector<EnumName<LrMode>>& enum_names<LrMode>() {
  static const std::vector<EnumName<LrMode>> table{
      {LrMode::PerTensor, "per-tensor"}, {LrMode::PerLayer, "per-layer"}, {LrMode::Static, "static"}};
  return table;
}

std::vector<std::vector<torch::Tensor>> InnerLrs::table() const {
  std::vector<std::vector<torch::Tensor>> out;
  torch::Tensor r = log_space ? values.exp() : values;
  if (r.dim() == 3) r = r.permute({1, 2, 0});  // (G, N, T): entries of one rate per task
  for (const torch::Tensor& row : r.unbind(0)) out.push_back(row.unbind(0));
  return out;
}

torch::Tensor InnerLrs::rates() const {
  torch::Tensor v = values.detach();
  if (v.dim() == 3) v = v[0];
  return log_space ? v.exp() : v.clone();
}

InnerLrs inner_lrs_per_task(const InnerLrs& lrs, int64_t tasks) {
  TORCH_CHECK(lrs.values.dim() == 2 && tasks > 0, "inner_lrs_per_task: a (groups, steps) table and tasks > 0");
  InnerLrs out = lrs;
  out.values = lrs.values.detach().unsqueeze(0).expand({tasks, lrs.values.size(0), lrs.values.size(1)}).contiguous();
  if (lrs.learned()) out.values.requires_grad_(true);
  return out;
}

namespace {

// Group mapping and labels for a mode (independent of the values). Per layer, the groups are the
// layer groups the specs use, in order: embeddings, h.0 ... h.{L-1}, ln_f for every weight of GPT-2
// (embeddings, layers.0 ..., final for the Llama family); only
// the blocks for LoRA adapters.
void build_groups(const std::vector<WeightSpec>& specs, int64_t n_layer, LrMode mode,
                  std::vector<int64_t>& group_of_tensor, std::vector<std::string>& group_names) {
  group_of_tensor.clear();
  group_names.clear();
  switch (mode) {
    case LrMode::PerTensor:
      for (size_t i = 0; i < specs.size(); ++i) {
        group_of_tensor.push_back(static_cast<int64_t>(i));
        group_names.push_back(specs[i].name);
      }
      break;
    case LrMode::PerLayer: {
      std::vector<int64_t> row_of_layer_group(static_cast<size_t>(n_layer + 2), -1);
      for (const WeightSpec& s : specs) row_of_layer_group.at(static_cast<size_t>(s.layer_group)) = 0;
      for (int64_t g = 0; g < n_layer + 2; ++g) {
        if (row_of_layer_group[static_cast<size_t>(g)] < 0) continue;
        row_of_layer_group[static_cast<size_t>(g)] = static_cast<int64_t>(group_names.size());
        // GPT-2's names (h.i, ln_f), or the Llama family's (layers.i, final: the norm and an untied head).
        const bool llama = !specs.empty() && specs.front().name.rfind("model.", 0) == 0;
        group_names.push_back(g == 0            ? std::string("embeddings")
                              : g == n_layer + 1 ? std::string(llama ? "final" : "ln_f")
                                                 : str(llama ? "layers." : "h.", g - 1));
      }
      for (const WeightSpec& s : specs) group_of_tensor.push_back(row_of_layer_group[static_cast<size_t>(s.layer_group)]);
      break;
    }
    case LrMode::Static:
      group_names.push_back("all");
      group_of_tensor.assign(specs.size(), 0);
      break;
  }
}

}  // namespace

InnerLrs inner_lrs_init(const std::vector<WeightSpec>& specs, int64_t n_layer, LrMode mode, int64_t steps,
                        double initial, bool log_space, torch::Dtype dtype) {
  check(steps >= 0, "inner_lrs_init: inner steps", "a non-negative count", std::to_string(steps));
  check(!log_space || initial > 0, "inner_lrs_init: initial rate",
        "a positive rate in log-space mode", std::to_string(initial));
  InnerLrs lrs;
  lrs.mode = mode;
  lrs.log_space = log_space;
  build_groups(specs, n_layer, mode, lrs.group_of_tensor, lrs.group_names);
  const double stored = log_space ? std::log(initial) : initial;
  lrs.values = torch::full({static_cast<int64_t>(lrs.group_names.size()), steps}, stored,
                           torch::dtype(dtype));
  if (lrs.learned()) lrs.values.requires_grad_(true);
  return lrs;
}

InnerLrs inner_lrs_init(const DecoderConfig& config, LrMode mode, int64_t steps, double initial,
                        bool log_space, torch::Dtype dtype) {
  return inner_lrs_init(decoder_weight_specs(config), config.n_layer(), mode, steps, initial, log_space, dtype);
}

InnerLrs inner_lrs_from_values(const std::vector<WeightSpec>& specs, int64_t n_layer, LrMode mode, bool log_space,
                               torch::Tensor values, const std::string& where) {
  InnerLrs lrs;
  lrs.mode = mode;
  lrs.log_space = log_space;
  build_groups(specs, n_layer, mode, lrs.group_of_tensor, lrs.group_names);
  check(values.dim() == 2 && values.size(0) == static_cast<int64_t>(lrs.group_names.size()), where,
        str("a (", lrs.group_names.size(), ", steps) table of ", enum_name(mode), " rates"),
        reckoning::str("shape ", values.sizes()));
  lrs.values = values.detach().clone();
  if (lrs.learned()) lrs.values.requires_grad_(true);
  return lrs;
}

InnerLrs inner_lrs_from_values(const DecoderConfig& config, LrMode mode, bool log_space,
                               torch::Tensor values, const std::string& where) {
  return inner_lrs_from_values(decoder_weight_specs(config), config.n_layer(), mode, log_space, std::move(values), where);
}

}  // namespace reckoning
