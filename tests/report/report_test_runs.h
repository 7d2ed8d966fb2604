// TEST-ONLY: synthetic run directories for the report tests (report_test.cpp,
// report_browser_test.cpp). They hold what src/train/trainer.cpp and `reckoning train` write (config.json,
// metrics.jsonl, eval.jsonl, test_report.json, checkpoints/best/inner_lrs.safetensors) with chosen
// numbers, so that the tests know the expected means and spreads without training.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"

namespace reckoning::test {

struct SyntheticRun {
  std::string lr_mode = "per-layer";
  int64_t seed = 1;
  std::vector<double> hop_accuracy = {0.5, 0.3};  // test accuracy at 2 and 4 hops
  std::vector<int64_t> distractors = {0};         // distractor counts in the test report
  bool multi_task = false;
  int64_t steps = 40, eval_every = 10;
  bool test_report = true, eval = true, checkpoint = true;
};

inline nlohmann::json synthetic_group(double accuracy, int64_t n, bool multi_task) {
  nlohmann::json g = {{"n", n}, {"label_accuracy", accuracy}, {"exact_match", accuracy},
                      {"chance_uniform", 0.05}, {"chance_majority", 0.125}};
  if (multi_task) {
    g["knowledge_recall"] = accuracy / 2;
    g["knowledge_recall_any_order"] = accuracy * 3 / 4;
  }
  return g;
}

inline nlohmann::json synthetic_breakdown(const SyntheticRun& r, double scale) {
  nlohmann::json hops = nlohmann::json::object(), distractors = nlohmann::json::object();
  double sum = 0;
  for (size_t i = 0; i < r.hop_accuracy.size(); ++i) {
    hops[std::to_string(2 * (i + 1))] = synthetic_group(r.hop_accuracy[i] * scale, 50, r.multi_task);
    sum += r.hop_accuracy[i] * scale;
  }
  const double overall = sum / static_cast<double>(r.hop_accuracy.size());
  for (size_t i = 0; i < r.distractors.size(); ++i) {
    distractors[std::to_string(r.distractors[i])] = synthetic_group(overall * (1 - 0.1 * i), 100, r.multi_task);
  }
  return {{"overall", synthetic_group(overall, 100, r.multi_task)}, {"by_hops", hops}, {"by_distractors", distractors}};
}

// Rates in rate space for a run: rows depend on the mode, values on the step (for evolution).
inline std::vector<std::vector<double>> synthetic_rates(const SyntheticRun& r, int64_t step) {
  const size_t rows = r.lr_mode == "static" ? 1 : 4;
  std::vector<std::vector<double>> values(rows, std::vector<double>(3));
  for (size_t g = 0; g < rows; ++g) {
    for (size_t k = 0; k < 3; ++k) {
      values[g][k] = r.lr_mode == "static" ? 3e-3 : 3e-3 * std::exp(0.01 * static_cast<double>(step) * (g + 1.0) * (k % 2 ? 1 : -1));
    }
  }
  return values;
}

inline std::vector<std::string> synthetic_rows(const SyntheticRun& r) {
  if (r.lr_mode == "static") return {"all"};
  return {"embeddings", "h.0", "h.1", "ln_f"};
}

// Writes the run directory `dir` (replacing it).
inline void synthetic_run_write(const std::string& dir, const SyntheticRun& r) {
  namespace fs = std::filesystem;
  reckoning::remove_tree(dir);
  fs::create_directories(dir);
  nlohmann::json config = {{"seed", r.seed},
                           {"run_dir", dir},
                           {"data.train", dir + "/data/train.jsonl"},
                           {"data.test", dir + "/data/test.jsonl"},
                           {"method", "reckoning"},
                           {"inner.lr_mode", r.lr_mode},
                           {"inner.steps", 3},
                           {"inner.log_space", true},
                           {"multi_task", r.multi_task},
                           {"threads", 1}};
  write_json_file_atomic(path_join(dir, "config.json"), {{"config", config}, {"reckoning_version", "test"}});
  std::string metrics;
  for (int64_t s = 1; s <= r.steps; ++s) {
    const double loss = 4.0 * std::exp(-0.05 * static_cast<double>(s)) + 0.1 * static_cast<double>(r.seed);
    nlohmann::json line = {{"step", s}, {"loss", loss}, {"inner_loss", {3.0, 2.0, 1.5}}, {"lr", 1e-3},
                           {"elapsed_s", 3.0 * static_cast<double>(s)}};
    metrics += line.dump() + "\n";
  }
  write_file_atomic(path_join(dir, "metrics.jsonl"), metrics);
  if (r.eval) {
    std::string eval;
    for (int64_t s = r.eval_every; s <= r.steps; s += r.eval_every) {
      nlohmann::json line = {{"step", s},
                             {"valid", synthetic_breakdown(r, static_cast<double>(s) / static_cast<double>(r.steps))},
                             {"inner_lrs", {{"mode", r.lr_mode}, {"log_space", true}, {"rows", synthetic_rows(r)},
                                            {"values", synthetic_rates(r, s)}}}};
      eval += line.dump() + "\n";
    }
    write_file_atomic(path_join(dir, "eval.jsonl"), eval);
  }
  if (r.test_report) {
    nlohmann::json report = synthetic_breakdown(r, 1.0);
    report["tasks"] = nlohmann::json::array();
    for (int i = 0; i < 4; ++i) {
      report["tasks"].push_back({{"guid", "t" + std::to_string(i)}, {"inner_losses", {4.0 + i, 3.0, 2.0, 1.0 + i}}});
    }
    write_json_file_atomic(path_join(dir, "test_report.json"), report);
  }
  if (r.checkpoint) {
    // Stored as the trainer stores it in log-space mode: log(rate).
    std::vector<std::vector<double>> rates = synthetic_rates(r, r.steps);
    torch::Tensor values = torch::zeros({static_cast<int64_t>(rates.size()), 3}, torch::kFloat32);
    for (size_t g = 0; g < rates.size(); ++g) {
      for (size_t k = 0; k < 3; ++k) values[static_cast<int64_t>(g)][static_cast<int64_t>(k)] = std::log(rates[g][k]);
    }
    std::string rows;
    for (const std::string& name : synthetic_rows(r)) rows += (rows.empty() ? "" : ",") + name;
    fs::create_directories(path_join(dir, "checkpoints/best"));
    safetensors_save(path_join(dir, "checkpoints/best/inner_lrs.safetensors"), {{"inner_lrs", values}},
                     {{"mode", r.lr_mode}, {"log_space", "true"}, {"rows", rows}});
  }
}

// The <svg>...</svg> elements of a page, in order.
inline std::vector<std::string> svg_elements(const std::string& html) {
  std::vector<std::string> out;
  for (size_t at = html.find("<svg"); at != std::string::npos; at = html.find("<svg", at + 1)) {
    const size_t end = html.find("</svg>", at);
    if (end == std::string::npos) break;
    out.push_back(html.substr(at, end + 6 - at));
  }
  return out;
}

}  // namespace reckoning::test
