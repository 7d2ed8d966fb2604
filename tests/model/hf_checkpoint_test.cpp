// GPT-2 model directories: the golden Hugging Face layouts written by
// scripts/golden/make_checkpoints.py load with the exact expected values (prefix, mask buffers,
// tied lm_head, F16/BF16, sharded), every GPT-2 fact has a test, every wrong checkpoint gives an
// error naming the file and tensor, and save -> load is the identity.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include <unistd.h>

#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

const std::string kGolden = std::string(RECKONING_SOURCE_DIR) + "/tests/golden/checkpoints";

std::string golden(const std::string& name) { return kGolden + "/" + name; }

// expected.json: every weight in F32 under its canonical name.
std::map<std::string, torch::Tensor> expected_tensors() {
  nlohmann::json json = read_json_file(golden("expected.json"));
  std::map<std::string, torch::Tensor> out;
  for (auto it = json["tensors"].begin(); it != json["tensors"].end(); ++it) {
    std::vector<float> values;
    for (const auto& v : (*it)["values"]) values.push_back(static_cast<float>(v.get<double>()));
    std::vector<int64_t> shape = (*it)["shape"].get<std::vector<int64_t>>();
    out[it.key()] = torch::tensor(values).reshape(shape);
  }
  return out;
}

// Compares every weight with `expected` mapped by `fn` (identity, or rounding through F16/BF16).
template <class Fn>
void expect_weights(const Gpt2Weights& w, Fn&& fn) {
  const auto expected = expected_tensors();
  size_t n = 0;
  gpt2_visit(w, [&](const std::string& name, const torch::Tensor& t) {
    SCOPED_TRACE(name);
    ASSERT_EQ(expected.count(name), 1u);
    torch::Tensor e = fn(expected.at(name));
    EXPECT_EQ(t.scalar_type(), e.scalar_type());
    EXPECT_EQ(t.sizes(), e.sizes());
    EXPECT_TRUE(torch::equal(t, e));
    ++n;
  });
  EXPECT_EQ(n, expected.size());
}

torch::Tensor same(const torch::Tensor& t) { return t; }

class CheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() / str("reckoning_checkpoint_", ::getpid(), "_", info->name())).string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }

  // A copy of a golden directory whose model.safetensors is replaced by `tensors`.
  std::string dir_with(const std::vector<std::pair<std::string, torch::Tensor>>& tensors) {
    const std::string d = path_join(dir_, "model");
    fs::create_directories(d);
    fs::copy_file(golden("gpt2_bare/config.json"), path_join(d, "config.json"),
                  fs::copy_options::overwrite_existing);
    safetensors_save(path_join(d, "model.safetensors"), tensors, {{"format", "pt"}});
    return d;
  }

  // The golden bare tensors with `edit` applied (returning false drops the tensor).
  template <class Edit>
  std::vector<std::pair<std::string, torch::Tensor>> golden_tensors(Edit&& edit) {
    Safetensors loaded = safetensors_load(golden("gpt2_bare/model.safetensors"));
    std::vector<std::pair<std::string, torch::Tensor>> out;
    for (auto& [name, t] : loaded.tensors) {
      std::string n = name;
      torch::Tensor x = t;
      if (edit(n, x)) out.emplace_back(n, x);
    }
    return out;
  }

  template <class F>
  std::string error_of(F&& f) {
    try {
      f();
    } catch (const Error& e) {
      return e.what();
    }
    ADD_FAILURE() << "expected a reckoning::Error";
    return "";
  }

  std::string dir_;
};

}  // namespace

// ---- golden Hugging Face layouts ----------------------------------------------------------------

TEST_F(CheckpointTest, LoadsBareGpt2ModelLayoutWithMaskBuffers) {
  // The published `gpt2` layout: GPT2Model names, F32 attn.bias buffers, no lm_head.
  Gpt2Model m = gpt2_load_dir(golden("gpt2_bare"));
  EXPECT_EQ(m.config.n_layer, 2);
  EXPECT_EQ(m.config.n_embd, 8);
  EXPECT_EQ(m.config.n_vocab, 20);
  EXPECT_EQ(m.config.n_ctx, 8);
  expect_weights(m.weights, same);
  EXPECT_FALSE(m.weights.wte.requires_grad());
  EXPECT_TRUE(m.weights.h[1].mlp_c_fc_weight.is_contiguous());
}

TEST_F(CheckpointTest, LoadsGpt2LmHeadModelLayoutWithPrefixBoolMasksAndTiedHead) {
  // GPT2LMHeadModel: `transformer.` prefix, BOOL attn.bias, F32 masked_bias, lm_head == wte.
  Gpt2Model m = gpt2_load_dir(golden("gpt2_lmhead"));
  expect_weights(m.weights, same);
}

TEST_F(CheckpointTest, LoadsShardedCheckpoint) {
  Gpt2Model m = gpt2_load_dir(golden("gpt2_sharded"));
  expect_weights(m.weights, same);
  EXPECT_THAT(checkpoint_weights_path(golden("gpt2_sharded")), HasSubstr("model.safetensors.index.json"));
}

TEST_F(CheckpointTest, LoadsF16AndBf16ConvertedToRequestedDtype) {
  Gpt2Model f16 = gpt2_load_dir(golden("gpt2_f16"));
  expect_weights(f16.weights, [](const torch::Tensor& t) { return t.to(torch::kHalf).to(torch::kFloat); });
  Gpt2Model bf16 = gpt2_load_dir(golden("gpt2_bf16"), torch::kFloat64);
  expect_weights(bf16.weights, [](const torch::Tensor& t) { return t.to(torch::kBFloat16).to(torch::kFloat64); });
  // The rounding is real: BF16 values differ from the F32 originals.
  EXPECT_FALSE(torch::equal(bf16.weights.wte, expected_tensors().at("wte.weight").to(torch::kFloat64)));
}

TEST_F(CheckpointTest, LoadsF32AsFloat64Exactly) {
  Gpt2Model m = gpt2_load_dir(golden("gpt2_lmhead"), torch::kFloat64);
  expect_weights(m.weights, [](const torch::Tensor& t) { return t.to(torch::kFloat64); });
  EXPECT_THAT(error_of([&] { gpt2_load_dir(golden("gpt2_bare"), torch::kInt64); }),
              HasSubstr("expected a floating-point dtype"));
}

// ---- GPT-2 facts, one test each -----------------------------------------------------------------

TEST_F(CheckpointTest, Conv1DLayoutIsInOutAndTransposedWeightIsRefused) {
  Gpt2Model m = gpt2_load_dir(golden("gpt2_bare"));
  EXPECT_EQ(m.weights.h[0].attn_c_attn_weight.sizes(), (std::vector<int64_t>{8, 24}));  // [in, out]
  EXPECT_EQ(m.weights.h[0].mlp_c_proj_weight.sizes(), (std::vector<int64_t>{32, 8}));
  // A checkpoint in nn.Linear layout ([out, in]) is a different model: refused, not transposed.
  std::string d = dir_with(golden_tensors([](std::string& name, torch::Tensor& t) {
    if (name == "h.1.mlp.c_fc.weight") t = t.t().contiguous();
    return true;
  }));
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("model.safetensors: tensor 'h.1.mlp.c_fc.weight': expected shape [8, 32], got shape [32, 8]"));
}

TEST_F(CheckpointTest, PrefixIsOptionalButTwoCopiesOfAWeightAreRefused) {
  EXPECT_EQ(gpt2_strip_prefix("transformer.h.0.ln_1.weight"), "h.0.ln_1.weight");
  EXPECT_EQ(gpt2_strip_prefix("h.0.ln_1.weight"), "h.0.ln_1.weight");
  auto tensors = golden_tensors([](std::string&, torch::Tensor&) { return true; });
  tensors.emplace_back("transformer.wpe.weight", tensors[1].second.clone());
  std::string d = dir_with(tensors);
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("tensor 'transformer.wpe.weight': expected each weight once (with or without prefix), "
                        "got a second copy of 'wpe.weight'"));
}

TEST_F(CheckpointTest, MaskBuffersAreRecognisedByExactName) {
  EXPECT_EQ(gpt2_key_role("h.0.attn.bias"), Gpt2KeyRole::kMaskBuffer);
  EXPECT_EQ(gpt2_key_role("transformer.h.11.attn.masked_bias"), Gpt2KeyRole::kMaskBuffer);
  EXPECT_EQ(gpt2_key_role("h.0.attn.c_attn.bias"), Gpt2KeyRole::kWeight);  // a real weight
  EXPECT_EQ(gpt2_key_role("h.0.attn.c_proj.bias"), Gpt2KeyRole::kWeight);
  EXPECT_EQ(gpt2_key_role("lm_head.weight"), Gpt2KeyRole::kTiedHead);
  EXPECT_EQ(gpt2_key_role("wte.weight"), Gpt2KeyRole::kWeight);
  // Buffers of any dtype and shape are skipped without being interpreted.
  auto tensors = golden_tensors([](std::string&, torch::Tensor&) { return true; });
  tensors.emplace_back("transformer.h.1.attn.masked_bias", torch::tensor({1, 2, 3}, torch::kInt64));
  tensors.emplace_back("h.7.attn.bias", torch::ones({1, 1, 2, 2}, torch::kUInt8));
  EXPECT_NO_THROW(gpt2_load_dir(dir_with(tensors)));
}

TEST_F(CheckpointTest, LmHeadDifferentFromWteIsRefused) {
  auto tensors = golden_tensors([](std::string&, torch::Tensor&) { return true; });
  torch::Tensor head = tensors[0].second.clone();  // wte.weight
  head[3][4] += 1.0f;
  tensors.emplace_back("lm_head.weight", head);
  EXPECT_THAT(error_of([&] { gpt2_load_dir(dir_with(tensors)); }),
              HasSubstr("tensor 'lm_head.weight': expected values equal to wte.weight (the output head is "
                        "tied), got different values"));
  tensors.back().second = torch::zeros({20, 4});
  EXPECT_THAT(error_of([&] { gpt2_load_dir(dir_with(tensors)); }),
              HasSubstr("tensor 'lm_head.weight': expected shape [20, 8] (tied to wte.weight), got shape [20, 4]"));
}

TEST_F(CheckpointTest, UnexpectedTensorsAreNamed) {
  auto tensors = golden_tensors([](std::string&, torch::Tensor&) { return true; });
  tensors.emplace_back("h.0.attn.rotary", torch::ones({2}));
  tensors.emplace_back("score.weight", torch::ones({2}));
  std::string msg = error_of([&] { gpt2_load_dir(dir_with(tensors)); });
  EXPECT_THAT(msg, HasSubstr("model.safetensors: expected only GPT-2 weights for n_layer = 2"));
  EXPECT_THAT(msg, HasSubstr("got unexpected tensor 'h.0.attn.rotary', 'score.weight'"));
}

TEST_F(CheckpointTest, ConfigWithFewerLayersThanFileNamesTheExtraBlock) {
  std::string d = dir_with(golden_tensors([](std::string&, torch::Tensor&) { return true; }));
  nlohmann::json config = read_json_file(path_join(d, "config.json"));
  config["n_layer"] = 1;
  write_json_file_atomic(path_join(d, "config.json"), config);
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("got unexpected tensor 'h.1.attn.c_attn.bias', 'h.1.attn.c_attn.weight'"));
}

TEST_F(CheckpointTest, MissingTensorIsNamed) {
  std::string d = dir_with(golden_tensors([](std::string& name, torch::Tensor&) {
    return name != "ln_f.bias" && name != "h.0.ln_2.weight";
  }));
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("model.safetensors: expected every GPT-2 weight for n_layer = 2, got missing tensor "
                        "'h.0.ln_2.weight', 'ln_f.bias'"));
}

TEST_F(CheckpointTest, IntegerWeightIsRefused) {
  std::string d = dir_with(golden_tensors([](std::string& name, torch::Tensor& t) {
    if (name == "ln_f.weight") t = t.to(torch::kInt64);
    return true;
  }));
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("tensor 'ln_f.weight': expected a floating-point tensor, got Long"));
}

TEST_F(CheckpointTest, DirectoryWithoutWeightsOrConfig) {
  EXPECT_THAT(error_of([&] { gpt2_load_dir(path_join(dir_, "absent")); }),
              HasSubstr("absent: expected a model directory, got no such directory"));
  EXPECT_THAT(error_of([&] { gpt2_load_dir(dir_); }),
              HasSubstr("expected model.safetensors or model.safetensors.index.json, got neither"));
  write_file_atomic(path_join(dir_, "pytorch_model.bin"), "pickle");
  EXPECT_THAT(error_of([&] { gpt2_load_dir(dir_); }), HasSubstr("only pytorch_model.bin"));
  safetensors_save(path_join(dir_, "model.safetensors"), {{"wte.weight", torch::ones({2, 2})}});
  EXPECT_THAT(error_of([&] { gpt2_load_dir(dir_); }), HasSubstr("config.json: cannot open"));
}

TEST_F(CheckpointTest, MalformedWeightsFileErrorNamesIt) {
  std::string d = dir_with({});
  write_file_atomic(path_join(d, "model.safetensors"), "1234");
  EXPECT_THAT(error_of([&] { gpt2_load_dir(d); }),
              HasSubstr("model.safetensors: expected a safetensors file of at least 8 bytes (header length), got 4 bytes"));
}

// ---- saving -------------------------------------------------------------------------------------

TEST_F(CheckpointTest, SaveThenLoadIsIdentity) {
  Gpt2Config c;
  c.n_vocab = 11;
  c.n_ctx = 6;
  c.n_embd = 4;
  c.n_head = 2;
  c.n_layer = 3;
  c.bos_token_id = c.eos_token_id = 10;
  Gpt2Model m{c, gpt2_init(c, 7)};
  // Distinct values in biases and norms too, so that a swapped tensor would be caught.
  gpt2_visit(m.weights, [](const std::string&, torch::Tensor& t) { t = t + torch::randn(t.sizes()); });
  const std::string d = path_join(dir_, "saved");
  gpt2_save_dir(m, d);
  Gpt2Model back = gpt2_load_dir(d);
  EXPECT_EQ(gpt2_config_to_json(back.config), gpt2_config_to_json(c));
  std::vector<torch::Tensor> a = gpt2_flatten(m.weights), b = gpt2_flatten(back.weights);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i])) << i;
}

TEST_F(CheckpointTest, SavedLayoutIsWhatFromPretrainedAccepts) {
  Gpt2Model m = gpt2_load_dir(golden("gpt2_lmhead"), torch::kFloat64);
  const std::string d = path_join(dir_, "saved");
  gpt2_save_dir(m, d);
  SafetensorsHeader h = safetensors_read_header(path_join(d, "model.safetensors"));
  EXPECT_EQ(h.metadata, (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(h.tensors.size(), 4u + 12u * 2u);  // no prefix, no buffers, no lm_head
  std::vector<WeightSpec> specs = gpt2_weight_specs(m.config);
  for (size_t i = 0; i < specs.size(); ++i) {
    EXPECT_EQ(h.tensors[i].name, specs[i].name);  // canonical order
    EXPECT_EQ(h.tensors[i].dtype, "F32");         // F64 weights are saved as F32
    EXPECT_EQ(h.tensors[i].shape, specs[i].shape);
  }
  nlohmann::json config = read_json_file(path_join(d, "config.json"));
  EXPECT_EQ(config["model_type"], "gpt2");
  EXPECT_EQ(config["architectures"][0], "GPT2LMHeadModel");
  expect_weights(gpt2_load_dir(d).weights, same);  // F64 of F32 values rounds back exactly
}

TEST_F(CheckpointTest, SaveLeavesOtherFilesAloneAndReplacesShardedWeights) {
  const std::string d = path_join(dir_, "model");
  fs::copy(golden("gpt2_sharded"), d);
  write_file_atomic(path_join(d, "vocab.json"), "{\"tokenizer\": true}");
  write_file_atomic(path_join(d, "merges.txt"), "#version: 0.2\n");
  safetensors_save(path_join(d, "inner_lrs.safetensors"), {{"lr", torch::ones({3})}});
  const auto before = fs::last_write_time(path_join(d, "vocab.json"));

  Gpt2Model m = gpt2_load_dir(d);
  m.weights.ln_f_bias = m.weights.ln_f_bias + 1;
  gpt2_save_dir(m, d);

  EXPECT_EQ(read_file(path_join(d, "vocab.json")), "{\"tokenizer\": true}");
  EXPECT_EQ(read_file(path_join(d, "merges.txt")), "#version: 0.2\n");
  EXPECT_EQ(fs::last_write_time(path_join(d, "vocab.json")), before);
  EXPECT_TRUE(torch::equal(*safetensors_load(path_join(d, "inner_lrs.safetensors")).find("lr"), torch::ones({3})));
  // model.safetensors now exists and wins over the stale index, as in transformers.
  EXPECT_EQ(checkpoint_weights_path(d), path_join(d, "model.safetensors"));
  EXPECT_TRUE(torch::equal(gpt2_load_dir(d).weights.ln_f_bias, m.weights.ln_f_bias));
  for (const auto& entry : fs::directory_iterator(d)) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp.")));
  }
}

TEST_F(CheckpointTest, SaveRefusesWeightsThatDoNotMatchTheConfig) {
  Gpt2Model m = gpt2_load_dir(golden("gpt2_bare"));
  m.weights.h[1].attn_c_proj_weight = torch::zeros({8, 9});
  const std::string d = path_join(dir_, "saved");
  EXPECT_THAT(error_of([&] { gpt2_save_dir(m, d); }),
              HasSubstr("tensor 'h.1.attn.c_proj.weight': expected shape [8, 8], got shape [8, 9]"));
  EXPECT_FALSE(fs::exists(path_join(d, "model.safetensors")));
}
