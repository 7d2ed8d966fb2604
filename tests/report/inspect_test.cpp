// `reckoning inspect`: summaries of the golden checkpoints (tensors, notes, parameter count,
// sharded files), side tables (inner_lrs.safetensors), text and JSON output, and the CLI itself.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include "reckoning/report/inspect.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/llama_checkpoint.h"
#include "support/test_util.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace fs = std::filesystem;

namespace {

const std::string kGolden = std::string(RECKONING_SOURCE_DIR) + "/tests/golden/checkpoints";
constexpr int64_t kTinyParameters = 1984;  // n_vocab 20, n_ctx 8, n_embd 8, n_layer 2

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = (fs::temp_directory_path() / str("reckoning_inspect_", ::getpid(), "_", info->name())).string();
    reckoning::remove_tree(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { reckoning::remove_tree(dir_); }
  std::string dir_;
};

// (exit code, output) of a shell command with stderr merged (test_util.h's run_command).
std::pair<int, std::string> run(const std::string& command) {
  const reckoning::test::CommandResult r = reckoning::test::run_command(command + " 2>&1");
  return {r.code, r.out};
}

}  // namespace

TEST_F(InspectTest, LmHeadDirectoryListsEveryTensorWithNotes) {
  CheckpointSummary s = checkpoint_inspect(kGolden + "/gpt2_lmhead");
  ASSERT_TRUE(s.config.has_value());
  EXPECT_EQ((*s.config)["n_layer"], 2);
  EXPECT_EQ(s.metadata.at("format"), "pt");
  ASSERT_EQ(s.files.size(), 1u);
  EXPECT_THAT(s.files[0], HasSubstr("gpt2_lmhead/model.safetensors"));
  ASSERT_EQ(s.tensors.size(), 28u + 4u + 1u);  // weights + 2 buffers per block + lm_head
  EXPECT_EQ(s.tensors[0].name, "transformer.wte.weight");
  EXPECT_EQ(s.tensors[0].dtype, "F32");
  EXPECT_EQ(s.tensors[0].shape, (std::vector<int64_t>{20, 8}));
  EXPECT_EQ(s.tensors[4].name, "transformer.h.0.attn.bias");
  EXPECT_EQ(s.tensors[4].dtype, "BOOL");
  EXPECT_THAT(s.tensors[4].note, HasSubstr("mask buffer"));
  EXPECT_EQ(s.tensors.back().name, "lm_head.weight");
  EXPECT_THAT(s.tensors.back().note, HasSubstr("tied to wte.weight"));
  // Buffers and the tied head are not parameters.
  EXPECT_EQ(s.parameter_count, kTinyParameters);
  EXPECT_TRUE(s.tables.empty());
}

TEST_F(InspectTest, LlamaFamilyDirectoriesCountTheirOwnHead) {
  // An untied lm_head is a parameter of a Llama-family model (GPT-2's would be its tied wte).
  for (const std::string variant : {"llama_gqa", "qwen2_tied", "qwen3_qknorm"}) {
    const std::string dir = std::string(RECKONING_SOURCE_DIR) + "/tests/golden/llama/" + variant;
    const CheckpointSummary s = checkpoint_inspect(dir);
    EXPECT_EQ(s.parameter_count, llama_parameter_count(llama_load_dir(dir).weights)) << variant;
    for (const CheckpointTensorInfo& t : s.tensors) {
      if (t.name == "lm_head.weight") EXPECT_EQ(t.note, "") << variant;
    }
  }
}

TEST_F(InspectTest, LoraAdaptersAreListedBesideTheModelAndNotCounted) {
  fs::copy(kGolden + "/gpt2_lmhead", dir_, fs::copy_options::recursive);
  safetensors_save(path_join(dir_, "adapter_model.safetensors"),
                   {{"base_model.model.transformer.h.0.attn.c_attn.lora_A.weight", torch::zeros({2, 8})},
                    {"base_model.model.transformer.h.0.attn.c_attn.lora_B.weight", torch::zeros({24, 2})}});
  CheckpointSummary s = checkpoint_inspect(dir_);
  ASSERT_EQ(s.files.size(), 2u);
  EXPECT_THAT(s.files[1], HasSubstr("adapter_model.safetensors"));
  ASSERT_EQ(s.tensors.size(), 28u + 4u + 1u + 2u);
  EXPECT_EQ(s.tensors.back().name, "base_model.model.transformer.h.0.attn.c_attn.lora_B.weight");
  EXPECT_EQ(s.tensors.back().note, "LoRA adapter");
  EXPECT_EQ(s.parameter_count, kTinyParameters);
}

TEST_F(InspectTest, ShardedIndexNamesEachTensorsShard) {
  CheckpointSummary s = checkpoint_inspect(kGolden + "/gpt2_sharded/model.safetensors.index.json");
  EXPECT_FALSE(s.config.has_value());  // a file, not a directory
  EXPECT_EQ(s.files.size(), 2u);
  EXPECT_EQ(s.tensors.size(), 28u);
  EXPECT_EQ(s.parameter_count, kTinyParameters);
  for (const CheckpointTensorInfo& t : s.tensors) {
    const bool first = t.name.find("wte") != std::string::npos;
    if (first) {
      EXPECT_THAT(t.file, HasSubstr("model-00001-of-00002.safetensors"));
    }
    if (t.name == "transformer.ln_f.bias") {
      EXPECT_THAT(t.file, HasSubstr("model-00002-of-00002.safetensors"));
    }
  }
  std::string text = checkpoint_summary_text(s);
  EXPECT_THAT(text, HasSubstr("\ntransformer.ln_f.bias               F32    [8]      model-00002-of-00002.safetensors\n"));
  EXPECT_EQ(s.metadata.at("total_size"), std::to_string(kTinyParameters * 4));
}

TEST_F(InspectTest, SingleFileF16) {
  CheckpointSummary s = checkpoint_inspect(kGolden + "/gpt2_f16/model.safetensors");
  EXPECT_EQ(s.tensors.size(), 28u);
  EXPECT_EQ(s.tensors[2].name, "h.0.ln_1.weight");
  EXPECT_EQ(s.tensors[2].dtype, "F16");
  EXPECT_EQ(s.parameter_count, kTinyParameters);
}

TEST_F(InspectTest, TextOutputHasAlignedColumnsAndTotals) {
  std::string text = checkpoint_summary_text(checkpoint_inspect(kGolden + "/gpt2_bare"));
  EXPECT_THAT(text, HasSubstr("config: vocab_size=20 n_positions=8 n_embd=8 n_head=2 n_layer=2\n"));
  EXPECT_THAT(text, HasSubstr("\nname                    dtype  shape\n"));
  EXPECT_THAT(text, HasSubstr("\nwte.weight              F32    [20, 8]\n"));
  EXPECT_THAT(text, HasSubstr("\nh.1.attn.bias           F32    [1, 1, 8, 8]  (attention mask buffer, not a parameter)\n"));
  EXPECT_THAT(text, HasSubstr("\ntensors: 32\nparameters: 1984\n"));
}

TEST_F(InspectTest, InnerLrsTableIsShownRowsTensorsColumnsEntries) {
  const std::string d = path_join(dir_, "model");
  fs::copy(kGolden + "/gpt2_bare", d);
  // Generic: a 1-D tensor is one row, a 2-D tensor one row per first index; any float dtype.
  safetensors_save(path_join(d, "inner_lrs.safetensors"),
                   {{"embeddings", torch::tensor({1e-5, 2e-5, -3e-5}, torch::kFloat64)},
                    {"blocks", torch::tensor({{0.5f, 0.25f, 0.125f}, {1.0f, 2.0f, 4.0f}})}},
                   {{"note", "generic"}});
  CheckpointSummary s = checkpoint_inspect(d);
  ASSERT_EQ(s.tables.size(), 1u);
  const CheckpointTable& t = s.tables[0];
  EXPECT_THAT(t.file, HasSubstr("inner_lrs.safetensors"));
  EXPECT_EQ(t.row_names, (std::vector<std::string>{"embeddings", "blocks[0]", "blocks[1]"}));
  EXPECT_EQ(t.rows[0], (std::vector<double>{1e-5, 2e-5, -3e-5}));
  EXPECT_EQ(t.rows[2], (std::vector<double>{1.0, 2.0, 4.0}));
  EXPECT_EQ(t.metadata.at("note"), "generic");

  std::string text = checkpoint_summary_text(s);
  EXPECT_THAT(text, HasSubstr("inner_lrs.safetensors (rows = tensors, columns = entries)\n"));
  EXPECT_THAT(text, HasSubstr("\nembeddings  1e-05          2e-05          -3e-05\n"));
  EXPECT_THAT(text, HasSubstr("\nblocks[1]   1              2              4\n"));

  nlohmann::json json = checkpoint_summary_json(s);
  EXPECT_EQ(json["tables"][0]["rows"][1]["name"], "blocks[0]");
  EXPECT_EQ(json["tables"][0]["rows"][1]["values"][2], 0.125);
  EXPECT_EQ(json["parameter_count"], kTinyParameters);

  // reckoning's own layout: one (groups, steps) table with the group names as metadata "rows".
  safetensors_save(path_join(d, "inner_lrs.safetensors"),
                   {{"inner_lrs", torch::tensor({{0.5f, 0.25f}, {1.0f, 2.0f}})}},
                   {{"mode", "per-layer"}, {"log_space", "true"}, {"rows", "embeddings,ln_f"}});
  std::string learned = checkpoint_summary_text(checkpoint_inspect(d));
  EXPECT_THAT(learned, HasSubstr("(learned inner learning rates, per-layer: rows = groups, columns = inner steps; values are log(rate))\n"));
  EXPECT_THAT(learned, HasSubstr("\nln_f        1              2\n"));
}

TEST_F(InspectTest, JsonOutputIsComplete) {
  nlohmann::json json = checkpoint_summary_json(checkpoint_inspect(kGolden + "/gpt2_lmhead"));
  EXPECT_EQ(json["tensor_count"], 33);
  EXPECT_EQ(json["parameter_count"], kTinyParameters);
  EXPECT_EQ(json["config"]["n_embd"], 8);
  EXPECT_EQ(json["tensors"][0]["name"], "transformer.wte.weight");
  EXPECT_EQ(json["tensors"][0]["shape"], nlohmann::json({20, 8}));
  EXPECT_EQ(json["tensors"][0]["numel"], 160);
  EXPECT_FALSE(json["tensors"][0].contains("note"));
  EXPECT_TRUE(json["tensors"][4].contains("note"));
}

TEST_F(InspectTest, MalformedFileIsAnError) {
  write_file_atomic(path_join(dir_, "bad.safetensors"), std::string(8, '\xff'));
  try {
    checkpoint_inspect(path_join(dir_, "bad.safetensors"));
    FAIL() << "expected a reckoning::Error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("bad.safetensors: expected a header length of at most 0 bytes"));
  }
}

TEST_F(InspectTest, CommandLine) {
  const std::string cli = RECKONING_CLI;
  if (!fs::exists(cli)) GTEST_SKIP() << "build the `reckoning` target first: " << cli;
  auto [code, out] = run(cli + " inspect --json " + kGolden + "/gpt2_sharded");
  ASSERT_EQ(code, 0) << out;
  nlohmann::json json = nlohmann::json::parse(out);
  EXPECT_EQ(json["parameter_count"], kTinyParameters);
  EXPECT_EQ(json["files"].size(), 2u);

  std::tie(code, out) = run(cli + " inspect " + kGolden + "/gpt2_bf16");
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, HasSubstr("\nwte.weight              BF16   [20, 8]\n"));

  write_file_atomic(path_join(dir_, "bad.safetensors"), "12");
  std::tie(code, out) = run(cli + " inspect " + path_join(dir_, "bad.safetensors"));
  EXPECT_EQ(code, 1);
  EXPECT_THAT(out, HasSubstr("error: "));
  EXPECT_THAT(out, HasSubstr("bad.safetensors: expected a safetensors file of at least 8 bytes"));

  std::tie(code, out) = run(cli + " inspect " + path_join(dir_, "does-not-exist"));
  EXPECT_EQ(code, 2) << out;
  std::tie(code, out) = run(cli + " inspect");
  EXPECT_EQ(code, 2) << out;
}
