// Evaluation (RECKONING.md section 6): for each task, the inner loop on its facts (no meta-graph,
// no dropout; EvalOptions::batch_tasks tasks at a time through one task-batched loop), then the
// answer with the adapted weights (constrained labels and greedy decoding of those tasks as one
// batch, each with its own weights; beam search one task at a time); normalised
// exact match, label accuracy (text before " because " for multi-task models) and knowledge
// recall (the regenerated facts after " because " against the relevant facts). Reported overall,
// per hop count and per number of encoded distractors, next to chance (uniform over the answers
// seen, and the majority answer's rate). Deterministic.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/meta/reckoning_model.h"

namespace reckoning {

// Evaluation shared by several processes (dist/process_group.h): process `index` of `count`
// evaluates every count-th group of tasks (groups of batch_tasks, formed by fact count), and
// `all_gather` - a collective every process calls with its own text - returns every process's
// text in rank order; each then builds the whole report, every task counted once in its place.
struct EvalShard {
  int index = 0, count = 1;
  std::function<std::vector<std::string>(const std::string&)> all_gather;
};

struct EvalOptions {
  int64_t num_beams = 1;        // 1 = greedy
  int64_t max_new_tokens = 16;  // generation budget (never the gold answer's length)
  int64_t max_tasks = 0;        // 0 = all; else an even-stride subsample (tasks_subsample)
  // Constrained answering (labels.h): the label is the most likely of these; a single-task model
  // then generates nothing, a multi-task one still generates its recalled facts. Empty = free.
  std::vector<std::string> labels;
  // Tasks whose knowledge is encoded at once (inner_loop_tasks: one batched inner loop) and whose
  // questions are then answered in one batch, each with its own adapted weights. 1 = one task at a
  // time. The metrics do not depend on it (equal up to floating-point rounding).
  int64_t batch_tasks = 8;
  EvalShard shard;  // one process evaluates all (count 1) unless set
};

struct TaskResult {
  std::string guid;
  int64_t hops = 0;
  int64_t n_distractors = 0;
  std::string target;       // expected generation ("yes", or "yes because ...")
  std::string prediction;   // generated text
  bool exact_match = false;  // normalised prediction == normalised target
  bool label_correct = false;  // normalised label part == normalised answer
  std::string label;           // the label part of the prediction (constrained: the chosen label)
  bool recall_correct = false; // multi-task only: regenerated facts == relevant facts
  bool recall_any_order = false;  // multi-task only: the same facts, in any order
  std::vector<double> inner_losses;  // inner loss before each step, then after the last
};

// Knowledge recall of the facts part of a multi-task generation (the text after " because "):
// `exact`: its normalised text equals the relevant facts joined by "," in the task's order (the
// paper's measure); `any_order`: split at "," it is the same multiset of normalised facts (the
// order of the facts in a task carries no information, so a model may recall them permuted).
struct RecallMatch {
  bool exact = false, any_order = false;
};
RecallMatch recall_match(const std::string& recalled, const std::vector<std::string>& facts);

struct EvalGroup {
  int64_t n = 0, exact = 0, label = 0, recall = 0, recall_any_order = 0;
  std::map<std::string, int64_t> answers;  // gold answer counts (for chance levels)
  double label_accuracy() const { return n ? static_cast<double>(label) / n : 0.0; }
  double exact_match() const { return n ? static_cast<double>(exact) / n : 0.0; }
  double recall_rate() const { return n ? static_cast<double>(recall) / n : 0.0; }
  double recall_any_order_rate() const { return n ? static_cast<double>(recall_any_order) / n : 0.0; }
  double chance_uniform() const { return answers.empty() ? 0.0 : 1.0 / answers.size(); }
  double chance_majority() const;
};

struct EvalReport {
  bool multi_task = false;
  EvalGroup overall;
  std::map<int64_t, EvalGroup> by_hops;
  std::map<int64_t, EvalGroup> by_distractors;
  std::vector<TaskResult> tasks;
  double seconds = 0;
  // Of `seconds`, this process's time in the inner loops on the facts (encoding, with the inner
  // loss after the last step) and in answering and scoring.
  double encode_seconds = 0, answer_seconds = 0;
};

// `fact_pool`: the split's facts, for the random-facts control.
EvalReport evaluate(const ReckoningModel& model, const std::vector<Task>& tasks,
                    const EvalOptions& options, const std::vector<std::string>& fact_pool = {});

// Runs one task (used by evaluate and by `reckoning answer`-style tools).
TaskResult evaluate_task(const ReckoningModel& model, const Task& task, const EvalOptions& options,
                         const std::vector<std::string>& fact_pool = {});
// Runs several tasks with their knowledge encoded at once (one task-batched inner loop) and their
// questions answered in one batch, each with its own adapted weights; the results in the tasks'
// order.
// `phases`, when given, gets the seconds of the two phases added (EvalReport's encode_seconds and
// answer_seconds).
std::vector<TaskResult> evaluate_tasks(const ReckoningModel& model, const std::vector<Task>& tasks,
                                       const EvalOptions& options, const std::vector<std::string>& fact_pool = {},
                                       EvalReport* phases = nullptr);

nlohmann::json eval_report_to_json(const EvalReport& report, bool with_tasks);
// One task's result as the report's "tasks" entries hold it, and back (exactly: doubles round-trip).
nlohmann::json task_result_to_json(const TaskResult& r);
TaskResult task_result_from_json(const nlohmann::json& j, const std::string& where);
// The terminal table: overall, per hop, per distractor count; accuracy next to chance.
std::string eval_report_table(const EvalReport& report);

// The generation budget of evaluation, one rule for training's validation, its test set and
// `reckoning eval`: `requested` if > 0; else the model's saved eval.max_new_tokens if > 0 (the
// trainer saves the budget it validated with); else a multi-task model's whole context (it recalls
// a fact list that grows with the chain); else the longest training target + 4 when it is known
// (`longest_target` > 0, tokens), 8 otherwise.
int64_t eval_generation_budget(const ReckoningModel& model, int64_t requested, int64_t longest_target = 0);

// All facts (relevant and distractors) of a split, for the random-facts control.
std::vector<std::string> fact_pool_of(const std::vector<Task>& tasks);

}  // namespace reckoning
