// The Llama family through the family-agnostic pipeline (decoder.h): for llama (with q/k/v/o and
// MLP biases), mistral (sliding window), qwen2 (q/k/v biases, tied head) and qwen3 (q/k norms), in
// float64 - the meta-gradient of a second-order inner loop with learned per-layer rates equals
// central finite differences of the whole unrolled procedure, for the base weights and for the rate
// table; the rate groups are embeddings, each decoder layer and the final norm; LoRA adapters on
// q/k/v/o/gate/up/down leave fresh logits unchanged, merge exactly, meta-learn (finite differences
// again) and round-trip through PEFT's files under PEFT's names.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/model/decoder.h"
#include "reckoning/model/lora.h"
#include "support/test_util.h"
#include "support/tiny_meta.h"

using namespace reckoning;
using namespace reckoning::test;
using testing::HasSubstr;

namespace {

// A 2-layer, 8-wide model of `type` with 2 query heads sharing 1 key/value head, float64, every
// tensor a leaf that requires grad; sized for tiny_facts / tiny_question (13 tokens).
DecoderConfig tiny_family(const std::string& type) {
  LlamaConfig c = llama_config_for(type, 2, 8, 2, 1, 12, 13, 16);
  if (type == "llama") c.attention_bias = c.mlp_bias = true;
  if (type == "mistral") c.sliding_window = 3;
  return c;
}

DecoderWeights leaves(const DecoderWeights& w) {
  return decoder_map(w, [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); });
}

struct Problem {
  DecoderConfig config;
  DecoderWeights base;
  InnerLrs lrs;
  InnerLoopConfig inner;
  LmBatch facts = tiny_facts(), question = tiny_question();

  Problem(const std::string& type, bool lora) : config(tiny_family(type)) {
    base = decoder_init(config, 5, torch::kFloat64);
    // Adam's g / (sqrt(v) + eps) curves by ~1/eps^2 where a gradient element is near 0: a larger eps
    // keeps the finite differences below accurate to 1e-6 (they converge to the gradient as h -> 0).
    inner.eps = 1e-2;
    if (lora) {
      attach_test_adapters(base);  // trained-looking adapters: b != 0
      inner.adapt = "lora";
    }
    base = leaves(base);
    lrs = inner_lrs_init(inner_rate_specs(config, inner, base), config.n_layer(), LrMode::PerLayer, 2, 0.01, false,
                         torch::kFloat64);
  }

  // The tensors the meta-gradient is taken for: the base weights (or the adapters), then the rates.
  std::vector<torch::Tensor> params(const DecoderWeights& w, const InnerLrs& r) const {
    std::vector<torch::Tensor> p = inner_adapts_lora(inner) ? lora_flatten(w) : decoder_flatten(w);
    p.push_back(r.values);
    return p;
  }

  torch::Tensor outer_loss(const DecoderWeights& w, const InnerLrs& r) const {
    const InnerResult adapted = inner_loop(config, w, r, inner, facts, InnerMode::SecondOrder, false);
    return masked_lm_loss(config, adapted.weights, question, false);
  }

  // The loss with every meta-parameter moved by eps * its direction (no graph).
  double loss_at(const std::vector<torch::Tensor>& dir, double eps) const {
    std::vector<torch::Tensor> p = params(base, lrs);
    for (size_t i = 0; i < p.size(); ++i) p[i] = (p[i].detach() + eps * dir[i]).requires_grad_(true);
    const std::vector<torch::Tensor> weights(p.begin(), p.end() - 1);
    const DecoderWeights w = inner_adapts_lora(inner) ? lora_with(base, weights) : decoder_with(base, weights);
    InnerLrs r = lrs;
    r.values = p.back();
    return outer_loss(w, r).item<double>();
  }
};

class Family : public testing::TestWithParam<std::string> {};

void expect_meta_gradient_matches_finite_differences(const Problem& p, const std::string& what) {
  const std::vector<torch::Tensor> params = p.params(p.base, p.lrs);
  const auto grads = torch::autograd::grad({p.outer_loss(p.base, p.lrs)}, params);
  torch::manual_seed(21);
  std::vector<torch::Tensor> dir;
  for (const torch::Tensor& t : params) dir.push_back(torch::randn_like(t));
  // The rates alone, then everything: d/de L(theta + e d) at 0.
  for (const bool rates_only : {true, false}) {
    std::vector<torch::Tensor> d = dir;
    if (rates_only) {
      for (size_t i = 0; i + 1 < d.size(); ++i) d[i] = torch::zeros_like(d[i]);
    }
    double analytic = 0;
    for (size_t i = 0; i < d.size(); ++i) analytic += (grads[i] * d[i]).sum().item<double>();
    // Central differences at h and h/2 combined (Richardson): the h^2 error term cancels.
    const double h = 1e-5;
    const double fd = (8 * (p.loss_at(d, h / 2) - p.loss_at(d, -h / 2)) - (p.loss_at(d, h) - p.loss_at(d, -h))) / (6 * h);
    EXPECT_NEAR(analytic, fd, 1e-6 * std::max(1.0, std::abs(fd))) << what << (rates_only ? " rates" : " all");
    EXPECT_NE(analytic, 0.0) << what;
  }
}

}  // namespace

TEST_P(Family, MetaGradientThroughTheInnerLoopMatchesFiniteDifferences) {
  expect_meta_gradient_matches_finite_differences(Problem(GetParam(), false), GetParam());
}

TEST_P(Family, LoraMetaGradientMatchesFiniteDifferences) {
  expect_meta_gradient_matches_finite_differences(Problem(GetParam(), true), GetParam() + " lora");
}

TEST_P(Family, RateGroupsAreEmbeddingsLayersAndFinalNorm) {
  const Problem p(GetParam(), false);
  EXPECT_EQ(p.lrs.group_names, (std::vector<std::string>{"embeddings", "layers.0", "layers.1", "final"}))
      << testing::PrintToString(p.lrs.group_names);
  EXPECT_EQ(p.lrs.values.size(0), 4);
}

TEST_P(Family, LoraAdaptersLeaveFreshLogitsAndMergeExactly) {
  const DecoderConfig config = tiny_family(GetParam());
  const DecoderWeights plain = decoder_init(config, 5, torch::kFloat64);
  const LmBatch q = tiny_question();
  DecoderWeights adapted = plain;
  LoraConfig lora;
  lora.rank = 2;
  lora_attach(adapted, lora, 3);
  EXPECT_EQ(lora_config_of(adapted).targets,
            (std::vector<std::string>{"self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj",
                                      "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"}));
  const torch::Tensor before = decoder_forward(config, plain, q.ids, q.attn_mask, false);
  EXPECT_TRUE(torch::equal(decoder_forward(config, adapted, q.ids, q.attn_mask, false), before));
  torch::manual_seed(8);
  lora_visit(adapted, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t) * 0.3; });
  const torch::Tensor with = decoder_forward(config, adapted, q.ids, q.attn_mask, false);
  EXPECT_GT((with - before).abs().max().item<double>(), 1e-3);
  const DecoderWeights merged = lora_merge(adapted);
  EXPECT_FALSE(lora_present(merged));
  EXPECT_LT((decoder_forward(config, merged, q.ids, q.attn_mask, false) - with).abs().max().item<double>(), 1e-12);
}

TEST_P(Family, LoraPeftFilesRoundTripUnderPeftNames) {
  const DecoderConfig config = tiny_family(GetParam());
  DecoderWeights w = decoder_init(config, 5);
  LoraConfig lora;
  lora.rank = 2;
  lora.targets = lora_targets_parse("q_proj,v_proj,down_proj", "test");
  lora_attach(w, lora, 3);
  torch::manual_seed(9);
  lora_visit(w, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t); });
  TempDir dir("family_peft");
  lora_save_peft(w, dir.path());
  const nlohmann::json cfg = read_json_file(dir.file("adapter_config.json"));
  EXPECT_EQ(cfg.at("fan_in_fan_out"), false);
  EXPECT_EQ(cfg.at("target_modules"),
            nlohmann::json({"self_attn.q_proj", "self_attn.v_proj", "mlp.down_proj"}));
  const Safetensors file = safetensors_load(dir.file("adapter_model.safetensors"));
  ASSERT_NE(file.find("base_model.model.model.layers.1.mlp.down_proj.lora_B.weight"), nullptr);
  EXPECT_EQ(file.find("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight")->sizes(),
            (std::vector<int64_t>{2, 8}));
  EXPECT_EQ(file.tensors.size(), 2u * 2u * 3u);
  DecoderWeights back = decoder_init(config, 5);
  lora_load_peft(back, dir.path());
  const std::vector<torch::Tensor> a = lora_flatten(w), b = lora_flatten(back);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  EXPECT_DOUBLE_EQ(back.lora_scale(), w.lora_scale());
  // A GPT-2 model refuses Llama-family adapters, naming the key.
  DecoderWeights gpt2 = gpt2_init(tiny_config(), 1);
  EXPECT_THAT([&] { lora_load_peft(gpt2, dir.path()); }, testing::ThrowsMessage<Error>(HasSubstr("fan_in_fan_out")));
}

INSTANTIATE_TEST_SUITE_P(Types, Family, testing::Values("llama", "mistral", "qwen2", "qwen3"),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(FamilyTargets, ListsNameModulesOfTheModelsFamily) {
  EXPECT_EQ(lora_targets_parse("c_proj", "t"), (std::vector<std::string>{"attn.c_proj", "mlp.c_proj"}));
  EXPECT_EQ(lora_targets_parse("gate_proj,q_proj", "t"),
            (std::vector<std::string>{"self_attn.q_proj", "mlp.gate_proj"}));
  EXPECT_EQ(lora_targets_parse("all", "t").size(), 11u);
  LoraConfig gpt2_only;
  gpt2_only.targets = lora_targets_parse("c_attn", "t");
  EXPECT_THAT([&] { lora_targets_for(gpt2_only, tiny_family("qwen2"), "inner.lora_targets"); },
              testing::ThrowsMessage<Error>(HasSubstr("modules of a qwen2 model")));
  EXPECT_THAT([&] { lora_targets_parse("q_prj", "inner.lora_targets"); },
              testing::ThrowsMessage<Error>(HasSubstr("'q_prj'")));
}
