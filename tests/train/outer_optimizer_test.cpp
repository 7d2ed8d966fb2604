// The outer optimizer's parameter groups: decayed matrices and embeddings, undecayed biases and
// LayerNorms, and the learned rates with their own learning rate and no decay.
#include <gtest/gtest.h>

#include <set>

#include "reckoning/meta/inner_lrs.h"
#include "reckoning/model/gpt2_weights.h"
#include "reckoning/train/outer_optimizer.h"

using namespace reckoning;

namespace {

ReckoningModel tiny_model(LrMode mode) {
  ReckoningModel m;
  m.config.gpt2().n_vocab = 20;
  m.config.gpt2().n_ctx = 16;
  m.config.gpt2().n_embd = 8;
  m.config.gpt2().n_head = 2;
  m.config.gpt2().n_layer = 2;
  m.config.gpt2().bos_token_id = m.config.gpt2().eos_token_id = 19;
  m.weights = gpt2_map(gpt2_init(m.config.gpt2(), 1), [](const torch::Tensor& t) { return t.clone().requires_grad_(true); });
  m.lrs = inner_lrs_init(m.config, mode, 3, 1e-3, true);
  if (m.lrs.learned()) m.lrs.values.requires_grad_(true);
  return m;
}

const torch::optim::AdamWOptions& options(const OuterOptimizer& o, size_t group) {
  return static_cast<const torch::optim::AdamWOptions&>(o.adamw->param_groups()[group].options());
}

}  // namespace

TEST(OuterOptimizer, GroupsDecayRatesAndLearningRates) {
  ReckoningModel m = tiny_model(LrMode::PerLayer);
  RunConfig c;
  c.outer_lr = 3e-5;
  c.outer_weight_decay = 0.05;
  OuterOptimizer o = outer_optimizer_for(m, c);
  ASSERT_EQ(o.adamw->param_groups().size(), 3u);
  // Which tensor went where, by name.
  std::set<const void*> decayed, undecayed;
  for (const auto& p : o.adamw->param_groups()[0].params()) decayed.insert(p.unsafeGetTensorImpl());
  for (const auto& p : o.adamw->param_groups()[1].params()) undecayed.insert(p.unsafeGetTensorImpl());
  std::vector<WeightSpec> specs = decoder_weight_specs(m.config);
  std::vector<torch::Tensor> flat = decoder_flatten(m.weights);
  for (size_t i = 0; i < flat.size(); ++i) {
    const std::string& name = specs[i].name;
    const bool matrix_or_embedding = flat[i].dim() == 2;
    EXPECT_EQ(decayed.count(flat[i].unsafeGetTensorImpl()), matrix_or_embedding ? 1u : 0u) << name;
    EXPECT_EQ(undecayed.count(flat[i].unsafeGetTensorImpl()), matrix_or_embedding ? 0u : 1u) << name;
  }
  EXPECT_EQ(options(o, 0).weight_decay(), 0.05);
  EXPECT_EQ(options(o, 0).lr(), 3e-5);
  EXPECT_EQ(options(o, 1).weight_decay(), 0.0);
  EXPECT_EQ(options(o, 1).lr(), 3e-5);
  // The rates: their own learning rate (1e-2 in log space by default), never decayed.
  ASSERT_EQ(o.adamw->param_groups()[2].params().size(), 1u);
  EXPECT_TRUE(o.adamw->param_groups()[2].params()[0].is_same(m.lrs.values));
  EXPECT_EQ(options(o, 2).weight_decay(), 0.0);
  EXPECT_EQ(options(o, 2).lr(), 1e-2);
  EXPECT_EQ(o.params.size(), flat.size() + 1);
  // The schedule scales every group alike.
  o.set_lr_factor(0.5);
  EXPECT_EQ(options(o, 0).lr(), 1.5e-5);
  EXPECT_EQ(options(o, 2).lr(), 5e-3);
  c.outer_lr_rates = 2e-3;
  EXPECT_EQ(options(outer_optimizer_for(m, c), 2).lr(), 2e-3);
}

TEST(OuterOptimizer, StaticRatesAreNotOptimised) {
  ReckoningModel m = tiny_model(LrMode::Static);
  OuterOptimizer o = outer_optimizer_for(m, RunConfig{});
  EXPECT_EQ(o.adamw->param_groups().size(), 2u);
  EXPECT_EQ(o.base_lrs.size(), 2u);
}
