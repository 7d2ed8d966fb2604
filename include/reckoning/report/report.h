// The run report (`reckoning report RUN_DIR... --out report.html`): reads trained run directories
// (config.json, metrics.jsonl, eval.jsonl, test_report.json, checkpoints/best/inner_lrs.safetensors;
// docs/TRAINING.md), groups runs into arms (same configuration except the seed and the paths) and
// renders ONE self-contained HTML page: per-hop test accuracy with the seed spread and chance,
// training curves, the learned-rate table and its evolution, inner loss per inner step, knowledge
// recall. What each chart shows: docs/REPORT.md.
// Not here: the SVG drawing primitives (svg_chart.h); no statistics beyond mean / min / max.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

// One accuracy group of an evaluation report (evaluate.h's JSON).
struct ReportAccuracy {
  int64_t n = 0;
  double label_accuracy = 0, exact_match = 0, chance_uniform = 0, chance_majority = 0;
  std::optional<double> knowledge_recall;            // multi-task reports only
  std::optional<double> knowledge_recall_any_order;  // the same, facts in any order (newer reports)
};

struct ReportBreakdown {
  ReportAccuracy overall;
  std::map<int64_t, ReportAccuracy> by_hops, by_distractors;
};

// A learned-rate table in rate space: rows = groups, columns = inner steps.
struct ReportRateTable {
  std::string mode;                  // "per-layer", "per-tensor", "static"
  std::vector<std::string> rows;
  std::vector<std::vector<double>> values;  // [group][inner step]
};

struct ReportValidation {
  int64_t step = 0;
  ReportBreakdown valid;
  std::optional<ReportRateTable> rates;  // absent in eval.jsonl files written before the table was logged
};

struct ReportStep {
  int64_t step = 0;
  double loss = 0;
  std::vector<double> inner_loss;  // per inner step (empty for baselines without an inner loop)
  double elapsed_s = 0;            // wall-clock seconds since the run (or its last resume) started
};

// Everything the report uses from one run directory.
struct ReportRun {
  std::string dir;             // as given
  std::string name;            // the directory's last component
  nlohmann::json config;       // config.json's "config" object
  std::vector<ReportStep> steps;              // metrics.jsonl (empty if absent)
  std::vector<ReportValidation> validations;  // eval.jsonl (empty if absent)
  std::optional<ReportBreakdown> test;        // test_report.json
  std::vector<double> test_inner_losses;      // mean over test tasks: before each inner step, then after the last
  std::optional<ReportRateTable> best_rates;  // checkpoints/best/inner_lrs.safetensors
  std::vector<std::string> missing;           // files that were absent (rendered as notes)
};

// Reads a run directory. config.json is required; every other file is optional (noted in
// `missing`). A malformed file throws reckoning::Error naming the file (and line for .jsonl).
ReportRun report_run_load(const std::string& dir);

// Parses one evaluation breakdown (the "valid" object of eval.jsonl, or test_report.json).
ReportBreakdown report_breakdown_parse(const nlohmann::json& json, const std::string& where);

// Runs that differ only in these configuration keys belong to the same arm: the seed, where the
// run writes, where its data lives (each seed may generate its own copy) and settings that do not
// change results (threads with a fixed count, logging cadence, checkpoint cadence).
const std::vector<std::string>& report_ignored_keys();

struct ReportArm {
  std::string label;
  std::vector<ReportRun> runs;  // seeds, in the order given
  nlohmann::json config;        // the shared configuration (first run's, ignored keys removed)
};

// Groups runs into arms (first-appearance order). Labels: `labels[run dir]` if given for any run
// of the arm, else "key=value, ..." for the keys whose values differ between arms, else the run
// directory name of the arm's first run.
std::vector<ReportArm> report_arms(std::vector<ReportRun> runs,
                                   const std::map<std::string, std::string>& labels = {});

// Mean, min and max over seeds.
struct SeedSpread {
  double mean = 0, min = 0, max = 0;
  int64_t n = 0;
};
SeedSpread seed_spread(const std::vector<double>& values);

struct ReportOptions {
  std::string title = "RECKONING run report";
  int64_t inner_loss_last_steps = 50;  // inner loss per inner step: mean over the last N training steps
};

// The test groups' keys (hop counts, or numbers of distractors) over every run of `arms`.
std::set<int64_t> test_group_keys(const std::vector<ReportArm>& arms, bool by_hops);
// Whether any run's test report measured knowledge recall (multi-task runs).
bool any_test_recall(const std::vector<ReportArm>& arms);

// The whole page (self-contained HTML: inline CSS and SVG, no scripts, no network).
std::string report_html(const std::vector<ReportArm>& arms, const ReportOptions& options = {});

// The numbers as markdown (for docs/RESULTS.md and experiment drivers): per arm, the best
// validation label accuracy (what model selection saw), test label accuracy per hop count and
// overall, knowledge recall (exact and any order; multi-task arms), training steps and wall-clock minutes; then the same
// per number of distractors when the test sets have more than one count. Each cell: the mean over
// seeds, with min-max when there are several; a last row gives chance (the majority answer).
std::string report_markdown(const std::vector<ReportArm>& arms);

// Loads `run_dirs`, groups them, writes the page to `out` (and, if `markdown_out` is not empty,
// report_markdown to it) atomically. `labels`: "DIR=NAME" items.
void report_write(const std::vector<std::string>& run_dirs, const std::vector<std::string>& labels,
                  const std::string& out, const ReportOptions& options = {}, const std::string& markdown_out = "");

}  // namespace reckoning
