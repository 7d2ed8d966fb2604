// A directory saved by gpt2_save_dir, read back by an independent reader: the hand-written
// safetensors reader of scripts/golden/make_checkpoints.py (run with /usr/bin/python3). Checks the
// layout transformers expects (metadata format "pt", F32, canonical names without prefix, header
// padded to 8 bytes, contiguous data) and every tensor's sum and index-weighted sum.
// ctest-labels: python
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

#include <sys/wait.h>
#include <unistd.h>

#include "reckoning/base/io.h"
#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/base/error.h"
#include "support/test_util.h"

using namespace reckoning;

namespace fs = std::filesystem;

namespace {

const std::string kPython = "/usr/bin/python3";
const std::string kScript = std::string(RECKONING_SOURCE_DIR) + "/scripts/golden/make_checkpoints.py";

// (exit code, output) of a shell command (test_util.h's run_command).
std::pair<int, std::string> run(const std::string& command) {
  const reckoning::test::CommandResult r = reckoning::test::run_command(command);
  return {r.code, r.out};
}

}  // namespace

TEST(CheckpointPython, SavedDirectoryReadsBackInPython) {
  if (run(kPython + " -c 'import torch, numpy' 2>/dev/null").first != 0) {
    GTEST_SKIP() << kPython << " with torch and numpy is needed (scripts/install-deps.sh)";
  }
  Gpt2Config c;
  c.n_vocab = 13;
  c.n_ctx = 5;
  c.n_embd = 6;
  c.n_head = 3;
  c.n_layer = 2;
  c.bos_token_id = c.eos_token_id = 12;
  Gpt2Model m{c, gpt2_init(c, 3)};
  gpt2_visit(m.weights, [](const std::string&, torch::Tensor& t) { t = t + torch::randn(t.sizes()); });
  const std::string dir = (fs::temp_directory_path() / str("reckoning_ckpt_python_", ::getpid())).string();
  gpt2_save_dir(m, dir);

  auto [code, out] = run(kPython + " " + kScript + " --verify " + dir);
  reckoning::remove_tree(dir);
  ASSERT_EQ(code, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["metadata"], nlohmann::json({{"format", "pt"}}));
  EXPECT_EQ(j["header_len_mod_8"], 0);
  EXPECT_EQ(j["data_contiguous"], true);
  EXPECT_EQ(j["config"]["vocab_size"], 13);
  EXPECT_EQ(j["config"]["n_layer"], 2);
  EXPECT_EQ(j["config"]["model_type"], "gpt2");
  EXPECT_EQ(j["config"]["activation_function"], "gelu_new");

  std::vector<WeightSpec> specs = gpt2_weight_specs(c);
  std::vector<torch::Tensor> flat = gpt2_flatten(m.weights);
  ASSERT_EQ(j["tensors"].size(), specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const nlohmann::json& t = j["tensors"][i];
    SCOPED_TRACE(specs[i].name);
    EXPECT_EQ(t["name"], specs[i].name);
    EXPECT_EQ(t["dtype"], "F32");
    EXPECT_EQ(t["shape"].get<std::vector<int64_t>>(), specs[i].shape);
    torch::Tensor x = flat[i].to(torch::kFloat64).reshape({-1});
    const double sum = x.sum().item<double>();
    const double weighted = (x * torch::arange(1, x.numel() + 1, torch::kFloat64)).sum().item<double>();
    EXPECT_NEAR(t["sum"].get<double>(), sum, 1e-9 * (1 + std::abs(sum)));
    EXPECT_NEAR(t["weighted_sum"].get<double>(), weighted, 1e-9 * (1 + std::abs(weighted)));
  }
}
