// The run report's numbers as markdown tables (docs/RESULTS.md, experiment drivers); see report.h.
#include "reckoning/report/report.h"

#include <cmath>
#include <cstdio>
#include <set>
#include <sstream>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

// Percent; the mean, with the min-max range when there are several values that differ.
std::string markdown_cell(const std::vector<double>& values) {
  const SeedSpread s = seed_spread(values);
  if (s.n == 0) return "-";
  char buffer[64];
  if (s.n == 1 || s.min == s.max) std::snprintf(buffer, sizeof buffer, "%.1f", 100 * s.mean);
  else std::snprintf(buffer, sizeof buffer, "%.1f (%.1f-%.1f)", 100 * s.mean, 100 * s.min, 100 * s.max);
  return buffer;
}

// One markdown table of test label accuracy per group (hops or distractors), one row per arm.
std::string markdown_block(const std::vector<ReportArm>& arms, bool by_hops) {
  const std::set<int64_t> keys = test_group_keys(arms, by_hops);
  const bool recall = any_test_recall(arms);
  const char* noun = by_hops ? "hops" : "distractors";
  std::ostringstream s;
  s << "| arm | seeds |" << (by_hops ? " best valid |" : "");
  for (int64_t k : keys) s << " " << k << " " << noun << " |";
  s << " test overall |" << (recall ? " recall | recall any order |" : "") << (by_hops ? " steps | train min |" : "")
    << "\n|---|---|" << (by_hops ? "---|" : "");
  for (size_t i = 0; i < keys.size() + 1 + (recall ? 2 : 0) + (by_hops ? 2 : 0); ++i) s << "---|";
  s << "\n";
  std::map<int64_t, std::vector<double>> chance;
  std::vector<double> chance_overall;
  for (const ReportArm& a : arms) {
    std::vector<double> best_valid, overall, recalls, recalls_any_order, minutes;
    std::map<int64_t, std::vector<double>> groups;
    std::string steps;
    for (const ReportRun& r : a.runs) {
      double best = -1;
      for (const ReportValidation& v : r.validations) best = std::max(best, v.valid.overall.label_accuracy);
      if (best >= 0) best_valid.push_back(best);
      if (!r.steps.empty()) {
        minutes.push_back(r.steps.back().elapsed_s / 60);
        steps += (steps.empty() ? "" : ", ") + std::to_string(r.steps.back().step);
      }
      if (!r.test) continue;
      overall.push_back(r.test->overall.label_accuracy);
      chance_overall.push_back(r.test->overall.chance_majority);
      if (r.test->overall.knowledge_recall) recalls.push_back(*r.test->overall.knowledge_recall);
      if (r.test->overall.knowledge_recall_any_order) {
        recalls_any_order.push_back(*r.test->overall.knowledge_recall_any_order);
      }
      for (const auto& [k, g] : by_hops ? r.test->by_hops : r.test->by_distractors) {
        groups[k].push_back(g.label_accuracy);
        chance[k].push_back(g.chance_majority);
      }
    }
    s << "| " << a.label << " | " << a.runs.size() << " |" << (by_hops ? " " + markdown_cell(best_valid) + " |" : "");
    for (int64_t k : keys) s << " " << markdown_cell(groups[k]) << " |";
    s << " " << markdown_cell(overall) << " |"
      << (recall ? " " + markdown_cell(recalls) + " | " + markdown_cell(recalls_any_order) + " |" : "");
    if (by_hops) {
      const SeedSpread m = seed_spread(minutes);
      s << " " << (steps.empty() ? "-" : steps) << " | " << (m.n ? str(std::lround(m.mean)) : std::string("-")) << " |";
    }
    s << "\n";
  }
  s << "| chance (majority answer) | |" << (by_hops ? " |" : "");
  for (int64_t k : keys) s << " " << markdown_cell(chance[k]) << " |";
  s << " " << markdown_cell(chance_overall) << " |" << (recall ? " | |" : "") << (by_hops ? " | |" : "") << "\n";
  return s.str();
}

}  // namespace

std::string report_markdown(const std::vector<ReportArm>& arms) {
  std::string md = "Test label accuracy (%) per hop count; best valid = the best validation label accuracy (%), "
                   "which selected the checkpoint; recall = knowledge-recall exact match (%).\n\n" +
                   markdown_block(arms, true);
  if (test_group_keys(arms, false).size() > 1) md += "\nTest label accuracy (%) per number of encoded distractors.\n\n" + markdown_block(arms, false);
  return md;
}

}  // namespace reckoning
