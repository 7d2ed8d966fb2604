// Constrained answering for label tasks (ProofWriter's yes / no / none, CLUTRR's relation words,
// FOLIO's true / false / unknown): instead of generating freely, the answer is the allowed label
// whose continuation is most likely after the question prompt under the (adapted) weights, as the
// authors' code scores its answer candidates. A generated answer can be none of the labels (a
// typo, a run-on); a constrained one always is one, so accuracy measures the choice alone.
//
// A label's continuation is its tokens followed by what the training target puts after the answer:
// EOS for a single-task model, " because" for a multi-task one. Its score is the sum of the
// continuation's token log-probabilities; ties go to the first label.
// The label set comes from the key `eval.labels`: empty = generate freely, "auto" = the distinct
// answers of the training tasks (resolved when training starts and kept in the model directory),
// or a comma-separated list ("yes,no,none"; labels cannot contain commas).
#pragma once

#include <string>
#include <vector>

#include "reckoning/data/task.h"
#include "reckoning/meta/reckoning_model.h"

namespace reckoning {

// "yes, no ,none" -> {"yes", "no", "none"}; refuses empty or repeated labels, naming `where`.
std::vector<std::string> labels_parse(const std::string& list, const std::string& where);
// The inverse: {"yes", "no"} -> "yes,no" (as kept in a model directory's eval.labels).
std::string labels_join(const std::vector<std::string>& labels);
// The distinct answers (prompt conventions applied: answer_text) of `tasks`, sorted.
std::vector<std::string> labels_of(const std::vector<Task>& tasks, const PromptOptions& prompt = {});
// `spec` as described above: {} for "", labels_of(tasks, prompt) for "auto", else labels_parse.
std::vector<std::string> labels_resolve(const std::string& spec, const std::vector<Task>& tasks, const PromptOptions& prompt,
                                        const std::string& where);

struct LabelChoice {
  size_t index = 0;                     // into the labels
  std::vector<double> log_likelihood;   // per label
};
// Scores every label after `prompt_ids` with `weights` (no gradient, no dropout).
LabelChoice label_choose(const ReckoningModel& model, const DecoderWeights& weights,
                         const std::vector<int64_t>& prompt_ids, const std::vector<std::string>& labels);
// The same for many prompts in one forward pass: `weights` shared by all of them, or task-batched
// over N tasks with prompts.size() / N consecutive prompts each (task_batch.h; a batched
// evaluation's adapted weights). Each choice is label_choose's for that prompt and its task's
// weights, up to floating-point rounding.
std::vector<LabelChoice> label_choose_tasks(const ReckoningModel& model, const DecoderWeights& weights,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const std::vector<std::string>& labels);

}  // namespace reckoning
