// LoRA adapters on GPT-2 (float64): fresh adapters leave the outputs unchanged, merged equals
// unmerged, PEFT files round-trip and name what is wrong, target lists parse with clear errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/decoder.h"
#include "reckoning/model/lora.h"
#include "support/tiny_meta.h"

using namespace reckoning;
using namespace reckoning::test;
using testing::HasSubstr;
using testing::ThrowsMessage;

namespace {

torch::Tensor logits(const DecoderWeights& w) {
  const LmBatch b = tiny_facts();
  return decoder_forward(tiny_config(), w, b.ids, b.attn_mask, /*dropout=*/false);
}

// Adapters with nonzero a and b on `targets`.
DecoderWeights with_random_adapters(const std::string& targets, int64_t rank = 3) {
  DecoderWeights w = gpt2_init(tiny_config(), 4, torch::kFloat64);
  LoraConfig lora;
  lora.rank = rank;
  lora.alpha = 5;
  lora.targets = lora_targets_parse(targets, "test");
  lora_attach(w, lora, 8);
  torch::manual_seed(21);
  lora_visit(w, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t) * 0.3; });
  return w;
}

std::string temp_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string();
}

}  // namespace

TEST(Lora, FreshAdaptersLeaveTheModelsOutputsUnchanged) {
  DecoderWeights w = gpt2_init(tiny_config(), 4, torch::kFloat64);
  const torch::Tensor before = logits(w);
  LoraConfig lora;
  lora.targets = lora_targets_parse("all", "test");
  lora_attach(w, lora, 1);
  ASSERT_TRUE(lora_present(w));
  // 2 layers x 4 modules x (a, b)
  EXPECT_EQ(lora_flatten(w).size(), 16u);
  EXPECT_TRUE(torch::equal(logits(w), before));
  // a is drawn (Kaiming-uniform, within 1/sqrt(in)), b is zero.
  const LoraPair& qkv = w.gpt2().h[0].attn_c_attn_lora;
  EXPECT_GT(qkv.a.abs().max().item<double>(), 0);
  EXPECT_LE(qkv.a.abs().max().item<double>(), 1.0 / std::sqrt(8.0));
  EXPECT_EQ(qkv.b.abs().max().item<double>(), 0);
  EXPECT_EQ(qkv.a.sizes(), (std::vector<int64_t>{8, 8}));   // (rank, in)
  EXPECT_EQ(qkv.b.sizes(), (std::vector<int64_t>{24, 8}));  // (out = 3C, rank)
}

TEST(Lora, MergedEqualsUnmergedAndAdaptersChangeTheOutputs) {
  for (const std::string targets : {"all", "c_attn", "mlp.c_fc,attn.c_proj", "c_proj"}) {
    const DecoderWeights w = with_random_adapters(targets);
    const DecoderWeights merged = lora_merge(w);
    EXPECT_FALSE(lora_present(merged));
    const torch::Tensor unmerged_logits = logits(w), merged_logits = logits(merged);
    EXPECT_LT((unmerged_logits - merged_logits).abs().max().item<double>(), 1e-12) << targets;
    DecoderWeights plain = w;
    for (Gpt2BlockWeights& b : plain.gpt2().h) b.attn_c_attn_lora = b.attn_c_proj_lora = b.mlp_c_fc_lora = b.mlp_c_proj_lora = {};
    EXPECT_GT((unmerged_logits - logits(plain)).abs().max().item<double>(), 1e-3) << targets;
  }
}

TEST(Lora, TheUpdateIsScaledByAlphaOverRank) {
  DecoderWeights w = with_random_adapters("c_attn", 2);
  EXPECT_DOUBLE_EQ(w.lora_scale(), 2.5);
  const torch::Tensor w0 = w.gpt2().h[1].attn_c_attn_weight;
  const LoraPair& p = w.gpt2().h[1].attn_c_attn_lora;
  const torch::Tensor expected = w0 + 2.5 * torch::matmul(p.a.t(), p.b.t());
  EXPECT_LT((lora_merge(w).gpt2().h[1].attn_c_attn_weight - expected).abs().max().item<double>(), 1e-14);
  EXPECT_EQ(lora_config_of(w).alpha, 5);
  EXPECT_EQ(lora_config_of(w).rank, 2);
  EXPECT_EQ(lora_config_of(w).targets, std::vector<std::string>{"attn.c_attn"});
}

TEST(Lora, PeftFilesRoundTripAndNameWhatIsWrong) {
  const std::string dir = temp_dir("reckoning_lora_peft");
  remove_tree(dir);
  const DecoderWeights w = with_random_adapters("attn.c_attn,mlp.c_proj");
  lora_save_peft(w, dir, "gpt2");
  const nlohmann::json config = read_json_file(path_join(dir, "adapter_config.json"));
  EXPECT_EQ(config.at("peft_type"), "LORA");
  EXPECT_EQ(config.at("r"), 3);
  EXPECT_EQ(config.at("fan_in_fan_out"), true);
  EXPECT_EQ(config.at("target_modules"), nlohmann::json({"attn.c_attn", "mlp.c_proj"}));
  const Safetensors file = safetensors_load(path_join(dir, "adapter_model.safetensors"));
  ASSERT_NE(file.find("base_model.model.transformer.h.1.mlp.c_proj.lora_B.weight"), nullptr);
  EXPECT_EQ(file.tensors.size(), 8u);

  DecoderWeights loaded = gpt2_init(tiny_config(), 4, torch::kFloat64);
  lora_load_peft(loaded, dir);
  EXPECT_EQ(loaded.lora_scale(), w.lora_scale());
  const std::vector<torch::Tensor> a = lora_flatten(w), b = lora_flatten(loaded);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_LT((a[i] - b[i]).abs().max().item<double>(), 1e-6);  // stored float32

  // A base of another width: the tensor and both shapes are named.
  Gpt2Config wide = tiny_config();
  wide.n_embd = 16;
  DecoderWeights other = gpt2_init(wide, 4, torch::kFloat64);
  EXPECT_THAT([&] { lora_load_peft(other, dir); },
              ThrowsMessage<Error>(HasSubstr("tensor 'base_model.model.transformer.h.0.attn.c_attn.lora_A.weight'")));
  // A configuration naming a module that is not there.
  nlohmann::json bad = config;
  bad["target_modules"] = {"attn.c_attn", "mlp.c_proj", "lm_head"};
  write_json_file_atomic(path_join(dir, "adapter_config.json"), bad);
  EXPECT_THAT([&] { lora_load_peft(loaded, dir); }, ThrowsMessage<Error>(HasSubstr("'lm_head'")));
  remove_tree(dir);
}

TEST(Lora, TargetListsParseOrRefuseClearly) {
  EXPECT_EQ(lora_targets_parse("c_proj", "k"), (std::vector<std::string>{"attn.c_proj", "mlp.c_proj"}));
  EXPECT_EQ(lora_targets_parse("mlp.c_fc, attn.c_attn", "k"), (std::vector<std::string>{"attn.c_attn", "mlp.c_fc"}));
  EXPECT_EQ(lora_targets_parse("all", "k").size(), 11u);  // GPT-2's 4 and the Llama family's 7
  EXPECT_THAT([] { lora_targets_parse("q_prj", "configuration key 'inner.lora_targets'"); },
              ThrowsMessage<Error>(HasSubstr("configuration key 'inner.lora_targets': expected modules among")));
  EXPECT_THAT([] { lora_targets_parse(" , ", "k"); }, ThrowsMessage<Error>(HasSubstr("at least one module")));
  LoraConfig bad;
  bad.rank = 0;
  EXPECT_THAT([&] { lora_config_check(bad, "LoRA"); }, ThrowsMessage<Error>(HasSubstr("LoRA: rank")));
}
