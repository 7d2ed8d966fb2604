// The Llama family through the trainer, evaluation and answering, as GPT-2 goes (a tiny run built
// from scratch with model.arch): each family trains with finite losses; its model directory is a
// Hugging Face directory of its model_type that loads back; resume equals uninterrupted training to
// the bit; a LoRA inner loop over q/k/v/o/gate/up/down trains the adapters with a frozen base; the
// model answers over new knowledge; a tokenizer that adds BOS gets BOS before every sequence.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/eval/answer.h"
#include "reckoning/model/lora.h"
#include "reckoning/train/trainer.h"
#include "support/tiny_run.h"

using namespace reckoning;
using namespace reckoning::test;

namespace {

void make_family(TempRun& r, const std::string& arch) {
  r.config.model_arch = arch;
  r.config.model_n_kv_head = 1;
  r.config.model_n_inner = 24;
}

}  // namespace

TEST(FamilyTraining, EachFamilyTrainsSavesAndLoadsAsItsHuggingFaceType) {
  for (const std::string arch : {"llama", "mistral", "qwen2", "qwen3"}) {
    TempRun run("family_" + arch);
    make_family(run, arch);
    const TrainSummary s = train(run.config, quiet());
    ASSERT_EQ(s.losses.size(), 6u) << arch;
    for (double loss : s.losses) EXPECT_TRUE(std::isfinite(loss)) << arch;
    const nlohmann::json config = read_json_file(path_join(s.last_dir, "config.json"));
    EXPECT_EQ(config.at("model_type"), arch);
    EXPECT_EQ(config.at("num_key_value_heads"), 1);
    const ReckoningModel m = reckoning_model_load(s.last_dir);
    EXPECT_EQ(m.config.model_type(), arch);
    EXPECT_EQ(m.lrs.group_names, (std::vector<std::string>{"embeddings", "layers.0", "final"})) << arch;
    // Answering over new knowledge runs through the same inner loop and generation.
    const Knowledge k = knowledge_encode(m, {"B A son", "C B father"});
    EXPECT_EQ(k.trace.size(), 2u);
    const std::string answer = knowledge_answer(m, k, "How are A and C related to each other ?", GenerateOptions{});
    EXPECT_FALSE(answer.empty()) << arch;
  }
}

TEST(FamilyTraining, ResumeEqualsUninterruptedTraining) {
  TempRun a("family_full"), b("family_resumed");
  make_family(a, "qwen3");
  make_family(b, "qwen3");
  const TrainSummary full = train(a.config, quiet());
  TrainOptions stop = quiet();
  stop.stop_after = 4;
  train(b.config, stop);
  TrainOptions resume = quiet();
  resume.resume = true;
  const TrainSummary rest = train(b.config, resume);
  ASSERT_EQ(rest.losses.size(), 2u);
  EXPECT_EQ(rest.losses[0], full.losses[4]);
  EXPECT_EQ(rest.losses[1], full.losses[5]);
  const ReckoningModel ma = reckoning_model_load(full.last_dir), mb = reckoning_model_load(rest.last_dir);
  const std::vector<torch::Tensor> wa = decoder_flatten(ma.weights), wb = decoder_flatten(mb.weights);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i])) << i;
  EXPECT_TRUE(torch::equal(ma.lrs.values, mb.lrs.values));
}

TEST(FamilyTraining, LoraInnerLoopTrainsTheAdaptersOfEveryProjection) {
  TempRun run("family_lora");
  make_family(run, "llama");
  run.config.inner_adapt = "lora";
  run.config.inner_lora_rank = 2;
  run.config.outer_train_base = false;
  const TrainSummary s = train(run.config, quiet());
  for (double loss : s.losses) EXPECT_TRUE(std::isfinite(loss));
  const ReckoningModel trained = reckoning_model_load(s.last_dir);
  // 1 layer x 7 projections x (A, B)
  EXPECT_EQ(lora_flatten(trained.weights).size(), 14u);
  const nlohmann::json peft = read_json_file(path_join(s.last_dir, "adapter_config.json"));
  EXPECT_EQ(peft.at("fan_in_fan_out"), false);
  const ReckoningModel initial = model_for_training(run.config, [] {
    std::vector<Task> corpus = tiny_tasks(12, 0), valid = tiny_tasks(4, 20);
    corpus.insert(corpus.end(), valid.begin(), valid.end());
    return corpus;
  }());
  const std::vector<torch::Tensor> w0 = decoder_flatten(initial.weights), w1 = decoder_flatten(trained.weights);
  for (size_t i = 0; i < w0.size(); ++i) EXPECT_TRUE(torch::equal(w0[i].detach(), w1[i])) << i;
  const std::vector<torch::Tensor> l0 = lora_flatten(initial.weights), l1 = lora_flatten(trained.weights);
  for (size_t i = 0; i < l0.size(); ++i) EXPECT_FALSE(torch::equal(l0[i].detach(), l1[i])) << i;
  // GPT-2's module names are not a Llama model's.
  run.config.inner_lora_targets = "c_attn";
  run.config.run_dir += "_other";
  EXPECT_THAT([&] { train(run.config, quiet()); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("modules of a llama model")));
}

TEST(FamilyTraining, UnknownArchitectureIsRefusedNamingTheKey) {
  TempRun run("family_bad");
  run.config.model_arch = "falcon";
  EXPECT_THAT([&] { train(run.config, quiet()); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("model.arch")));
}
