// The Llama-family forward pass and checkpoint loader against golden numbers from an independent
// reference (scripts/golden/make_llama_golden.py: transformers' Llama / Mistral / Qwen 2 / Qwen 3
// math in plain PyTorch, float64) on random checkpoints written in the Hugging Face layout: one per
// family switch (GQA, llama3 / linear / dynamic rope scaling, attention and MLP biases, BF16 and
// F16 weights, shards, Mistral's sliding window, Qwen 2's biases and tied head, Qwen 3's q/k norms
// and head_dim). Checked: logits at real positions of a left-padded batch (float64 1e-10, float32
// 1e-4), greedy generation with the KV cache equal to the reference's continuation, save -> load
// round trips, the second-order finite-difference check through a tiny model, and loader errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/model/generate.h"
#include "reckoning/model/llama.h"
#include "reckoning/model/llama_checkpoint.h"
#include "support/test_util.h"

using namespace reckoning;
using testing::HasSubstr;

namespace {

const std::string kGolden = std::string(RECKONING_SOURCE_DIR) + "/tests/golden/llama/";
const std::vector<std::string> kVariants = {"llama_gqa",      "llama_bias_bf16", "llama_dynamic",
                                            "mistral_window", "qwen2_tied",      "qwen3_qknorm"};

double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Greedy continuation of `prompt` by `n` tokens through the pipeline's generation (generate.h:
// the family-agnostic decoder, KV cache, one position per step), EOS an ordinary token.
std::vector<int64_t> greedy(const LlamaModel& m, const std::vector<int64_t>& prompt, int n) {
  GenerateOptions o;
  o.max_new_tokens = n;
  o.eos_id = 0;
  o.stop_at_eos = false;
  return decoder_generate(m.config, m.weights, {prompt}, o)[0];
}

}  // namespace

class LlamaGolden : public testing::TestWithParam<std::string> {};

TEST_P(LlamaGolden, LogitsEqualTheReference) {
  const std::string dir = kGolden + GetParam();
  const auto expected = test::tensors_by_name(dir + "/expected.safetensors");
  const torch::Tensor ids = expected.at("ids"), mask = expected.at("mask");
  const torch::Tensor real = mask.to(torch::kBool);
  for (auto [dtype, tolerance] : {std::pair{torch::kFloat64, 1e-10}, std::pair{torch::kFloat32, 1e-4}}) {
    const LlamaModel m = llama_load_dir(dir, dtype);
    const torch::Tensor logits = llama_forward(m.config, m.weights, ids, mask, false);
    ASSERT_EQ(logits.scalar_type(), dtype);
    ASSERT_EQ(logits.sizes(), expected.at("logits_f64").sizes());
    EXPECT_LT(max_abs_diff(logits.index({real}), expected.at("logits_f64").index({real})), tolerance)
        << GetParam() << " " << c10::toString(dtype);
  }
}

TEST_P(LlamaGolden, GreedyGenerationWithTheCacheEqualsTheReference) {
  const std::string dir = kGolden + GetParam();
  const auto expected = test::tensors_by_name(dir + "/expected.safetensors");
  const LlamaModel m = llama_load_dir(dir, torch::kFloat64);
  std::vector<int64_t> prompt;
  for (int64_t t = 0; t < expected.at("ids").size(1); ++t)
    if (expected.at("mask")[0][t].item<int64_t>() != 0) prompt.push_back(expected.at("ids")[0][t].item<int64_t>());
  const torch::Tensor want = expected.at("greedy");
  const std::vector<int64_t> got = greedy(m, prompt, static_cast<int>(want.numel()));
  EXPECT_EQ(got, std::vector<int64_t>(want.data_ptr<int64_t>(), want.data_ptr<int64_t>() + want.numel())) << GetParam();
}

TEST_P(LlamaGolden, SaveAndLoadRoundTrip) {
  const LlamaModel m = llama_load_dir(kGolden + GetParam(), torch::kFloat32);
  test::TempDir out("llama_round_trip");
  llama_save_dir(m, out.path());
  const LlamaModel again = llama_load_dir(out.path(), torch::kFloat32);
  EXPECT_EQ(llama_config_to_json(again.config), llama_config_to_json([&] {
              LlamaConfig c = m.config;
              c.torch_dtype = "float32";
              return c;
            }()));
  std::vector<torch::Tensor> a, b;
  llama_visit(m.weights, [&](const std::string&, const torch::Tensor& t) { a.push_back(t); });
  llama_visit(again.weights, [&](const std::string&, const torch::Tensor& t) { b.push_back(t); });
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
  EXPECT_FALSE(file_exists(out.file("model.safetensors.index.json")));
}

INSTANTIATE_TEST_SUITE_P(Variants, LlamaGolden, testing::ValuesIn(kVariants),
                         [](const testing::TestParamInfo<std::string>& info) { return info.param; });

TEST(Llama, PaddingDoesNotChangeRealPositions) {
  // A sequence alone gives the same logits as inside a left-padded batch (positions count real tokens).
  const LlamaModel m = llama_load_dir(kGolden + "qwen3_qknorm", torch::kFloat64);
  const torch::Tensor alone = llama_forward(m.config, m.weights, torch::tensor({{5, 9, 3}}), torch::Tensor(), false);
  const torch::Tensor padded = llama_forward(m.config, m.weights, torch::tensor({{0, 0, 5, 9, 3}}),
                                             torch::tensor({{0, 0, 1, 1, 1}}), false);
  EXPECT_LT(max_abs_diff(alone[0], padded[0].slice(0, 2)), 1e-12);
}

TEST(Llama, SecondOrderGradientsMatchFiniteDifferences) {
  // The inner loop differentiates through a gradient: check d/dw <g(w), u> against central
  // differences of <g(w), u> for g = the gradient of the loss, through every family switch.
  for (const std::string& variant : {"qwen3_qknorm", "qwen2_tied", "mistral_window", "llama_bias_bf16"}) {
    LlamaModel m = llama_load_dir(kGolden + variant, torch::kFloat64);
    std::vector<torch::Tensor> params;
    llama_visit(m.weights, [&](const std::string&, torch::Tensor& t) {
      t = t.clone().requires_grad_(true);
      params.push_back(t);
    });
    const torch::Tensor ids = torch::tensor({{3, 7, 1, 4, 9, 2}});
    const torch::Tensor targets = torch::tensor({7, 1, 4, 9, 2});
    torch::manual_seed(3);
    std::vector<torch::Tensor> u;
    for (const torch::Tensor& p : params) u.push_back(torch::randn_like(p));
    auto directional = [&](const LlamaWeights& w, bool create_graph) {
      const torch::Tensor logits = llama_forward(m.config, w, ids, torch::Tensor(), false)[0].slice(0, 0, 5);
      const torch::Tensor loss = torch::nn::functional::cross_entropy(logits, targets);
      std::vector<torch::Tensor> ps;
      llama_visit(w, [&](const std::string&, const torch::Tensor& t) { ps.push_back(t); });
      const auto g = torch::autograd::grad({loss}, ps, {}, /*retain_graph=*/true, create_graph);
      torch::Tensor s = torch::zeros({}, torch::kFloat64);
      for (size_t i = 0; i < g.size(); ++i) s = s + (g[i] * u[i]).sum();
      return s;
    };
    const torch::Tensor s = directional(m.weights, true);
    const auto hvp = torch::autograd::grad({s}, params);  // H u
    // Finite differences along a second direction e: (<g(w + h e), u> - <g(w - h e), u>) / 2h = e^T H u.
    std::vector<torch::Tensor> e;
    for (const torch::Tensor& p : params) e.push_back(torch::randn_like(p));
    const double h = 1e-5;
    auto shifted = [&](double sign) {
      LlamaWeights w = m.weights;
      size_t i = 0;
      llama_visit(w, [&](const std::string&, torch::Tensor& t) {
        t = (params[i] + sign * h * e[i]).detach().requires_grad_(true);
        ++i;
      });
      return directional(w, false).item<double>();
    };
    const double fd = (shifted(1) - shifted(-1)) / (2 * h);
    double analytic = 0;
    for (size_t i = 0; i < e.size(); ++i) analytic += (hvp[i] * e[i]).sum().item<double>();
    EXPECT_NEAR(analytic, fd, 1e-6 * std::max(1.0, std::abs(fd))) << variant;
  }
}

TEST(Llama, LoaderErrorsNameTheFileAndTensor) {
  test::TempDir dir("llama_errors");
  const LlamaModel m = llama_load_dir(kGolden + "llama_gqa", torch::kFloat32);
  llama_save_dir(m, dir.path());
  // A misshapen tensor.
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  llama_visit(m.weights, [&](const std::string& name, const torch::Tensor& t) { tensors.emplace_back(name, t); });
  auto with = [&](const std::function<void(std::vector<std::pair<std::string, torch::Tensor>>&)>& edit) {
    auto copy = tensors;
    edit(copy);
    safetensors_save(dir.file("model.safetensors"), copy, {{"format", "pt"}});
    return error_of([&] { llama_load_dir(dir.path()); });
  };
  EXPECT_THAT(with([](auto& t) { t[1].second = t[1].second.narrow(0, 0, 3); }),
              HasSubstr("model.safetensors: tensor 'model.layers.0.input_layernorm.weight': expected shape (16), got (3)"));
  EXPECT_THAT(with([](auto& t) { t.erase(t.begin() + 2); }),
              HasSubstr("tensor 'model.layers.0.self_attn.q_proj.weight': expected it (shape (16, 16)), got none"));
  EXPECT_THAT(with([](auto& t) { t.emplace_back("model.layers.0.extra.weight", torch::zeros({2})); }),
              HasSubstr("tensor 'model.layers.0.extra.weight': expected only the tensors of the configured model"));
  // A config this family does not read.
  nlohmann::json config = read_json_file(dir.file("config.json"));
  config["hidden_act"] = "gelu";
  write_json_file_atomic(dir.file("config.json"), config);
  EXPECT_THAT(error_of([&] { llama_load_dir(dir.path()); }), HasSubstr("config.json: field 'hidden_act': expected \"silu\""));
  EXPECT_THAT(error_of([&] { llama_load_dir(dir.path()); }), HasSubstr("got \"gelu\""));
  // No hidden_act at all means SiLU (transformers' default); the message for a wrong one was built
  // from the absent field before (found by fuzz/hf_config_fuzz.cpp, fuzz/regressions/hf_config/).
  config.erase("hidden_act");
  EXPECT_EQ(llama_config_from_json(config, "config.json").hidden_size, 16);
  config["hidden_act"] = "silu";
  config["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  write_json_file_atomic(dir.file("config.json"), config);
  EXPECT_THAT(error_of([&] { llama_load_dir(dir.path()); }),
              HasSubstr("field 'rope_scaling'.rope_type: expected default, linear, dynamic or llama3"));
}

TEST(Llama, InitWritesARandomModelOfAnyFamily) {
  test::TempDir dir("llama_init");
  dir.write("corpus.txt", "B K daughter\nK M son\n");
  for (const std::string& arch : {"llama", "qwen2", "qwen3", "mistral"}) {
    dir.write("config.json", nlohmann::json({{"hidden_size", 32}, {"intermediate_size", 48}, {"num_hidden_layers", 2},
                                             {"num_attention_heads", 4}, {"num_key_value_heads", 2}})
                                 .dump());
    const std::string out = dir.file(arch);
    const auto r = test::run_cli("init --arch " + arch + " --config " + dir.file("config.json") + " --corpus " +
                                 dir.file("corpus.txt") + " --seed 3 --out " + out);
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_THAT(r.out, HasSubstr("initialised " + out + ": " + arch));
    EXPECT_EQ(checkpoint_model_type(out), arch);
    const LlamaModel m = llama_load_dir(out);
    EXPECT_EQ(m.config.num_key_value_heads, 2);
    EXPECT_EQ(m.config.qk_norm, arch == "qwen3");
    EXPECT_EQ(m.weights.layers[0].q_bias.defined(), arch == "qwen2");
    const torch::Tensor logits = llama_forward(m.config, m.weights, torch::tensor({{1, 2, 3}}), torch::Tensor(), false);
    EXPECT_EQ(logits.size(2), m.config.vocab_size);
    EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
  }
  // --arch and the file's model_type must agree.
  dir.write("config.json", nlohmann::json({{"model_type", "qwen2"}, {"hidden_size", 32}, {"intermediate_size", 48},
                                           {"num_hidden_layers", 1}, {"num_attention_heads", 4}})
                               .dump());
  const auto r = test::run_cli("init --arch llama --config " + dir.file("config.json") + " --corpus " +
                               dir.file("corpus.txt") + " --out " + dir.file("x"));
  EXPECT_NE(r.code, 0);
  EXPECT_THAT(r.out, HasSubstr("field 'model_type': expected 'llama' as --arch says, got 'qwen2'"));
}
