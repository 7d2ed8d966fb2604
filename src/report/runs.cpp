// The run report's data: run directories loaded and checked, grouped into arms, seed spreads;
// see report.h. The page: html.cpp; the markdown tables: markdown.cpp.
#include "reckoning/report/report.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"

namespace reckoning {

namespace {

std::string json_kind(const nlohmann::json& j) {
  std::string text = j.dump();
  if (text.size() > 40) text = text.substr(0, 40) + "...";
  return text;
}

double number_at(const nlohmann::json& j, const std::string& key, const std::string& where) {
  check(j.is_object() && j.contains(key), str(where, ": field '", key, "'"), "present", "missing");
  const nlohmann::json& v = j.at(key);
  check(v.is_number(), str(where, ": field '", key, "'"), "a number", json_kind(v));
  return v.get<double>();
}

ReportAccuracy accuracy_parse(const nlohmann::json& j, const std::string& where) {
  check(j.is_object(), where, "an object with n, label_accuracy, ...", json_kind(j));
  ReportAccuracy a;
  a.n = static_cast<int64_t>(number_at(j, "n", where));
  a.label_accuracy = number_at(j, "label_accuracy", where);
  a.exact_match = j.contains("exact_match") ? number_at(j, "exact_match", where) : a.label_accuracy;
  a.chance_uniform = j.contains("chance_uniform") ? number_at(j, "chance_uniform", where) : 0.0;
  a.chance_majority = j.contains("chance_majority") ? number_at(j, "chance_majority", where) : 0.0;
  if (j.contains("knowledge_recall")) a.knowledge_recall = number_at(j, "knowledge_recall", where);
  if (j.contains("knowledge_recall_any_order")) {
    a.knowledge_recall_any_order = number_at(j, "knowledge_recall_any_order", where);
  }
  return a;
}

std::map<int64_t, ReportAccuracy> groups_parse(const nlohmann::json& j, const std::string& key,
                                               const std::string& where) {
  std::map<int64_t, ReportAccuracy> out;
  if (!j.contains(key)) return out;
  const nlohmann::json& groups = j.at(key);
  check(groups.is_object(), str(where, ": field '", key, "'"), "an object keyed by count", json_kind(groups));
  for (const auto& [name, value] : groups.items()) {
    int64_t count = 0;
    try {
      size_t used = 0;
      count = std::stoll(name, &used);
      if (used != name.size()) throw std::invalid_argument(name);
    } catch (const std::exception&) {
      throw_error(str(where, ": field '", key, "'"), "integer keys", str("'", name, "'"));
    }
    out[count] = accuracy_parse(value, str(where, ": field '", key, ".", name, "'"));
  }
  return out;
}

// The lines of a .jsonl file as JSON objects; errors name file:line.
std::vector<std::pair<nlohmann::json, std::string>> jsonl_read(const std::string& path) {
  std::vector<std::pair<nlohmann::json, std::string>> lines;
  std::istringstream in(read_file(path));
  int64_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = str(path, ":", number);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw_error(where, "a JSON object", str("invalid JSON (", e.what(), ")"));
    }
    check(j.is_object(), where, "a JSON object", json_kind(j));
    lines.emplace_back(std::move(j), where);
  }
  return lines;
}

std::vector<double> number_list(const nlohmann::json& j, const std::string& where) {
  check(j.is_array(), where, "an array of numbers", json_kind(j));
  std::vector<double> out;
  for (const auto& v : j) {
    check(v.is_number(), where, "an array of numbers", json_kind(j));
    out.push_back(v.get<double>());
  }
  return out;
}

ReportRateTable rate_table_parse(const nlohmann::json& j, const std::string& where) {
  check(j.is_object() && j.contains("rows") && j.contains("values"), where,
        "an object with 'rows' and 'values'", json_kind(j));
  ReportRateTable t;
  if (j.contains("mode") && j.at("mode").is_string()) t.mode = j.at("mode").get<std::string>();
  check(j.at("rows").is_array(), str(where, ".rows"), "an array of names", json_kind(j.at("rows")));
  for (const auto& r : j.at("rows")) {
    check(r.is_string(), str(where, ".rows"), "an array of names", json_kind(j.at("rows")));
    t.rows.push_back(r.get<std::string>());
  }
  check(j.at("values").is_array() && j.at("values").size() == t.rows.size(), str(where, ".values"),
        str(t.rows.size(), " rows (one per name)"), json_kind(j.at("values")));
  for (const auto& row : j.at("values")) t.values.push_back(number_list(row, str(where, ".values")));
  return t;
}

std::optional<ReportRateTable> rate_table_load(const std::string& path) {
  Safetensors file = safetensors_load(path, torch::kFloat64);
  const torch::Tensor* values = file.find("inner_lrs");
  check(values != nullptr, path, "a tensor 'inner_lrs'", "none");
  check(values->dim() == 2, str(path, ": tensor 'inner_lrs'"), "2 dimensions (groups, inner steps)",
        str(values->dim(), " dimensions"));
  const bool log_space = file.metadata.count("log_space") && file.metadata.at("log_space") == "true";
  torch::Tensor rates = (log_space ? values->exp() : *values).contiguous();  // (G, N)
  ReportRateTable t;
  if (file.metadata.count("mode")) t.mode = file.metadata.at("mode");
  std::vector<std::string> labels;
  if (file.metadata.count("rows")) {
    std::stringstream in(file.metadata.at("rows"));
    for (std::string label; std::getline(in, label, ',');) labels.push_back(label);
  }
  for (int64_t g = 0; g < rates.size(0); ++g) {
    torch::Tensor row = rates[g].contiguous();
    t.rows.push_back(static_cast<int64_t>(labels.size()) == rates.size(0) ? labels[static_cast<size_t>(g)]
                                                                          : str("group ", g));
    t.values.emplace_back(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
  }
  return t;
}

std::string base_name(const std::string& dir) {
  const std::string name = file_name(normal_path(dir));
  return name.empty() || name == "." || name == ".." ? dir : name;
}

}  // namespace

ReportBreakdown report_breakdown_parse(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, "an evaluation report object", json_kind(json));
  check(json.contains("overall"), str(where, ": field 'overall'"), "present", "missing");
  ReportBreakdown b;
  b.overall = accuracy_parse(json.at("overall"), str(where, ": field 'overall'"));
  b.by_hops = groups_parse(json, "by_hops", where);
  b.by_distractors = groups_parse(json, "by_distractors", where);
  return b;
}

ReportRun report_run_load(const std::string& dir) {
  ReportRun run;
  run.dir = dir;
  run.name = base_name(dir);
  check(is_directory(dir), dir, "a run directory (written by reckoning train)", "no such directory");
  const std::string config_path = path_join(dir, "config.json");
  check(file_exists(config_path), config_path, "the run's resolved configuration", "no such file");
  nlohmann::json config = read_json_file(config_path);
  check(config.is_object() && config.contains("config") && config.at("config").is_object(),
        str(config_path, ": field 'config'"), "an object (the resolved configuration)", "missing");
  run.config = config.at("config");

  const std::string metrics_path = path_join(dir, "metrics.jsonl");
  if (file_exists(metrics_path)) {
    for (const auto& [j, where] : jsonl_read(metrics_path)) {
      ReportStep s;
      s.step = static_cast<int64_t>(number_at(j, "step", where));
      s.loss = number_at(j, "loss", where);
      if (j.contains("elapsed_s")) s.elapsed_s = number_at(j, "elapsed_s", where);
      if (j.contains("inner_loss")) s.inner_loss = number_list(j.at("inner_loss"), str(where, ": field 'inner_loss'"));
      run.steps.push_back(std::move(s));
    }
  } else {
    run.missing.push_back("metrics.jsonl");
  }

  const std::string eval_path = path_join(dir, "eval.jsonl");
  if (file_exists(eval_path)) {
    for (const auto& [j, where] : jsonl_read(eval_path)) {
      ReportValidation v;
      v.step = static_cast<int64_t>(number_at(j, "step", where));
      check(j.contains("valid"), str(where, ": field 'valid'"), "present", "missing");
      v.valid = report_breakdown_parse(j.at("valid"), str(where, ": field 'valid'"));
      if (j.contains("inner_lrs")) v.rates = rate_table_parse(j.at("inner_lrs"), str(where, ": field 'inner_lrs'"));
      run.validations.push_back(std::move(v));
    }
  } else {
    run.missing.push_back("eval.jsonl");
  }

  const std::string test_path = path_join(dir, "test_report.json");
  if (file_exists(test_path)) {
    nlohmann::json test = read_json_file(test_path);
    run.test = report_breakdown_parse(test, test_path);
    if (test.contains("tasks") && test.at("tasks").is_array()) {
      std::vector<double> sums;
      size_t counted = 0;
      for (size_t i = 0; i < test.at("tasks").size(); ++i) {
        const nlohmann::json& task = test.at("tasks")[i];
        if (!task.is_object() || !task.contains("inner_losses")) continue;
        std::vector<double> losses = number_list(task.at("inner_losses"), str(test_path, ": tasks[", i, "].inner_losses"));
        if (losses.empty()) continue;
        if (sums.empty()) sums.assign(losses.size(), 0.0);
        check(losses.size() == sums.size(), str(test_path, ": tasks[", i, "].inner_losses"),
              str(sums.size(), " values (as the first task)"), std::to_string(losses.size()));
        for (size_t k = 0; k < losses.size(); ++k) sums[k] += losses[k];
        ++counted;
      }
      for (double& s : sums) s /= static_cast<double>(counted);
      run.test_inner_losses = sums;
    }
  } else {
    run.missing.push_back("test_report.json");
  }

  const std::string rates_path = path_join(dir, "checkpoints/best/inner_lrs.safetensors");
  if (file_exists(rates_path)) {
    run.best_rates = rate_table_load(rates_path);
  } else {
    run.missing.push_back("checkpoints/best/inner_lrs.safetensors");
  }
  return run;
}

const std::vector<std::string>& report_ignored_keys() {
  static const std::vector<std::string> keys = {"seed",     "run_dir",   "data.train",       "data.valid",
                                                "data.test", "threads",  "log.every",        "checkpoint.every"};
  return keys;
}

std::vector<ReportArm> report_arms(std::vector<ReportRun> runs, const std::map<std::string, std::string>& labels) {
  std::vector<ReportArm> arms;
  for (ReportRun& run : runs) {
    nlohmann::json shared = run.config;
    for (const std::string& key : report_ignored_keys()) shared.erase(key);
    auto it = std::find_if(arms.begin(), arms.end(), [&](const ReportArm& a) { return a.config == shared; });
    if (it == arms.end()) {
      arms.push_back({"", {}, shared});
      it = arms.end() - 1;
    }
    it->runs.push_back(std::move(run));
  }
  // Keys whose values differ between arms, in the configuration's (sorted) key order.
  std::vector<std::string> differing;
  if (arms.size() > 1) {
    std::set<std::string> keys;
    for (const ReportArm& a : arms) for (const auto& [k, v] : a.config.items()) keys.insert(k);
    for (const std::string& k : keys) {
      const nlohmann::json first = arms.front().config.value(k, nlohmann::json());
      for (const ReportArm& a : arms) {
        if (a.config.value(k, nlohmann::json()) != first) {
          differing.push_back(k);
          break;
        }
      }
    }
  }
  std::map<std::string, std::string> by_path;
  for (const auto& [dir, name] : labels) by_path[canonical_path(dir)] = name;
  for (ReportArm& a : arms) {
    for (const ReportRun& r : a.runs) {
      auto found = by_path.find(canonical_path(r.dir));
      if (found != by_path.end()) {
        a.label = found->second;
        break;
      }
    }
    if (!a.label.empty()) continue;
    for (const std::string& k : differing) {
      const nlohmann::json v = a.config.value(k, nlohmann::json());
      a.label += (a.label.empty() ? "" : ", ") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
    }
    if (a.label.empty()) a.label = a.runs.front().name;
  }
  return arms;
}

SeedSpread seed_spread(const std::vector<double>& values) {
  SeedSpread s;
  if (values.empty()) return s;
  s.n = static_cast<int64_t>(values.size());
  s.mean = std::accumulate(values.begin(), values.end(), 0.0) / static_cast<double>(values.size());
  s.min = *std::min_element(values.begin(), values.end());
  s.max = *std::max_element(values.begin(), values.end());
  return s;
}

// The test groups' keys (hop counts, or numbers of distractors) over every run of `arms`.
std::set<int64_t> test_group_keys(const std::vector<ReportArm>& arms, bool by_hops) {
  std::set<int64_t> keys;
  for (const ReportArm& a : arms) {
    for (const ReportRun& r : a.runs) {
      if (!r.test) continue;
      for (const auto& [k, v] : by_hops ? r.test->by_hops : r.test->by_distractors) keys.insert(k);
    }
  }
  return keys;
}

// Whether any run's test report measured knowledge recall (multi-task runs).
bool any_test_recall(const std::vector<ReportArm>& arms) {
  for (const ReportArm& a : arms) {
    for (const ReportRun& r : a.runs) {
      if (r.test && r.test->overall.knowledge_recall) return true;
    }
  }
  return false;
}

}  // namespace reckoning
