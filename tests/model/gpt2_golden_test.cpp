// GPT-2 forward and backward against golden numbers from an independent reference
// (scripts/golden/make_gpt2_golden.py: Hugging Face GPT2LMHeadModel's math in plain PyTorch,
// float64). The golden model is a random 2-layer GPT-2 in Hugging Face checkpoint layout
// (`transformer.` prefix, attn.bias mask buffers); inputs are right-padded.
//
// Checked: logits at real positions, the mean next-token cross-entropy and its gradient w.r.t.
// every weight, in float32 (1e-5) and float64 (1e-10). Padded positions are not compared: the
// reference uses HF's default position ids there (arange), reckoning repeats the last real one.
#include <gtest/gtest.h>

#include "reckoning/model/gpt2.h"
#include "support/test_util.h"

using namespace reckoning;

namespace {

const std::string kGoldenDir = std::string(RECKONING_SOURCE_DIR) + "/tests/golden/gpt2/";

struct Golden {
  Gpt2Config config;
  std::map<std::string, torch::Tensor> model;
  std::map<std::string, torch::Tensor> expected;
};

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    out.config = gpt2_config_load(kGoldenDir + "config.json");
    out.model = test::tensors_by_name(kGoldenDir + "model.safetensors");
    out.expected = test::tensors_by_name(kGoldenDir + "expected.safetensors");
    return out;
  }();
  return g;
}

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

void check_against_golden(torch::Dtype dtype, double tolerance) {
  const Golden& g = golden();
  Gpt2Weights w = gpt2_map(gpt2_weights_from_tensors(g.config, safetensors_load(kGoldenDir + "model.safetensors"), "golden model", torch::kFloat64),
                           [&](const torch::Tensor& t) { return t.to(dtype).requires_grad_(true); });
  const torch::Tensor ids = g.expected.at("input_ids");
  const torch::Tensor mask = g.expected.at("attention_mask");
  torch::Tensor logits = gpt2_forward(g.config, w, ids, mask, /*dropout=*/false);  // (B, T, V)
  ASSERT_EQ(logits.scalar_type(), dtype);
  ASSERT_EQ(logits.sizes(), g.expected.at("logits").sizes());

  torch::Tensor real = mask.to(torch::kBool);  // (B, T)
  EXPECT_LT(max_abs_diff(logits.index({real}), g.expected.at("logits").index({real})), tolerance);

  torch::Tensor loss = test::next_token_loss(logits, ids, mask);
  EXPECT_NEAR(loss.item<double>(), g.expected.at("loss").item<double>(), tolerance);

  std::vector<torch::Tensor> weights = gpt2_flatten(w);
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, weights);
  std::vector<WeightSpec> specs = gpt2_weight_specs(g.config);
  ASSERT_EQ(grads.size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const torch::Tensor& expected = g.expected.at("grad." + specs[i].name);
    ASSERT_EQ(grads[i].sizes(), expected.sizes()) << specs[i].name;
    EXPECT_LT(max_abs_diff(grads[i], expected), tolerance) << "gradient of " << specs[i].name;
  }
}

}  // namespace

TEST(Gpt2Golden, FileIsAHuggingFaceCheckpoint) {
  const Golden& g = golden();
  EXPECT_EQ(g.config.n_layer, 2);
  EXPECT_EQ(g.config.n_vocab, 50);
  EXPECT_TRUE(g.model.count("transformer.h.0.attn.bias"));
  EXPECT_TRUE(g.model.count("transformer.h.1.attn.masked_bias"));
  EXPECT_TRUE(g.model.count("transformer.wte.weight"));
  EXPECT_FALSE(g.model.count("lm_head.weight"));  // tied head: not stored
  // The inputs really are padded, and every gradient is informative (a zero gradient would make
  // its comparison vacuous).
  EXPECT_GT((g.expected.at("attention_mask") == 0).sum().item<int64_t>(), 0);
  for (const WeightSpec& s : gpt2_weight_specs(g.config)) {
    EXPECT_GT(g.expected.at("grad." + s.name).abs().max().item<double>(), 1e-4) << s.name;
  }
}

TEST(Gpt2Golden, Float32MatchesReference) { check_against_golden(torch::kFloat32, 1e-5); }

TEST(Gpt2Golden, Float64MatchesReference) { check_against_golden(torch::kFloat64, 1e-10); }

TEST(Gpt2Golden, WrongWeightIsDetected) {
  // The comparison can fail: perturbing one LayerNorm gain moves the logits beyond tolerance.
  const Golden& g = golden();
  Gpt2Weights w = gpt2_map(gpt2_weights_from_tensors(g.config, safetensors_load(kGoldenDir + "model.safetensors"), "golden model", torch::kFloat64),
                           [](const torch::Tensor& t) { return t.to(torch::kFloat64).clone(); });
  w.h[1].ln_2_weight[3] += 1e-3;
  const torch::Tensor mask = g.expected.at("attention_mask");
  torch::Tensor logits = gpt2_forward(g.config, w, g.expected.at("input_ids"), mask, false);
  torch::Tensor real = mask.to(torch::kBool);
  EXPECT_GT(max_abs_diff(logits.index({real}), g.expected.at("logits").index({real})), 1e-5);
}
