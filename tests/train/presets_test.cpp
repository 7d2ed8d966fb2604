// The paper's presets (configs/paper/): every one loads, carries the paper's settings, and trains
// two steps and evaluates, starting from a small "pretrained" GPT-2 directory written here in the
// published layout (weights + config + tokenizer, no reckoning files) in place of models/gpt2.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "reckoning/base/io.h"
#include "reckoning/model/gpt2_weights.h"
#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/text/word_tokenizer.h"
#include "reckoning/train/trainer.h"
#include "support/tiny_run.h"

using namespace reckoning;
using namespace reckoning::test;
namespace fs = std::filesystem;

namespace {

const std::string kPresets = std::string(RECKONING_SOURCE_DIR) + "/configs/paper";

std::vector<Task> proofwriter_tasks(int n) {
  const std::vector<std::string> colours{"red", "blue", "green", "round"};
  const std::vector<std::string> answers{"true", "false", "unknown"};
  std::vector<Task> tasks;
  for (int i = 0; i < n; ++i) {
    Task t;
    const std::string& c = colours[i % 4];
    t.guid = "pw" + std::to_string(i);
    t.facts = {"The cat is " + c + ".", "If something is " + c + " then it is big."};
    t.distractors = {"The dog is " + colours[(i + 1) % 4] + "."};
    t.question = "The cat is big.";
    t.answer = answers[i % 3];
    t.hops = 2;
    t.source = {{"dataset", "proofwriter"}};
    tasks.push_back(t);
  }
  return tasks;
}

// A GPT-2 directory in the published layout whose word vocabulary covers both datasets' prompts.
std::string pretrained_dir(const std::string& root) {
  std::vector<Task> all = proofwriter_tasks(6);
  for (const Task& t : tiny_tasks(6, 0)) all.push_back(t);
  PromptOptions mt;
  mt.multi_task = true;
  auto tokenizer = word_tokenizer_build(prompt_corpus(all, mt, 8), 1, 0);
  Gpt2Config config;
  config.n_vocab = tokenizer->vocab_size();
  config.n_ctx = 128;
  config.n_embd = 16;
  config.n_head = 2;
  config.n_layer = 1;
  config.bos_token_id = config.eos_token_id = tokenizer->eos_id();
  const std::string dir = path_join(root, "gpt2");
  create_directories(dir);
  gpt2_save_dir(Gpt2Model{config, gpt2_init(config, 7)}, dir);
  tokenizer->save(dir);
  return dir;
}

}  // namespace

TEST(PaperPresets, EveryPresetHasThePapersSettingsAndTrains) {
  TempRun scratch("paper-presets");
  const std::string model_dir = pretrained_dir(scratch.dir);
  std::map<std::string, std::string> data;
  for (const auto& [name, tasks] : std::vector<std::pair<std::string, std::vector<Task>>>{
           {"proofwriter", proofwriter_tasks(6)}, {"clutrr-sg", tiny_tasks(6, 0)}}) {
    data[name] = path_join(scratch.dir, name + ".jsonl");
    tasks_save(data[name], tasks);
  }
  int presets = 0;
  for (const auto& entry : fs::directory_iterator(kPresets)) {
    const std::string file = entry.path().filename().string();
    if (entry.path().extension() != ".yaml" || file == "base.yaml") continue;
    SCOPED_TRACE(file);
    ++presets;
    RunConfig c = run_config_load(entry.path().string());
    EXPECT_NO_THROW(run_config_validate_training(c));
    // The paper's settings (Appendix C).
    const bool icr = file.find("ft-icr") != std::string::npos;
    const std::string dataset = file.rfind("proofwriter", 0) == 0 ? "proofwriter" : "clutrr-sg";
    EXPECT_EQ(c.model_init, "models/gpt2");
    EXPECT_EQ(c.method, icr ? Method::FtIcr : Method::Reckoning);
    EXPECT_EQ(c.multi_task, file.find("-mt.yaml") != std::string::npos);
    EXPECT_EQ(c.outer_lr, 3e-5);
    EXPECT_EQ(c.outer_eps, 1e-8);
    EXPECT_EQ(c.outer_batch_tasks, icr ? 16 : 2);
    if (icr) {
      EXPECT_EQ(c.outer_epochs, 6);
    }
    if (!icr) {
      EXPECT_EQ(c.inner_optimizer, InnerOptimizer::AdamW);
      EXPECT_EQ(c.inner_lr, 3e-5);
      EXPECT_EQ(c.inner_lr_mode, LrMode::PerLayer);
      EXPECT_EQ(c.inner_steps, dataset == "proofwriter" ? 5 : 4);  // 5 for depth 5, 4 up to 4 hops
    }
    EXPECT_EQ(c.data_train, "runs/paper/" + dataset + "/train.jsonl");
    // A few steps from the small pretrained directory.
    c.model_init = model_dir;
    c.data_train = c.data_valid = c.data_test = data[dataset];
    c.outer_max_steps = 2;
    c.outer_batch_tasks = 2;
    c.eval_every = 2;
    c.eval_max_new_tokens = 4;
    c.threads = 1;
    c.run_dir = path_join(scratch.dir, file + ".run");
    TrainOptions quiet;
    quiet.progress = false;
    const TrainSummary s = train(c, quiet);
    EXPECT_EQ(s.steps, 2);
    ASSERT_EQ(s.losses.size(), 2u);
    EXPECT_TRUE(std::isfinite(s.losses[1]));
    EXPECT_FALSE(s.eval_options.labels.empty()) << "eval.labels: auto resolved";
  }
  EXPECT_EQ(presets, 8);  // {proofwriter, clutrr-sg} x {reckoning, ft-icr} x {single, multi-task}
}
