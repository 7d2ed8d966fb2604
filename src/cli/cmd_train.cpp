// `reckoning train`, `reckoning eval`: meta-training and evaluation (trainer.h, evaluate.h).
#include <iostream>

#include "command.h"
#include "reckoning/eval/evaluate.h"
#include "reckoning/eval/labels.h"
#include "reckoning/base/io.h"
#include "reckoning/dist/process_group.h"
#include "reckoning/train/trainer.h"

namespace {

using namespace reckoning;

struct TrainArgs {
  std::string config;
  std::vector<std::string> sets;
  bool resume = false;
  int64_t stop_after = 0;
  bool test = true;
  bool list_keys = false;
  bool print_config = false;
};

int run_train(const TrainArgs& a) {
  if (a.list_keys) {
    std::cout << "| key | type | default | in a model | meaning |\n|---|---|---|---|---|\n";
    for (const auto& k : run_config_keys()) {
      std::cout << "| `" << k.key << "` | " << k.type << " | `" << k.default_value << "` | " << (k.model ? "yes" : "")
                << " | " << k.help << " |\n";
    }
    return 0;
  }
  RunConfig config = a.config.empty() ? RunConfig{} : run_config_load(a.config);
  for (const auto& s : a.sets) run_config_set(config, s, "--set");
  run_config_validate_training(config);
  if (a.print_config) {  // one `key: value` line per key: itself a loadable configuration file
    const nlohmann::json resolved = run_config_to_json(config);  // kept alive: items() only refers to it
    for (const auto& [key, value] : resolved.items()) std::cout << key << ": " << value.dump() << "\n";
    return 0;
  }
  TrainOptions options;
  options.resume = a.resume;
  options.stop_after = a.stop_after;
  TrainSummary summary = train(config, options);
  const bool main_process = dist_env().rank == 0;  // with several processes, rank 0 reports
  if (main_process) std::cerr << "trained " << summary.steps << " steps"
            << (summary.early_stopped ? " (early stop)" : "") << "; best validation accuracy "
            << (summary.best_valid_accuracy >= 0 ? std::to_string(100 * summary.best_valid_accuracy) + "%" : "n/a")
            << " at step " << summary.best_step << "\n";
  if (!a.test) return 0;
  std::optional<EvalReport> report = evaluate_test_set(config, summary, options);
  if (report && main_process) {
    std::cout << "test set (" << config.data_test << "), best checkpoint (step " << summary.best_step << "):\n"
              << eval_report_table(*report);
  }
  return 0;
}

const cli::RegisterCommand train_command(
    "train", "Meta-train a RECKONING model (or a baseline) from a YAML configuration", 500,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<TrainArgs>();
      app.add_option("--config", a->config, "YAML configuration file (keys: docs/TRAINING.md)")->check(CLI::ExistingFile);
      app.add_option("--set", a->sets, "Override a key: --set inner.steps=6 (repeatable)");
      app.add_flag("--resume", a->resume, "Continue from RUN_DIR/checkpoints/last");
      app.add_option("--stop-after", a->stop_after, "Stop after this many steps in total (with a checkpoint)")
          ->check(CLI::NonNegativeNumber);
      app.add_flag("!--no-test", a->test, "Do not evaluate data.test at the end");
      app.add_flag("--list-keys", a->list_keys, "Print every configuration key (markdown table) and exit");
      app.add_flag("--print-config", a->print_config,
                   "Print the resolved configuration (bases, --set applied, validated) as `key: value` lines and exit");
      return [a] { return run_train(*a); };
    });

struct EvalArgs {
  std::string model, data, out;
  std::vector<std::string> sets;
  int64_t beams = 1, max_new_tokens = 0, max_tasks = 0, batch_tasks = 0;
  bool tasks = false;
};

int run_eval(const EvalArgs& a) {
  ReckoningModel model = reckoning_model_load(a.model);
  fit_default_threads(model.config);
  for (const auto& s : a.sets) run_config_set(model.run, s, "--set");
  run_config_validate(model.run);
  reckoning_model_to(model, model.device());
  const MatmulDtypeScope matmul_scope(model.matmul_dtype());
  std::vector<Task> tasks = tasks_load(a.data);
  EvalOptions eo;
  eo.num_beams = a.beams;
  eo.max_tasks = a.max_tasks;
  eo.batch_tasks = a.batch_tasks > 0 ? a.batch_tasks : model.run.eval_batch_tasks;
  eo.max_new_tokens = eval_generation_budget(model, a.max_new_tokens);  // the budget the trainer used
  // The model's label set (eval.labels; --set eval.labels=... overrides; "auto" = these tasks' answers).
  eo.labels = labels_resolve(model.run.eval_labels, tasks, model.prompt(), "eval.labels");
  // Under `reckoning launch` / torchrun the processes share the tasks (gathered exactly); rank 0 reports.
  std::shared_ptr<ProcessGroup> group = process_group(model.run.dist_backend, model.device(), model.run.dist_timeout);
  if (group->size() > 1) {
    eo.shard = {group->rank(), group->size(),
                [group](const std::string& mine) { return group->all_gather_text(mine, "evaluation results"); }};
  }
  EvalReport report = evaluate(model, tasks, eo, fact_pool_of(tasks));
  if (!group->main()) return 0;
  std::cout << eval_report_table(report);
  if (!a.out.empty()) write_json_file_atomic(a.out, eval_report_to_json(report, a.tasks));
  return 0;
}

const cli::RegisterCommand eval_command(
    "eval", "Evaluate a model on canonical tasks: accuracy per hop and per distractor count", 600,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<EvalArgs>();
      app.add_option("--model", a->model, "Model directory")->required()->check(CLI::ExistingDirectory);
      app.add_option("--data", a->data, "Tasks (canonical JSONL)")->required()->check(CLI::ExistingFile);
      app.add_option("--out", a->out, "Write the report as JSON");
      app.add_flag("--tasks", a->tasks, "Include every task's prediction in the JSON report");
      app.add_option("--beams", a->beams, "Beam width (1 = greedy)")->check(CLI::PositiveNumber);
      app.add_option("--max-new-tokens", a->max_new_tokens, "Generation budget")->check(CLI::NonNegativeNumber);
      app.add_option("--max-tasks", a->max_tasks, "Evaluate at most this many tasks")->check(CLI::NonNegativeNumber);
      app.add_option("--batch-tasks", a->batch_tasks,
                     "Tasks encoded and answered at once (default: eval.batch_tasks, 8); the metrics do not depend on it")
          ->check(CLI::PositiveNumber);
      app.add_option("--set", a->sets, "Override a setting of the model, e.g. --set data.distractors=2, "
                                        "--set eval.labels=yes,no,none (constrained answering)");
      return [a] { return run_eval(*a); };
    });

}  // namespace
