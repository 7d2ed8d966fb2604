// Task -> tokens: fact sequences with key tokens excluded from the inner loss, per-dataset prompts
// and answers, multi-task targets, FT-ICR context, controls, answer normalisation.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include "reckoning/base/error.h"
#include "reckoning/meta/prompts.h"
#include "reckoning/text/hf_tokenizer.h"
#include "reckoning/text/word_tokenizer.h"

using namespace reckoning;

namespace {

Task proofwriter_task() {
  Task t;
  t.guid = "pw-1";
  t.facts = {"The cow is big.", "If something is big then it chases the dog."};
  t.distractors = {"The dog is red.", "The cat sees the dog.", "The lion is kind."};
  t.question = "The cow chases the dog.";
  t.answer = "True";
  t.hops = 1;
  t.source = {{"dataset", "proofwriter"}};
  return t;
}

Task clutrr_task() {
  Task t;
  t.guid = "c-1";
  t.facts = {"B K daughter", "K N wife"};
  t.question = "How are N and B related to each other ?";
  t.answer = "daughter";
  t.hops = 2;
  t.source = {{"dataset", "clutrr-sg"}};
  return t;
}

std::unique_ptr<WordTokenizer> tokenizer_for(const std::vector<Task>& tasks) {
  return word_tokenizer_build(prompt_corpus(tasks, {}, 8), 1, 0);
}

std::vector<int64_t> row(const torch::Tensor& t, int64_t i) {
  torch::Tensor r = t[i].contiguous();
  return std::vector<int64_t>(r.data_ptr<int64_t>(), r.data_ptr<int64_t>() + r.numel());
}

}  // namespace

TEST(Prompts, AnswersAndPromptsFollowTheReference) {
  Task pw = proofwriter_task();
  EXPECT_EQ(answer_text(pw), "yes");
  pw.answer = "unknown";
  EXPECT_EQ(answer_text(pw), "none");
  pw.source["dataset"] = "folio";
  pw.answer = "Uncertain";
  EXPECT_EQ(answer_text(pw), "unknown");
  PromptOptions words;  // another family's (or language's) answer words
  words.entailment_answers = "True, False, Unknown";
  EXPECT_EQ(answer_text(pw, words), "Unknown");
  pw.answer = "false";
  EXPECT_EQ(answer_text(pw, words), "False");
  words.entailment_answers = "oui,non";
  EXPECT_THAT([&] { answer_text(pw, words); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("prompt.entailment_answers: expected three comma-separated words")));
  pw.answer = "maybe";
  EXPECT_THAT([&] { answer_text(pw); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("task 'pw-1': field 'answer': expected true, false or unknown, got 'maybe'")));
  PromptOptions o;
  EXPECT_EQ(prompt_text(proofwriter_task(), 3, o, {}), "Based on fact_0 fact_1 fact_2, can we conclude The cow chases the dog?");
  EXPECT_EQ(prompt_text(clutrr_task(), 2, o, {}), "Based on fact_0 fact_1, How are N and B related to each other ?");
  o.control = Control::NoQuestion;
  EXPECT_EQ(prompt_text(clutrr_task(), 2, o, {}), "Based on fact_0 fact_1,");
  o.control = Control::None;
  o.method = Method::FtIcr;
  EXPECT_EQ(prompt_text(clutrr_task(), 2, o, {"B K daughter", "K N wife"}),
            "B K daughter\nK N wife\nHow are N and B related to each other ?");
}

TEST(Prompts, FactsAreSeparateSequencesWithKeysExcludedFromTheLoss) {
  Task t = clutrr_task();
  auto tok = tokenizer_for({t});
  EncodedTask e = encode_task(t, *tok, {});
  ASSERT_EQ(e.facts.ids.size(0), 2);
  for (int64_t i = 0; i < 2; ++i) {
    std::vector<int64_t> key = tok->encode(fact_key(i));
    std::vector<int64_t> fact = tok->encode(e.encoded_facts[static_cast<size_t>(i)]);
    std::vector<int64_t> ids = row(e.facts.ids, i);
    std::vector<int64_t> mask = row(e.facts.target_mask.to(torch::kLong), i);
    std::vector<int64_t> attn = row(e.facts.attn_mask, i);
    const size_t len = key.size() + fact.size();
    for (size_t j = 0; j < ids.size(); ++j) {
      if (j < key.size()) EXPECT_EQ(ids[j], key[j]);
      else if (j < len) EXPECT_EQ(ids[j], fact[j - key.size()]);
      else EXPECT_EQ(ids[j], tok->eos_id());  // right-padded with EOS
      EXPECT_EQ(mask[j], j >= key.size() && j < len) << "position " << j;
      EXPECT_EQ(attn[j], j < len);
    }
  }
  // Question: prompt ++ answer ++ EOS, targets on answer + EOS only.
  std::vector<int64_t> q = row(e.question.ids, 0);
  std::vector<int64_t> answer = tok->encode("daughter");
  ASSERT_EQ(q.size(), e.prompt_ids.size() + answer.size() + 1);
  EXPECT_EQ(q.back(), tok->eos_id());
  EXPECT_EQ(e.question.target_mask.sum().item<int64_t>(), static_cast<int64_t>(answer.size() + 1));
  EXPECT_EQ(tok->decode(e.prompt_ids), prompt_text(t, 2, {}, e.encoded_facts));
}

TEST(Prompts, DistractorsAreCountedShuffledAndDeterministic) {
  Task t = proofwriter_task();
  auto tok = tokenizer_for({t});
  PromptOptions o;
  o.distractors = 2;
  EncodedTask a = encode_task(t, *tok, o), b = encode_task(t, *tok, o);
  EXPECT_EQ(a.encoded_facts, b.encoded_facts);
  EXPECT_EQ(a.n_distractors, 2);
  EXPECT_EQ(a.encoded_facts.size(), 4u);
  for (const auto& f : t.facts) EXPECT_THAT(a.encoded_facts, testing::Contains(f));
  o.distractors = -1;
  EXPECT_EQ(encode_task(t, *tok, o).encoded_facts.size(), 5u);
  o.distractors = 0;
  EXPECT_EQ(encode_task(t, *tok, o).n_distractors, 0);
}

TEST(Prompts, MultiTaskFtIcrAndControls) {
  Task t = clutrr_task();
  auto tok = tokenizer_for({t});
  PromptOptions o;
  o.multi_task = true;
  EXPECT_EQ(encode_task(t, *tok, o).target_text, "daughter because B K daughter,K N wife");
  o.multi_task = false;
  o.method = Method::FtIcr;
  EncodedTask icr = encode_task(t, *tok, o);
  EXPECT_FALSE(icr.facts.ids.defined());  // no inner loop
  EXPECT_EQ(icr.prompt_ids.front(), tok->eos_id());
  o.method = Method::Reckoning;
  o.control = Control::NoFacts;
  EncodedTask nf = encode_task(t, *tok, o);
  EXPECT_FALSE(nf.facts.ids.defined());
  EXPECT_EQ(tok->decode(std::vector<int64_t>(nf.prompt_ids.begin() + 1, nf.prompt_ids.end())), t.question);
  o.control = Control::RandomFacts;
  std::vector<std::string> pool{"X Y son", "Y Z wife", "Z X aunt"};
  EncodedTask rf = encode_task(t, *tok, o, pool);
  for (const auto& f : rf.encoded_facts) EXPECT_THAT(pool, testing::Contains(f));
  EXPECT_THAT([&] { encode_task(t, *tok, o, {}); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("with facts other than the task's own")));
  // Never the task's own facts, even from a pool made mostly of them.
  std::vector<std::string> mostly_own = t.facts;
  for (int i = 0; i < 40; ++i) mostly_own.insert(mostly_own.end(), t.facts.begin(), t.facts.end());
  mostly_own.push_back("X Y son");
  EncodedTask other = encode_task(t, *tok, o, mostly_own);
  for (const auto& f : other.encoded_facts) EXPECT_EQ(f, "X Y son");
  EXPECT_THAT([&] { encode_task(t, *tok, o, t.facts); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("all the task's own")));
  // FT-ICR reads the random facts in its context.
  o.method = Method::FtIcr;
  Task pool_task = t;
  pool_task.facts = pool;
  auto pool_tok = tokenizer_for({t, pool_task});
  EncodedTask icr_rf = encode_task(t, *pool_tok, o, pool);
  const std::string prompt = pool_tok->decode(icr_rf.prompt_ids);
  for (const auto& f : t.facts) EXPECT_EQ(prompt.find(f), std::string::npos) << prompt;
  for (const auto& f : icr_rf.encoded_facts) EXPECT_NE(prompt.find(f), std::string::npos) << prompt;
}

TEST(Prompts, NormalizationAndParsing) {
  EXPECT_EQ(normalize_answer("  The  Son-in-law. "), "son-in-law");
  EXPECT_EQ(normalize_answer("An answer, a test!"), "answer test");
  EXPECT_EQ(enum_parse<Method>("ft-icr", "k"), Method::FtIcr);
  EXPECT_THAT([] { enum_parse<Control>("none!", "control"); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("control: expected one of none, no-facts, random-facts, no-question, got 'none!'")));
}

TEST(Prompts, TasksLongerThanTheContextAreRefusedWithTheTaskAndKeyNamed) {
  Task t = clutrr_task();
  auto tok = tokenizer_for({t});
  PromptOptions multi;
  multi.multi_task = true;
  EncodedTask e = encode_task(t, *tok, multi);
  const int64_t question = e.question.ids.size(1), prompt = static_cast<int64_t>(e.prompt_ids.size());
  EXPECT_NO_THROW(encoded_task_check_fits(e, t, question, true, "data.train"));
  EXPECT_THAT([&] { encoded_task_check_fits(e, t, question - 1, true, "data.train"); },
              testing::ThrowsMessage<Error>(testing::AllOf(
                  testing::HasSubstr("data.train: task 'c-1'"), testing::HasSubstr("model.n_ctx = " + std::to_string(question - 1)),
                  testing::HasSubstr("got " + std::to_string(question) + " tokens"))));
  // Evaluation needs room for the prompt only (generation is clamped to what is left).
  EXPECT_NO_THROW(encoded_task_check_fits(e, t, prompt, false, "evaluation"));
  EXPECT_THROW(encoded_task_check_fits(e, t, prompt - 1, false, "evaluation"), Error);
  // Fact sequences are checked too.
  const int64_t facts = e.facts.ids.size(1);
  ASSERT_LT(facts, prompt);
  EXPECT_THAT([&] { encoded_task_check_fits(e, t, facts - 1, false, "evaluation"); },
              testing::ThrowsMessage<Error>(testing::HasSubstr("fact sequences of at most model.n_ctx")));
}

TEST(Prompts, TextsAreConfigurableAndBosStartsEverySequenceWhenTheFamilyExpectsIt) {
  Task t = clutrr_task();
  PromptOptions o;
  o.fact_key = "note {i}";
  o.relation_question = "Given {keys}: {question}";
  EXPECT_EQ(fact_key(1, o), "note 1: ");
  EXPECT_EQ(prompt_text(t, 2, o, {}), "Given note 0 note 1: How are N and B related to each other ?");
  o.control = Control::NoQuestion;
  EXPECT_EQ(prompt_text(t, 2, o, {}), "Given note 0 note 1:");

  // GPT-2's convention (auto with a tokenizer that adds no BOS): nothing before the key.
  auto tok = tokenizer_for({t});
  const EncodedTask plain = encode_task(t, *tok, {});
  EXPECT_EQ(row(plain.facts.ids, 0).front(), tok->encode(fact_key(0)).front());
  // bos: yes - the tokenizer's BOS starts every fact sequence (not a target) and the question.
  PromptOptions yes;
  yes.bos = "yes";
  const EncodedTask with = encode_task(t, *tok, yes);
  ASSERT_TRUE(tok->bos_id().has_value());
  for (int64_t i = 0; i < 2; ++i) {
    EXPECT_EQ(row(with.facts.ids, i).front(), *tok->bos_id());
    EXPECT_FALSE(with.facts.target_mask[i][0].item<bool>());
    EXPECT_EQ(with.facts.target_mask[i].sum().item<int64_t>(), plain.facts.target_mask[i].sum().item<int64_t>());
  }
  EXPECT_EQ(with.prompt_ids.front(), *tok->bos_id());
  EXPECT_EQ(with.prompt_ids.size(), plain.prompt_ids.size() + 1);

  // A Llama-style tokenizer.json whose tokenizer_config.json adds BOS: auto puts it first.
  const nlohmann::json json = {
      {"model",
       {{"type", "BPE"}, {"unk_token", "<unk>"}, {"vocab", {{"<unk>", 0}, {"<s>", 1}, {"</s>", 2}, {"a", 3}}}, {"merges", nlohmann::json::array()}}},
      {"added_tokens",
       {{{"id", 1}, {"content", "<s>"}, {"special", true}, {"normalized", false}},
        {{"id", 2}, {"content", "</s>"}, {"special", true}, {"normalized", false}}}}};
  const HfTokenizer llama(json, {{"bos_token", "<s>"}, {"eos_token", "</s>"}, {"add_bos_token", true}}, "t.json");
  ASSERT_TRUE(llama.adds_bos());
  const EncodedTask auto_bos = encode_task(t, llama, {});
  EXPECT_EQ(row(auto_bos.facts.ids, 1).front(), 1);
  EXPECT_EQ(auto_bos.prompt_ids.front(), 1);
  PromptOptions no;
  no.bos = "no";
  EXPECT_NE(encode_task(t, llama, no).prompt_ids.front(), 1);
}
