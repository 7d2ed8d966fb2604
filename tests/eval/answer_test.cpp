// Answering over new knowledge: knowledge encoded once and reused, knowledge files round-trip and
// refuse a different model, model directories round-trip, facts files parse with located errors.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>

#include "reckoning/eval/answer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/lora.h"
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
  m.config.gpt2().n_vocab = m.tokenizer->vocab_size();
  m.config.gpt2().n_ctx = 64;
  m.config.gpt2().n_embd = 16;
  m.config.gpt2().n_head = 2;
  m.config.gpt2().n_layer = 1;
  m.config.gpt2().bos_token_id = m.config.gpt2().eos_token_id = m.tokenizer->eos_id();
  m.weights = gpt2_init(m.config.gpt2(), seed);
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
  std::vector<torch::Tensor> adapted = decoder_flatten(k.weights), base = decoder_flatten(m.weights);
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
  std::vector<torch::Tensor> a = decoder_flatten(k.weights), b = decoder_flatten(back.weights);
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
  std::vector<torch::Tensor> a = decoder_flatten(back.weights), base = decoder_flatten(m.weights);
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

namespace {

// A model whose inner loop adapts LoRA adapters (rank 2 on every module, trained-looking b).
ReckoningModel tiny_lora_model(uint64_t seed) {
  ReckoningModel m = tiny_model(seed);
  m.run.inner_adapt = "lora";
  m.run.inner_lora_rank = 2;
  m.run.inner_lora_alpha = 4;
  lora_attach(m.weights, m.run.lora(), seed);
  torch::manual_seed(static_cast<int64_t>(seed));
  lora_visit(m.weights, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t) * 0.05; });
  m.lrs = inner_lrs_init(inner_rate_specs(m.config, m.inner(), m.weights), m.config.gpt2().n_layer, LrMode::PerLayer, 2, 5e-2,
                         false);
  m.lrs.values.requires_grad_(false);
  return m;
}

}  // namespace

TEST(Answer, LoraKnowledgeIsTheAdaptersAndAnswersTheSameMergedOrNot) {
  ReckoningModel m = tiny_lora_model(6);
  const Knowledge k = knowledge_encode(m, {"B K daughter", "K N wife"});
  EXPECT_LT(k.trace.back().loss, k.trace.front().loss);
  const std::string path = temp_path("lora_knowledge.safetensors");
  knowledge_save(m, k, path);
  // Only the adapters are stored: 1 layer x 4 modules x (a, b).
  const Safetensors file = safetensors_load(path);
  EXPECT_EQ(file.tensors.size(), 8u);
  for (const auto& [name, t] : file.tensors) EXPECT_THAT(name, HasSubstr(".lora_"));
  const Knowledge back = knowledge_load(m, path);
  const std::vector<torch::Tensor> a = lora_flatten(k.weights), b = lora_flatten(back.weights);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(torch::equal(a[i], b[i]));
  // Merged or not, the same answers and the same label scores.
  Knowledge merged = back;
  merged.weights = lora_merge(back.weights);
  GenerateOptions o;
  o.max_new_tokens = 5;
  const std::string q = "How are N and B related to each other ?";
  EXPECT_EQ(knowledge_answer(m, merged, q, o), knowledge_answer(m, k, q, o));
  const LabelChoice x = knowledge_choose(m, k, q, {"daughter", "wife"}), y = knowledge_choose(m, merged, q, {"daughter", "wife"});
  EXPECT_EQ(x.index, y.index);
  for (size_t i = 0; i < x.log_likelihood.size(); ++i) EXPECT_NEAR(x.log_likelihood[i], y.log_likelihood[i], 1e-4);
  // Knowledge of other initial adapters is refused (the fingerprint covers them).
  ReckoningModel other = tiny_lora_model(6);
  lora_visit(other.weights, [](const std::string&, torch::Tensor& t) { t = t * 1.5; });
  EXPECT_THAT([&] { knowledge_load(other, path); },
              ThrowsMessage<Error>(HasSubstr("this knowledge was encoded by a different model")));
  fs::remove(path);
}

TEST(Answer, LoraModelDirectoryHoldsPeftAdaptersAndRoundTrips) {
  ReckoningModel m = tiny_lora_model(7);
  const std::string dir = temp_path("lora_model_dir");
  reckoning_model_save(m, dir);
  EXPECT_TRUE(file_exists(path_join(dir, "adapter_config.json")));
  EXPECT_TRUE(file_exists(path_join(dir, "adapter_model.safetensors")));
  ReckoningModel back = reckoning_model_load(dir);
  EXPECT_EQ(back.run.inner_adapt, "lora");
  EXPECT_EQ(back.lrs.group_names, (std::vector<std::string>{"h.0"}));
  EXPECT_EQ(model_fingerprint(back), model_fingerprint(m));
  GenerateOptions o;
  o.max_new_tokens = 5;
  const std::string q = "How are N and B related to each other ?";
  EXPECT_EQ(knowledge_answer(back, knowledge_encode(back, {"B K daughter"}), q, o),
            knowledge_answer(m, knowledge_encode(m, {"B K daughter"}), q, o));
  // A LoRA model whose adapter files are gone is refused, naming the file.
  fs::remove(path_join(dir, "adapter_model.safetensors"));
  fs::remove(path_join(dir, "adapter_config.json"));
  EXPECT_THAT([&] { reckoning_model_load(dir); }, ThrowsMessage<Error>(HasSubstr("adapter_model.safetensors")));
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

// Constrained answering (labels.h): each label's score is its continuation's log-likelihood (label
// tokens then EOS for a single-task model), computed here token by token with separate forward
// passes; the choice is the best of them; the answer command's path picks the same.
TEST(Answer, ConstrainedAnsweringPicksTheMostLikelyLabel) {
  ReckoningModel m = tiny_model(3);
  Knowledge k = knowledge_encode(m, {"B K daughter", "K N wife"});
  const std::vector<int64_t> prompt = m.tokenizer->encode("How are N and B related to each other ?");
  const std::vector<std::string> labels{"daughter", "wife", "B K"};
  const LabelChoice c = label_choose(m, k.weights, prompt, labels);
  ASSERT_EQ(c.log_likelihood.size(), 3u);
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < labels.size(); ++i) {
    std::vector<int64_t> cont = m.tokenizer->encode(labels[i]);
    cont.push_back(m.tokenizer->eos_id());
    std::vector<int64_t> ids = prompt;
    double expected = 0;
    for (int64_t token : cont) {
      torch::Tensor x = torch::tensor(ids, torch::kLong).view({1, -1});
      torch::Tensor logp = torch::log_softmax(decoder_forward(m.config, k.weights, x, {}, false)[0][-1], -1);
      expected += logp[token].item<double>();
      ids.push_back(token);
    }
    EXPECT_NEAR(c.log_likelihood[i], expected, 1e-4) << labels[i];
  }
  const size_t best = static_cast<size_t>(std::max_element(c.log_likelihood.begin(), c.log_likelihood.end()) -
                                          c.log_likelihood.begin());
  EXPECT_EQ(c.index, best);
  const std::string q = "How are N and B related to each other ?";
  const LabelChoice via_answer = knowledge_choose(m, k, q, labels);
  EXPECT_LT(via_answer.index, labels.size());
  EXPECT_EQ(via_answer.log_likelihood.size(), labels.size());
  // A multi-task model's label continues with " because", not EOS: other scores.
  ReckoningModel mt = m;
  mt.run.multi_task = true;
  const LabelChoice c_mt = label_choose(mt, k.weights, prompt, labels);
  EXPECT_NE(c_mt.log_likelihood[0], c.log_likelihood[0]);
}

// Many knowledge sets at once (`reckoning answer --sets`): sets encoded by one task-batched inner
// loop and all their questions answered in one batch give, in float64, what each set's knowledge
// answers alone - generated text and every label's log-likelihood - whatever the sets' sizes and
// numbers of questions.
TEST(Answer, ManySetsAnsweredAtOnceAsEachAlone) {
  ReckoningModel m = tiny_model(4);
  m.weights = decoder_map(m.weights, [](const torch::Tensor& t) { return t.to(torch::kFloat64); });
  m.lrs.values = m.lrs.values.to(torch::kFloat64);
  const std::string q1 = "How are N and B related to each other ?", q2 = "How are B and N related to each other ?",
                    q3 = "How are K and B related to each other ?";
  std::vector<KnowledgeSet> sets(3);
  sets[0] = {"a", {"B K daughter", "K N wife"}, {q1, q2}};
  sets[1] = {"b", {"K N wife"}, {q3}};
  sets[2] = {"c", {"B K daughter"}, {q2, q1, q3}};
  GenerateOptions o;
  o.max_new_tokens = 6;
  const std::vector<std::string> labels{"daughter", "wife", "B K"};
  const auto generated = knowledge_answer_sets(m, sets, o, {}, "", 2);  // sets {a, b} batched, then {c}
  const auto chosen = knowledge_answer_sets(m, sets, o, labels, "", 2);
  ASSERT_EQ(generated.size(), 3u);
  ASSERT_EQ(chosen.size(), 3u);
  std::vector<double> first_scores;
  for (size_t i = 0; i < sets.size(); ++i) {
    const Knowledge alone = knowledge_encode(m, sets[i].facts);
    ASSERT_EQ(generated[i].size(), sets[i].questions.size());
    ASSERT_EQ(chosen[i].size(), sets[i].questions.size());
    for (size_t q = 0; q < sets[i].questions.size(); ++q) {
      const std::string& question = sets[i].questions[q];
      EXPECT_EQ(generated[i][q].answer, knowledge_answer(m, alone, question, o)) << sets[i].id << " " << q;
      const LabelChoice c = knowledge_choose(m, alone, question, labels);
      EXPECT_EQ(chosen[i][q].answer, labels[c.index]);
      ASSERT_EQ(chosen[i][q].log_likelihood.size(), labels.size());
      for (size_t l = 0; l < labels.size(); ++l) {
        EXPECT_NEAR(chosen[i][q].log_likelihood[l], c.log_likelihood[l], 1e-10) << sets[i].id << " " << q << " " << l;
      }
      if (question == q1) first_scores.push_back(c.log_likelihood[0]);
    }
  }
  ASSERT_EQ(first_scores.size(), 2u);
  EXPECT_NE(first_scores[0], first_scores[1]);  // the sets' weights really differ
  // Constrained answering needs labels.
  EXPECT_THAT([&] { label_choose_tasks(m, m.weights, {}, {}); }, ThrowsMessage<Error>(HasSubstr("expected at least one label")));
}

TEST(Answer, LabelListsParseAndAutoIsTheTrainingAnswers) {
  EXPECT_EQ(labels_parse("yes, no ,none", "k"), (std::vector<std::string>{"yes", "no", "none"}));
  EXPECT_THAT([] { labels_parse("yes,,no", "eval.labels"); },
              ThrowsMessage<Error>(HasSubstr("eval.labels: expected comma-separated non-empty labels")));
  EXPECT_THAT([] { labels_parse("yes,no,yes", "eval.labels"); },
              ThrowsMessage<Error>(HasSubstr("expected distinct labels, got 'yes' twice")));
  EXPECT_EQ(labels_join({"yes", "no"}), "yes,no");
  std::vector<Task> tasks(3);
  const char* answers[] = {"son", "aunt", "son"};
  for (size_t i = 0; i < 3; ++i) {
    tasks[i].answer = answers[i];
    tasks[i].source = {{"dataset", "clutrr"}};
  }
  EXPECT_EQ(labels_resolve("auto", tasks, {}, "k"), (std::vector<std::string>{"aunt", "son"}));
  EXPECT_TRUE(labels_resolve("", tasks, {}, "k").empty());
  EXPECT_THAT([] { labels_resolve("auto", {}, {}, "eval.labels"); }, ThrowsMessage<Error>(HasSubstr("no tasks")));
}
