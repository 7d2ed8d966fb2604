// From a canonical task to the token tensors of both loops (RECKONING.md sections 2, 4 and 5):
//
// Every text below is the default of a PromptOptions template (configurable per model family), and
// with `bos` every sequence starts with the tokenizer's BOS (Llama's convention, "auto").
// RECKONING (knowledge in the weights)
//   facts    one sequence per encoded fact: tokens("fact_i: ") ++ tokens(f_i), each piece tokenized
//            on its own, right-padded with EOS; targets = the fact tokens (the key conditions).
//   question tokens(prompt) ++ tokens(target + EOS); targets = the target tokens and EOS.
//            proofwriter/folio: "Based on fact_0 ... fact_{n-1}, can we conclude {q without its
//            final period}?"; clutrr/clutrr-sg: "Based on fact_0 ... fact_{n-1}, {q}".
// FT-ICR (knowledge in the context, no inner loop)
//   question EOS ++ facts joined by "\n" ++ "\n" ++ q  -> target + EOS.
// Targets: proofwriter true/false/unknown -> yes/no/none; folio -> yes/no/unknown; clutrr -> the
// relation word; tokenized without a leading space. Multi-task: "{answer} because {f_a},{f_b},..."
// over the relevant facts only. Controls: no-facts (question only, no inner loop), random-facts
// (the encoded facts are replaced by as many facts drawn from the whole split), no-question.
// Which facts are encoded: the relevant facts plus `distractors` of the task's distractors, in an
// order shuffled deterministically per task (so distractors are not always last).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reckoning/base/enum_table.h"
#include "reckoning/model/loss.h"
#include "reckoning/data/task.h"
#include "reckoning/text/tokenizer.h"

namespace reckoning {

enum class Method { Reckoning, FtIcr };
enum class Control { None, NoFacts, RandomFacts, NoQuestion };

// Names (enum_table.h): reckoning | ft-icr; none | no-facts | random-facts | no-question.
template <>
const std::vector<EnumName<Method>>& enum_names<Method>();
template <>
const std::vector<EnumName<Control>>& enum_names<Control>();

struct PromptOptions {
  Method method = Method::Reckoning;
  Control control = Control::None;
  bool multi_task = false;      // target "{answer} because {relevant facts}"
  int64_t distractors = -1;     // how many of a task's distractors to encode; -1 = all
  uint64_t seed = 0;            // fact order and random-facts draws (combined with the task guid)
  // The texts around the facts and questions, per model family if need be ({i}: a fact's index,
  // {keys}: the fact keys joined by spaces, {question}: the task's question).
  std::string fact_key = "fact_{i}";  // a fact sequence starts with "{key}: "
  std::string entailment_question = "Based on {keys}, can we conclude {question}?";  // proofwriter, folio
  std::string relation_question = "Based on {keys}, {question}";                     // clutrr, clutrr-sg
  // BOS before every sequence: "auto" = as the tokenizer's family expects (Llama's), "yes", "no".
  std::string bos = "auto";
  // The answer words of true / false / unknown entailment labels, comma-separated ("" = the
  // datasets': yes, no, and none (proofwriter) or unknown (folio)).
  std::string entailment_answers;
};

// The BOS id `options.bos` puts before every sequence, if any; throws for "yes" with a tokenizer
// without one.
std::optional<int64_t> prompt_bos(const Tokenizer& tokenizer, const PromptOptions& options);

struct EncodedTask {
  LmBatch facts;                     // (n, Tf); ids undefined when no inner loop runs
  LmBatch question;                  // (1, Tq)
  std::vector<int64_t> prompt_ids;   // the question's prompt without the target (for generation)
  std::vector<std::string> encoded_facts;  // the fact texts in encoding order
  std::string answer_text;           // "yes", "son", ...
  std::string target_text;           // answer_text, or "yes because f1,f2" in multi-task mode
  int64_t n_distractors = 0;         // distractors among encoded_facts
};

// The answer word a dataset's label becomes ("true" -> "yes" for proofwriter...). Throws naming
// the task for an unknown label.
std::string answer_text(const Task& task, const PromptOptions& options = {});
// The prompt text (without target) for a task whose encoded facts are `n_facts`.
std::string prompt_text(const Task& task, int64_t n_facts, const PromptOptions& options,
                        const std::vector<std::string>& facts);
// The key of fact `index` ("fact_3"), and the start of its sequence ("fact_3: ").
std::string fact_name(int64_t index, const PromptOptions& options = {});
std::string fact_key(int64_t index, const PromptOptions& options = {});

// `fact_pool` is the whole split's fact texts (used by the random-facts control only).
EncodedTask encode_task(const Task& task, const Tokenizer& tokenizer, const PromptOptions& options,
                        const std::vector<std::string>& fact_pool = {});

// Throws unless the task fits the model's context: every fact sequence, and the question prompt
// plus its target (with EOS) when `with_target` (training), else the prompt alone (evaluation).
// `where` names the task's origin ("data.train"); the message names the task and model.n_ctx.
void encoded_task_check_fits(const EncodedTask& encoded, const Task& task, int64_t n_ctx,
                             bool with_target, const std::string& where);

// Every text encode_task may tokenize for these tasks (keys, facts, prompts, targets): the corpus
// for building a word tokenizer that covers them.
std::vector<std::string> prompt_corpus(const std::vector<Task>& tasks, const PromptOptions& options,
                                       int64_t max_facts);

// Lowercase, strip punctuation and the articles a/an/the, collapse spaces (RECKONING.md section 6).
std::string normalize_answer(const std::string& text);

}  // namespace reckoning
