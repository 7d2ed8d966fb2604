// Answering over new knowledge: knowledge encoded once and reused, knowledge files round-trip and
// refuse a different model, model directories round-trip, facts files parse with located errors.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>

#include "reckoning/eval/answer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/word_tokenizer.h"

using namespace reckoning;
using testing::HasSubstr;
using testing::ThrowsMessage;
namespace fs = std::filesystem;

namespace {

ReckoningModel tiny_model(uint64_t seed) {
  ReckoningModel m;
  m.run.data_dataset = "clutrr-sg";
  m.run.inner_steps = 2;
  m.run.inner_lr = 1e-2;
  m.tokenizer = word_tokenizer_build({"B K daughter", "K N wife", "How are N and B related to each other ?",
                                      "fact_0: fact_1: Based on", "daughter"}, 1, 0);
  m.config.n_vocab = m.tokenizer->vocab_size();
  m.config.n_ctx = 64;
  m.config.n_embd = 16;
  m.config.n_head = 2;
  m.config.n_layer = 1;
  m.config.bos_token_id = m.config.eos_token_id = m.tokenizer->eos_id();
  m.weights = gpt2_init(m.config, seed);
  m.lrs = inner_lrs_init(m.config, LrMode::PerLayer, 2, 1e-2, false);
  m.lrs.values.requires_grad_(false);
  return m;
}

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / (name + "_" + std::to_string(::getpid()))).string();
}

}  // namespace

TEST(Answer, KnowledgeIsEncodedOnceAndReused) {
  ReckoningModel m = tiny_model(1);
  Knowledge k = knowledge_encode(m, {"B K daughter", "K N wife"});
  ASSERT_EQ(k.trace.size(), 2u);
  EXPECT_LT(k.trace[1].loss, k.trace[0].loss);
  std::vector<torch::Tensor> adapted = gpt2_flatten(k.weights), base = gpt2_flatten(m.weights);
  for (size_t i = 0; i < adapted.size(); ++i) EXPECT_FALSE(torch::equal(adapted[i], base[i]));
  GenerateOptions o;
  o.max_new_tokens = 5;
  const std::string q = "How are N and B related to each other ?";
  EXPECT_EQ(knowledge_answer(m, k, q, o), knowledge_answer(m, k, q, o));
  EXPECT_THAT([&] { knowledge_encode(m, {}); }, ThrowsMessage<Error>(HasSubstr("expected at least one fact")));
}

TEST(Answer, KnowledgeFilesRoundTripAndRefuseAnotherModel) {
  ReckoningModel m = tiny_model(2);
  Knowledge k = knowledge_encode(m, {"B K daughter", "K N wife"});
  const std::string path = temp_path("knowledge.safetensors");
  knowledge_save(m, k, path);
  Knowledge back = knowledge_load(m, path);
  EXPECT_EQ(back.facts, k.facts);
  std::vector<torch::Tensor> a = gpt2_flatten(k.weights), b = gpt2_flatten(back.weights);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  GenerateOptions o;
  o.max_new_tokens = 5;
  const std::string q = "How are N and B related to each other ?";
  EXPECT_EQ(knowledge_answer(m, back, q, o), knowledge_answer(m, k, q, o));
  ReckoningModel other = tiny_model(3);
  EXPECT_THAT([&] { knowledge_load(other, path); },
              ThrowsMessage<Error>(HasSubstr("this knowledge was encoded by a different model")));
  fs::remove(path);
}

TEST(Answer, OnlyAdaptedTensorsAreStored) {
  ReckoningModel m = tiny_model(4);
  m.run.inner_adapt = "^h\\.0\\.mlp";
  Knowledge k = knowledge_encode(m, {"B K daughter"});
  const std::string path = temp_path("partial.safetensors");
  knowledge_save(m, k, path);
  Knowledge back = knowledge_load(m, path);
  std::vector<torch::Tensor> a = gpt2_flatten(back.weights), base = gpt2_flatten(m.weights);
  int changed = 0;
  for (size_t i = 0; i < a.size(); ++i) changed += !torch::equal(a[i], base[i]);
  EXPECT_EQ(changed, 4);  // c_fc and c_proj weight and bias
  fs::remove(path);
}

TEST(Answer, ModelDirectoryRoundTrip) {
  ReckoningModel m = tiny_model(5);
  m.lrs = inner_lrs_init(m.config, LrMode::PerTensor, 2, 3e-3, true);
  const std::string dir = temp_path("model_dir");
  reckoning_model_save(m, dir);
  ReckoningModel back = reckoning_model_load(dir);
  EXPECT_EQ(back.lrs.mode, LrMode::PerTensor);
  EXPECT_TRUE(back.lrs.log_space);
  EXPECT_TRUE(torch::allclose(back.lrs.rates(), m.lrs.rates()));
  EXPECT_EQ(back.run.data_dataset, "clutrr-sg");
  EXPECT_EQ(back.tokenizer->kind(), "word");
  EXPECT_EQ(model_fingerprint(back), model_fingerprint(m));
  reckoning::remove_tree(dir);
}

TEST(Answer, FactsFilesParseWithLocatedErrors) {
  const std::string path = temp_path("facts.txt");
  write_file_atomic(path, "B K daughter\n\nK N wife\n");
  EXPECT_EQ(facts_read(path), (std::vector<std::string>{"B K daughter", "K N wife"}));
  write_file_atomic(path, "{\"fact\": \"B K daughter\"}\n{\"fact\": 3}\n");
  EXPECT_THAT([&] { facts_read(path); }, ThrowsMessage<Error>(HasSubstr(":2: field 'fact': expected a string, got 3")));
  write_file_atomic(path, "[\"a\", \"b\"]");
  EXPECT_EQ(facts_read(path).size(), 2u);
  write_file_atomic(path, "\n");
  EXPECT_THAT([&] { facts_read(path); }, ThrowsMessage<Error>(HasSubstr("expected at least one fact")));
  fs::remove(path);
}
