// Evaluation; see evaluate.h.
#include "reckoning/eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>
#include <cstdio>
#include <optional>

#include "reckoning/eval/labels.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/model/generate.h"

namespace reckoning {

double EvalGroup::chance_majority() const {
  int64_t best = 0;
  for (const auto& [answer, count] : answers) best = std::max(best, count);
  return n ? static_cast<double>(best) / n : 0.0;
}

std::vector<std::string> fact_pool_of(const std::vector<Task>& tasks) {
  std::vector<std::string> pool;
  for (const Task& t : tasks) {
    pool.insert(pool.end(), t.facts.begin(), t.facts.end());
    pool.insert(pool.end(), t.distractors.begin(), t.distractors.end());
  }
  return pool;
}

namespace {

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// (label part, recalled-facts part) of a generated multi-task target.
std::pair<std::string, std::string> split_because(const std::string& text) {
  const size_t at = text.find(" because ");
  if (at == std::string::npos) return {text, ""};
  return {text.substr(0, at), text.substr(at + 9)};
}

// The ","-separated pieces of `text`, each normalised, sorted.
std::vector<std::string> normalized_pieces(const std::string& text) {
  std::vector<std::string> pieces;
  size_t start = 0;
  for (size_t comma = text.find(','); ; comma = text.find(',', start)) {
    pieces.push_back(normalize_answer(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start)));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  std::sort(pieces.begin(), pieces.end());
  return pieces;
}

}  // namespace

RecallMatch recall_match(const std::string& recalled, const std::vector<std::string>& facts) {
  const std::string gold = join(facts, ",");
  RecallMatch m;
  m.exact = normalize_answer(recalled) == normalize_answer(gold);
  m.any_order = !facts.empty() && normalized_pieces(recalled) == normalized_pieces(gold);
  return m;
}

namespace {

// A task encoded for evaluation, checked to fit the model's context.
EncodedTask encode_for_eval(const ReckoningModel& model, const Task& task, const std::vector<std::string>& fact_pool) {
  EncodedTask encoded = encode_task(task, *model.tokenizer, model.prompt(), fact_pool);
  encoded_task_check_fits(encoded, task, model.config.n_ctx(), /*with_target=*/false, "evaluation");
  return encoded;
}

// The answers of encoded tasks with `weights` - shared by all (the base without facts), or
// task-batched with one task per entry (their adapted weights) - scored; each results[i] holds its
// task's inner losses already. Labels and greedy decoding run as one batch; beam search one task at
// a time (decoder_generate). Each answer is the one the task gets alone, up to floating-point rounding.
void answer_and_score(const ReckoningModel& model, const std::vector<const Task*>& tasks,
                      const std::vector<const EncodedTask*>& encoded, const DecoderWeights& weights,
                      const EvalOptions& options, const std::vector<TaskResult*>& results) {
  torch::NoGradGuard no_grad;
  const PromptOptions prompt = model.prompt();
  const size_t n = tasks.size();
  std::vector<std::vector<int64_t>> prompts;
  for (size_t i = 0; i < n; ++i) {
    TaskResult& r = *results[i];
    r.guid = tasks[i]->guid;
    r.hops = tasks[i]->hops;
    r.n_distractors = encoded[i]->n_distractors;
    r.target = encoded[i]->target_text;
    prompts.push_back(encoded[i]->prompt_ids);
  }
  std::vector<std::optional<std::string>> chosen(n);
  if (!options.labels.empty()) {
    const std::vector<LabelChoice> choices = label_choose_tasks(model, weights, prompts, options.labels);
    for (size_t i = 0; i < n; ++i) chosen[i] = options.labels[choices[i].index];
    if (!prompt.multi_task) {  // the label is the whole answer: nothing to generate
      for (size_t i = 0; i < n; ++i) {
        TaskResult& r = *results[i];
        r.prediction = r.label = *chosen[i];
        r.exact_match = r.label_correct = normalize_answer(*chosen[i]) == normalize_answer(encoded[i]->answer_text);
      }
      return;
    }
  }
  GenerateOptions generate;
  generate.num_beams = options.num_beams;
  generate.eos_id = model.tokenizer->eos_id();
  generate.max_new_tokens_each = generation_budgets(model.config, prompts, options.max_new_tokens);
  const std::vector<std::vector<int64_t>> ids = decoder_generate(model.config, weights, prompts, generate);
  for (size_t i = 0; i < n; ++i) {
    TaskResult& r = *results[i];
    r.prediction = model.tokenizer->decode(ids[i]);
    r.exact_match = normalize_answer(r.prediction) == normalize_answer(r.target);
    // Only a multi-task model's target is "{answer} because {facts}": a single-task answer that
    // happens to contain " because " is scored whole.
    auto [label, recalled] = prompt.multi_task ? split_because(r.prediction)
                                               : std::pair<std::string, std::string>{r.prediction, ""};
    r.label = chosen[i] ? *chosen[i] : label;
    r.label_correct = normalize_answer(r.label) == normalize_answer(encoded[i]->answer_text);
    if (prompt.multi_task) {
      const RecallMatch m = recall_match(recalled, tasks[i]->facts);
      r.recall_correct = m.exact;
      r.recall_any_order = m.any_order;
    }
  }
}

}  // namespace

TaskResult evaluate_task(const ReckoningModel& model, const Task& task, const EvalOptions& options,
                         const std::vector<std::string>& fact_pool) {
  EvalOptions one = options;
  one.batch_tasks = 1;
  return evaluate_tasks(model, {task}, one, fact_pool).front();
}

namespace {

// Adds the seconds from its construction to its end to `*to` (when not null).
class PhaseTimer {
 public:
  explicit PhaseTimer(double* to) : to_(to), start_(std::chrono::steady_clock::now()) {}
  ~PhaseTimer() {
    if (to_ != nullptr) *to_ += std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  }
  PhaseTimer(const PhaseTimer&) = delete;
  PhaseTimer& operator=(const PhaseTimer&) = delete;

 private:
  double* to_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

std::vector<TaskResult> evaluate_tasks(const ReckoningModel& model, const std::vector<Task>& tasks,
                                       const EvalOptions& options, const std::vector<std::string>& fact_pool,
                                       EvalReport* phases) {
  double* encode_seconds = phases != nullptr ? &phases->encode_seconds : nullptr;
  double* answer_seconds = phases != nullptr ? &phases->answer_seconds : nullptr;
  torch::NoGradGuard outer_no_grad;
  std::vector<EncodedTask> encoded;
  for (const Task& task : tasks) encoded.push_back(encode_for_eval(model, task, fact_pool));
  std::vector<TaskResult> results(tasks.size());
  // Tasks of indices `part` answered in one batch with `weights` (shared or one task each).
  auto answer = [&](const std::vector<size_t>& part, const DecoderWeights& weights) {
    std::vector<const Task*> t;
    std::vector<const EncodedTask*> e;
    std::vector<TaskResult*> r;
    for (size_t i : part) {
      t.push_back(&tasks[i]);
      e.push_back(&encoded[i]);
      r.push_back(&results[i]);
    }
    const PhaseTimer timer(answer_seconds);
    answer_and_score(model, t, e, weights, options, r);
  };
  // The tasks with facts: their knowledge encoded batch_tasks at a time (the inner loss before each
  // step, then after the last) and their questions answered with the adapted weights in one batch;
  // the tasks without facts answered by the base weights.
  std::vector<size_t> with_facts, without_facts;
  for (size_t i = 0; i < tasks.size(); ++i) {
    (encoded[i].facts.ids.defined() ? with_facts : without_facts).push_back(i);
  }
  const size_t group = static_cast<size_t>(std::max<int64_t>(1, options.batch_tasks));
  for (size_t start = 0; start < with_facts.size(); start += group) {
    const std::vector<size_t> part(with_facts.begin() + static_cast<std::ptrdiff_t>(start),
                                   with_facts.begin() + static_cast<std::ptrdiff_t>(std::min(with_facts.size(), start + group)));
    std::vector<LmBatch> facts;
    for (size_t i : part) facts.push_back(encoded[i].facts);
    if (part.size() == 1) {
      DecoderWeights adapted;
      {
        const PhaseTimer timer(encode_seconds);
        torch::AutoGradMode enable(true);  // the inner loop differentiates the inner loss
        InnerResult one = inner_loop(model.config, model.weights, model.lrs, model.inner(), facts.front(),
                                     InnerMode::Evaluate, /*dropout=*/false);
        adapted = std::move(one.weights);
        for (const auto& step : one.trace) results[part.front()].inner_losses.push_back(step.loss);
        torch::NoGradGuard no_grad;
        results[part.front()].inner_losses.push_back(masked_lm_loss(model.config, adapted, facts.front(), false).item<double>());
      }
      answer(part, adapted);
      continue;
    }
    InnerBatchResult batch;
    {
      const PhaseTimer timer(encode_seconds);
      {
        torch::AutoGradMode enable(true);
        batch = inner_loop_tasks(model.config, model.weights, model.lrs, model.inner(), facts, InnerMode::Evaluate,
                                 /*dropout=*/false);
      }
      const torch::Tensor after =
          masked_lm_loss_per_task(model.config, batch.weights, lm_batch_stack(facts), batch.tasks, false)
              .to(torch::kCPU, torch::kFloat64);
      for (size_t t = 0; t < part.size(); ++t) {
        for (const auto& step : batch.traces[t]) results[part[t]].inner_losses.push_back(step.loss);
        results[part[t]].inner_losses.push_back(after[static_cast<int64_t>(t)].item<double>());
      }
    }
    answer(part, batch.weights);
  }
  for (size_t start = 0; start < without_facts.size(); start += group) {
    answer({without_facts.begin() + static_cast<std::ptrdiff_t>(start),
            without_facts.begin() + static_cast<std::ptrdiff_t>(std::min(without_facts.size(), start + group))},
           model.weights);
  }
  return results;
}

namespace {

// Counts one task's result into the report's groups (overall, its hop count, its distractors).
void record_result(EvalReport& report, const Task& task, TaskResult r, const PromptOptions& prompt) {
  const std::string answer = answer_text(task, prompt);
  for (EvalGroup* g : {&report.overall, &report.by_hops[r.hops], &report.by_distractors[r.n_distractors]}) {
    ++g->n;
    g->exact += r.exact_match;
    g->label += r.label_correct;
    g->recall += r.recall_correct;
    g->recall_any_order += r.recall_any_order;
    ++g->answers[answer];
  }
  report.tasks.push_back(std::move(r));
}

}  // namespace

EvalReport evaluate(const ReckoningModel& model, const std::vector<Task>& tasks,
                    const EvalOptions& options, const std::vector<std::string>& fact_pool) {
  const auto start = std::chrono::steady_clock::now();
  EvalReport report;
  report.multi_task = model.run.multi_task;
  const std::vector<Task> chosen = tasks_subsample(tasks, options.max_tasks);
  // A group of tasks at a time: encoded at once, answered one by one. The groups are formed from the
  // tasks ordered by how many facts they carry (stable), so that a batch pads little; the report
  // keeps the tasks' order.
  std::vector<size_t> order(chosen.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return chosen[a].facts.size() + chosen[a].distractors.size() < chosen[b].facts.size() + chosen[b].distractors.size();
  });
  std::vector<TaskResult> results(chosen.size());
  const size_t group = static_cast<size_t>(std::max<int64_t>(1, options.batch_tasks));
  const EvalShard& shard = options.shard;
  check(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count && (shard.count == 1 || shard.all_gather),
        "evaluation shard", "index in [0, count) and a gather for count > 1", str(shard.index, " of ", shard.count));
  nlohmann::json mine = nlohmann::json::array();  // [task index, result] of this process's groups
  for (size_t first = 0, g = 0; first < order.size(); first += group, ++g) {
    if (static_cast<int>(g % static_cast<size_t>(shard.count)) != shard.index) continue;
    const size_t last = std::min(order.size(), first + group);
    std::vector<Task> part;
    for (size_t k = first; k < last; ++k) part.push_back(chosen[order[k]]);
    std::vector<TaskResult> done = evaluate_tasks(model, part, options, fact_pool, &report);
    for (size_t k = first; k < last; ++k) {
      if (shard.count > 1) mine.push_back({order[k], task_result_to_json(done[k - first])});
      results[order[k]] = std::move(done[k - first]);
    }
  }
  if (shard.count > 1) {
    // Every task comes back exactly once, from the process that evaluated it.
    std::vector<int> seen(chosen.size(), 0);
    // CBOR: a generated text's bytes go as they are (a prediction may end inside a multi-byte
    // character, which JSON text could not carry), doubles exactly.
    const std::vector<std::uint8_t> packed = nlohmann::json::to_cbor(mine);
    const std::vector<std::string> all = shard.all_gather(std::string(packed.begin(), packed.end()));
    for (size_t p = 0; p < all.size(); ++p) {
      const std::string where = str("evaluation results of process ", p);
      nlohmann::json theirs;
      try {
        theirs = nlohmann::json::from_cbor(all[p]);
      } catch (const nlohmann::json::exception& e) {
        throw Error(str(where, ": expected CBOR of task results, got ", e.what()));
      }
      for (const auto& entry : theirs) {
        const size_t i = entry.at(0).get<size_t>();
        check(i < chosen.size() && seen[i]++ == 0, where, "each task once", str("task index ", i));
        if (static_cast<int>(p) != shard.index) results[i] = task_result_from_json(entry.at(1), where);
      }
    }
    for (size_t i = 0; i < chosen.size(); ++i)
      check(seen[i] == 1, "sharded evaluation", "every task evaluated by one process", str("task ", i, " by none"));
  }
  for (size_t i = 0; i < chosen.size(); ++i) record_result(report, chosen[i], std::move(results[i]), model.prompt());
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

namespace {

nlohmann::json group_json(const EvalGroup& g, bool multi_task) {
  nlohmann::json j = {{"n", g.n},
                      {"label_accuracy", g.label_accuracy()},
                      {"exact_match", g.exact_match()},
                      {"chance_uniform", g.chance_uniform()},
                      {"chance_majority", g.chance_majority()}};
  if (multi_task) {
    j["knowledge_recall"] = g.recall_rate();
    j["knowledge_recall_any_order"] = g.recall_any_order_rate();
  }
  return j;
}

}  // namespace

nlohmann::json eval_report_to_json(const EvalReport& report, bool with_tasks) {
  nlohmann::json j = {{"overall", group_json(report.overall, report.multi_task)},
                      {"seconds", report.seconds},
                      {"by_hops", nlohmann::json::object()},
                      {"by_distractors", nlohmann::json::object()}};
  for (const auto& [h, g] : report.by_hops) j["by_hops"][std::to_string(h)] = group_json(g, report.multi_task);
  for (const auto& [d, g] : report.by_distractors) j["by_distractors"][std::to_string(d)] = group_json(g, report.multi_task);
  if (with_tasks) {
    j["tasks"] = nlohmann::json::array();
    for (const TaskResult& r : report.tasks) j["tasks"].push_back(task_result_to_json(r));
  }
  return j;
}

nlohmann::json task_result_to_json(const TaskResult& r) {
  return {{"guid", r.guid}, {"hops", r.hops}, {"distractors", r.n_distractors},
          {"target", r.target}, {"prediction", r.prediction}, {"label", r.label},
          {"exact_match", r.exact_match}, {"label_correct", r.label_correct},
          {"recall_correct", r.recall_correct}, {"recall_any_order", r.recall_any_order},
          {"inner_losses", r.inner_losses}};
}

TaskResult task_result_from_json(const nlohmann::json& j, const std::string& where) {
  TaskResult r;
  try {
    r.guid = j.at("guid");
    r.hops = j.at("hops");
    r.n_distractors = j.at("distractors");
    r.target = j.at("target");
    r.prediction = j.at("prediction");
    r.label = j.at("label");
    r.exact_match = j.at("exact_match");
    r.label_correct = j.at("label_correct");
    r.recall_correct = j.at("recall_correct");
    r.recall_any_order = j.at("recall_any_order");
    r.inner_losses = j.at("inner_losses").get<std::vector<double>>();  // (CBOR carries NaN and Inf)
  } catch (const nlohmann::json::exception& e) {
    throw Error(str(where, ": expected a task result (guid, hops, distractors, target, prediction, ...), got ", e.what()));
  }
  return r;
}

std::string eval_report_table(const EvalReport& report) {
  std::string out;
  char line[256];
  auto header = [&](const char* what) {
    std::snprintf(line, sizeof line, "%-16s %6s %9s %9s %8s %8s%s\n", what, "n", "accuracy", "exact",
                  "chance", "majority", report.multi_task ? "   recall  any order" : "");
    out += line;
  };
  auto row = [&](const std::string& name, const EvalGroup& g) {
    std::snprintf(line, sizeof line, "%-16s %6lld %8.1f%% %8.1f%% %7.1f%% %7.1f%%", name.c_str(),
                  static_cast<long long>(g.n), 100 * g.label_accuracy(), 100 * g.exact_match(),
                  100 * g.chance_uniform(), 100 * g.chance_majority());
    out += line;
    if (report.multi_task) {
      std::snprintf(line, sizeof line, " %7.1f%% %9.1f%%", 100 * g.recall_rate(), 100 * g.recall_any_order_rate());
      out += line;
    }
    out += "\n";
  };
  header("split");
  row("overall", report.overall);
  header("hops");
  for (const auto& [h, g] : report.by_hops) row(std::to_string(h) + " hops", g);
  if (report.by_distractors.size() > 1 || (!report.by_distractors.empty() && report.by_distractors.begin()->first != 0)) {
    header("distractors");
    for (const auto& [d, g] : report.by_distractors) row(std::to_string(d) + " distractors", g);
  }
  return out;
}

int64_t eval_generation_budget(const ReckoningModel& model, int64_t requested, int64_t longest_target) {
  if (requested > 0) return requested;
  if (model.run.eval_max_new_tokens > 0) return model.run.eval_max_new_tokens;
  if (model.run.multi_task) return model.config.n_ctx();
  return longest_target > 0 ? longest_target + 4 : 8;
}

}  // namespace reckoning
