// The run report's HTML page, section by section; see report.h and docs/REPORT.md (what the page
// shows). The data it draws come from runs.cpp.
#include "reckoning/report/report.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/report/svg_chart.h"

namespace reckoning {

namespace {

std::string percent(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f%%", 100 * v);
  return buffer;
}

std::string spread_text(const SeedSpread& s) {
  if (s.n == 0) return "&ndash;";
  std::string text = percent(s.mean);
  if (s.n > 1) text += " <span class=\"spread\">(" + percent(s.min) + "&ndash;" + percent(s.max) + ")</span>";
  return text + " <span class=\"n\">n=" + std::to_string(s.n) + "</span>";
}

std::string note(const std::string& text) { return "<p class=\"note\">" + text + "</p>\n"; }

std::string figure(const std::string& svg, const std::string& caption) {
  return "<figure>" + svg + "<figcaption>" + caption + "</figcaption></figure>\n";
}

std::string run_names(const ReportArm& arm) {
  std::string names;
  for (const ReportRun& r : arm.runs) {
    names += (names.empty() ? "" : ", ") + html_escape(r.name);
    if (r.config.contains("seed")) names += " (seed " + html_escape(r.config.at("seed").dump()) + ")";
  }
  return names;
}

// Test accuracy per group (hops or distractors): table and grouped bar chart.
std::string accuracy_block(const std::vector<ReportArm>& arms, bool by_hops, const std::string& noun) {
  const std::set<int64_t> keys = test_group_keys(arms, by_hops);
  auto group_of = [&](const ReportBreakdown& b, std::optional<int64_t> key) -> const ReportAccuracy* {
    if (!key) return &b.overall;
    const auto& groups = by_hops ? b.by_hops : b.by_distractors;
    auto it = groups.find(*key);
    return it == groups.end() ? nullptr : &it->second;
  };
  std::vector<std::optional<int64_t>> columns(keys.begin(), keys.end());
  columns.push_back(std::nullopt);
  BarChart chart;
  chart.title = "Test label accuracy per " + std::string(by_hops ? "hop count" : "number of distractors");
  chart.y_label = "label accuracy";
  std::ostringstream table;
  table << "<table><tr><th>arm</th>";
  for (const auto& c : columns) {
    chart.categories.push_back(c ? str(*c, " ", noun) : "overall");
    table << "<th>" << html_escape(chart.categories.back()) << "</th>";
  }
  table << "</tr>\n";
  double y_max = 0;
  std::vector<std::vector<double>> chance_majority(columns.size()), chance_uniform(columns.size());
  for (size_t a = 0; a < arms.size(); ++a) {
    BarSeries series{arms[a].label, chart_colour(a), {}};
    table << "<tr><td><span class=\"swatch\" style=\"background:" << chart_colour(a) << "\"></span>"
          << html_escape(arms[a].label) << "</td>";
    for (size_t c = 0; c < columns.size(); ++c) {
      std::vector<double> values;
      for (const ReportRun& r : arms[a].runs) {
        if (!r.test) continue;
        if (const ReportAccuracy* g = group_of(*r.test, columns[c])) {
          values.push_back(g->label_accuracy);
          chance_majority[c].push_back(g->chance_majority);
          chance_uniform[c].push_back(g->chance_uniform);
        }
      }
      const SeedSpread s = seed_spread(values);
      series.values.push_back({s.mean, s.min, s.max, s.n});
      y_max = std::max(y_max, s.max);
      table << "<td>" << spread_text(s) << "</td>";
    }
    table << "</tr>\n";
    chart.series.push_back(std::move(series));
  }
  table << "<tr class=\"chance\"><td>chance: majority answer / uniform</td>";
  for (size_t c = 0; c < columns.size(); ++c) {
    const SeedSpread m = seed_spread(chance_majority[c]), u = seed_spread(chance_uniform[c]);
    if (m.n > 0) {
      chart.chance.push_back(m.mean);
      y_max = std::max(y_max, m.mean);
      table << "<td>" << percent(m.mean) << " / " << percent(u.mean) << "</td>";
    } else {
      chart.chance.push_back(std::nullopt);
      table << "<td>&ndash;</td>";
    }
  }
  table << "</tr></table>\n";
  chart.y_max = std::min(1.0, std::max(0.1, std::ceil(y_max * 1.15 * 10) / 10));
  chart.width = std::max(480, static_cast<int>(90 + columns.size() * (40 + 26 * arms.size())));
  return table.str() +
         figure(svg_bar_chart(chart),
                "Bars: mean over seeds; whiskers: min&ndash;max over seeds (when n&gt;1); dashed: chance "
                "(the majority answer&rsquo;s rate in that group of the test set). Cells: mean (min&ndash;max) "
                "and n = number of seeds.");
}

std::string section_accuracy(const std::vector<ReportArm>& arms) {
  std::ostringstream s;
  s << "<section id=\"accuracy\"><h2>Test accuracy per hop count</h2>\n";
  bool any = false;
  for (const ReportArm& a : arms) {
    for (const ReportRun& r : a.runs) any |= r.test.has_value();
  }
  if (!any) {
    s << note("No run has a test_report.json (trained with <code>--no-test</code>, without <code>data.test</code>, "
              "or not finished): no test accuracy to show.");
  } else {
    for (const ReportArm& a : arms) {
      int64_t without = 0;
      for (const ReportRun& r : a.runs) without += !r.test;
      if (without > 0) {
        s << note(str(without, " run(s) of arm &ldquo;", html_escape(a.label),
                      "&rdquo; have no test_report.json and are left out of the test numbers."));
      }
    }
    s << accuracy_block(arms, true, "hops");
    if (test_group_keys(arms, false).size() > 1) {
      s << "<h3>Per number of encoded distractors</h3>\n" << accuracy_block(arms, false, "distractors");
    }
  }
  s << "</section>\n";
  return s.str();
}

// A trailing moving average: the per-step loss is one small batch and very noisy.
std::vector<double> smooth(const std::vector<double>& y, size_t window) {
  std::vector<double> out(y.size());
  double sum = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    sum += y[i];
    if (i >= window) sum -= y[i - window];
    out[i] = sum / static_cast<double>(std::min(i + 1, window));
  }
  return out;
}

std::string section_curves(const std::vector<ReportArm>& arms) {
  std::ostringstream s;
  s << "<section id=\"curves\"><h2>Training curves</h2>\n";
  size_t longest = 0;
  for (const ReportArm& a : arms) for (const ReportRun& r : a.runs) longest = std::max(longest, r.steps.size());
  const size_t window = std::max<size_t>(1, longest / 50);
  LineChart loss;
  loss.width = 560;
  loss.title = "Outer loss";
  loss.x_label = "optimizer step";
  loss.y_label = "loss (moving average)";
  LineChart acc;
  acc.width = 560;
  acc.title = "Validation label accuracy";
  acc.x_label = "optimizer step";
  acc.y_label = "label accuracy";
  acc.y_min = 0;
  std::vector<double> chance;
  for (size_t a = 0; a < arms.size(); ++a) {
    for (size_t k = 0; k < arms[a].runs.size(); ++k) {
      const ReportRun& r = arms[a].runs[k];
      const std::string name = k == 0 ? arms[a].label : "";  // one legend entry per arm
      LineSeries l{name, chart_colour(a), {}, {}, false, false, arms[a].runs.size() > 1 ? 0.75 : 1.0};
      std::vector<double> raw;
      for (const ReportStep& st : r.steps) {
        l.x.push_back(static_cast<double>(st.step));
        raw.push_back(st.loss);
      }
      l.y = smooth(raw, window);
      loss.series.push_back(std::move(l));
      LineSeries v{name, chart_colour(a), {}, {}, false, true, arms[a].runs.size() > 1 ? 0.75 : 1.0};
      for (const ReportValidation& val : r.validations) {
        v.x.push_back(static_cast<double>(val.step));
        v.y.push_back(val.valid.overall.label_accuracy);
        chance.push_back(val.valid.overall.chance_majority);
      }
      acc.series.push_back(std::move(v));
    }
  }
  if (!chance.empty()) {
    acc.reference_y = seed_spread(chance).mean;
    acc.reference_label = "chance (majority)";
  }
  if (longest == 0) {
    s << note("No run has a metrics.jsonl: no training loss to show.");
  } else {
    s << figure(svg_line_chart(loss), str("One line per seed, one colour per arm; moving average over ", window,
                                          " step(s) (each step is one small batch)."));
  }
  bool any_validation = false;
  for (const ReportArm& a : arms) for (const ReportRun& r : a.runs) any_validation |= !r.validations.empty();
  if (!any_validation) {
    s << note("No run has an eval.jsonl (no validation set, or no validation reached): no validation curve.");
  } else {
    s << figure(svg_line_chart(acc), "Validation label accuracy at each validation; one line per seed. Dashed: "
                                     "chance (majority answer of the validation set).");
  }
  s << "</section>\n";
  return s.str();
}

std::vector<std::string> step_labels(size_t n) {
  std::vector<std::string> labels;
  for (size_t k = 0; k < n; ++k) labels.push_back(str("step ", k + 1));
  return labels;
}

// The element-wise mean of tables with the same shape and rows (else the first one alone).
std::pair<ReportRateTable, size_t> mean_table(const std::vector<const ReportRateTable*>& tables) {
  ReportRateTable mean = *tables.front();
  size_t used = 1;
  for (size_t i = 1; i < tables.size(); ++i) {
    const ReportRateTable& t = *tables[i];
    if (t.rows != mean.rows || t.values.size() != mean.values.size()) continue;
    bool same = true;
    for (size_t g = 0; g < t.values.size(); ++g) same &= t.values[g].size() == mean.values[g].size();
    if (!same) continue;
    for (size_t g = 0; g < t.values.size(); ++g) {
      for (size_t k = 0; k < t.values[g].size(); ++k) mean.values[g][k] += t.values[g][k];
    }
    ++used;
  }
  for (auto& row : mean.values) for (double& v : row) v /= static_cast<double>(used);
  return {mean, used};
}

std::string section_rates(const std::vector<ReportArm>& arms) {
  std::ostringstream s;
  s << "<section id=\"rates\"><h2>Learned inner learning rates (best checkpoint)</h2>\n";
  std::vector<std::pair<ReportRateTable, std::string>> shown;
  std::vector<std::string> labels;
  for (const ReportArm& a : arms) {
    std::vector<const ReportRateTable*> tables;
    for (const ReportRun& r : a.runs) if (r.best_rates) tables.push_back(&*r.best_rates);
    if (tables.empty()) {
      s << note("Arm &ldquo;" + html_escape(a.label) + "&rdquo;: no checkpoints/best/inner_lrs.safetensors.");
      continue;
    }
    auto [mean, used] = mean_table(tables);
    std::string caption = html_escape(a.label) + " (" + html_escape(mean.mode.empty() ? "?" : mean.mode) + "): " +
                          (used > 1 ? str("mean over ", used, " seeds") : "seed " + html_escape(a.runs.front().name));
    shown.emplace_back(std::move(mean), caption);
    labels.push_back(a.label);
  }
  if (!shown.empty()) {
    std::vector<std::vector<std::vector<double>>> all;
    for (const auto& [t, c] : shown) all.push_back(t.values);
    s << "<div class=\"row\">";
    for (size_t i = 0; i < shown.size(); ++i) {
      const auto& [t, caption] = shown[i];
      Heatmap h;
      h.title = labels[i];
      h.x_label = "inner step";
      h.row_labels = t.rows;
      h.values = t.values;
      h.column_labels = step_labels(t.values.empty() ? 0 : t.values.front().size());
      heatmap_fit_range(h, all);  // one colour scale for every arm, so that colours compare
      s << figure(svg_heatmap(h), caption);
    }
    s << "</div>\n"
      << note("Rows: rate groups (embeddings, each block h.i, ln_f; or each weight tensor; or one static rate); "
              "columns: inner steps. Values are the rates themselves (exp applied in log-space mode); hover a cell "
              "for its value. All heatmaps share one colour scale.");
  }
  s << "</section>\n";
  return s.str();
}

std::string section_rates_evolution(const std::vector<ReportArm>& arms) {
  std::ostringstream s;
  s << "<section id=\"rates-evolution\"><h2>How the rate table evolved during training</h2>\n";
  std::vector<std::vector<std::vector<double>>> all;
  struct Panel {
    std::string title;
    const ReportRateTable* table;
  };
  std::vector<std::pair<std::string, std::vector<Panel>>> rows;
  for (const ReportArm& a : arms) {
    const ReportRun* run = nullptr;
    for (const ReportRun& r : a.runs) {
      if (std::any_of(r.validations.begin(), r.validations.end(), [](const ReportValidation& v) { return v.rates.has_value(); })) {
        run = &r;
        break;
      }
    }
    if (run == nullptr) {
      s << note("Arm &ldquo;" + html_escape(a.label) + "&rdquo;: eval.jsonl has no rate tables (no validation, or a "
                "run from before the trainer logged them).");
      continue;
    }
    std::vector<const ReportValidation*> with;
    for (const ReportValidation& v : run->validations) if (v.rates) with.push_back(&v);
    std::vector<size_t> picks = {0, with.size() / 2, with.size() - 1};
    picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
    std::vector<Panel> panels;
    for (size_t i : picks) {
      panels.push_back({str("step ", with[i]->step), &*with[i]->rates});
      all.push_back(with[i]->rates->values);
    }
    rows.emplace_back(html_escape(a.label) + " &mdash; " + html_escape(run->name), std::move(panels));
  }
  for (const auto& [label, panels] : rows) {
    s << "<h3>" << label << "</h3><div class=\"row\">";
    for (const Panel& p : panels) {
      Heatmap h;
      h.title = p.title;
      h.x_label = "inner step";
      h.row_labels = p.table->rows;
      h.values = p.table->values;
      h.column_labels = step_labels(h.values.empty() ? 0 : h.values.front().size());
      h.cell_width = 56;
      heatmap_fit_range(h, all);
      s << figure(svg_heatmap(h), "validation at " + html_escape(p.title));
    }
    s << "</div>\n";
  }
  if (!rows.empty()) {
    s << note("The rate table recorded in eval.jsonl at the first, middle and last validation of one seed per arm; "
              "one colour scale for all panels.");
  }
  s << "</section>\n";
  return s.str();
}

std::string section_inner_loss(const std::vector<ReportArm>& arms, int64_t last_steps) {
  std::ostringstream s;
  s << "<section id=\"inner-loss\"><h2>Inner loss per inner step</h2>\n";
  LineChart chart;
  chart.width = 560;
  chart.title = "Inner loss (the facts' LM loss) during the inner loop";
  chart.x_label = "inner step (loss before that step's update; the last point: after the last update)";
  chart.y_label = "inner loss";
  std::ostringstream table;
  table << "<table><tr><th>arm</th><th>source</th><th>inner loss per step</th></tr>\n";
  for (size_t a = 0; a < arms.size(); ++a) {
    std::vector<std::vector<double>> train_curves, test_curves;
    for (const ReportRun& r : arms[a].runs) {
      const size_t from = r.steps.size() > static_cast<size_t>(last_steps) ? r.steps.size() - static_cast<size_t>(last_steps) : 0;
      std::vector<double> sum;
      size_t counted = 0;
      for (size_t i = from; i < r.steps.size(); ++i) {
        const auto& il = r.steps[i].inner_loss;
        if (il.empty()) continue;
        if (sum.empty()) sum.assign(il.size(), 0.0);
        if (il.size() != sum.size()) continue;
        for (size_t k = 0; k < il.size(); ++k) sum[k] += il[k];
        ++counted;
      }
      if (counted > 0) {
        for (double& v : sum) v /= static_cast<double>(counted);
        train_curves.push_back(sum);
      }
      if (!r.test_inner_losses.empty()) test_curves.push_back(r.test_inner_losses);
    }
    auto add = [&](const std::vector<std::vector<double>>& curves, const std::string& source, bool dashed) {
      if (curves.empty()) return;
      std::vector<double> mean(curves.front().size(), 0.0);
      size_t used = 0;
      for (const auto& c : curves) {
        if (c.size() != mean.size()) continue;
        for (size_t k = 0; k < c.size(); ++k) mean[k] += c[k];
        ++used;
      }
      for (double& v : mean) v /= static_cast<double>(used);
      LineSeries l{arms[a].label + " (" + source + ")", chart_colour(a), {}, mean, dashed, true, 1.0};
      for (size_t k = 0; k < mean.size(); ++k) l.x.push_back(static_cast<double>(k + 1));
      chart.series.push_back(l);
      table << "<tr><td>" << html_escape(arms[a].label) << "</td><td>" << html_escape(source) << str(", ", used, " seed(s)")
            << "</td><td>";
      for (size_t k = 0; k < mean.size(); ++k) table << (k ? " &rarr; " : "") << chart_number(mean[k]);
      table << "</td></tr>\n";
    };
    add(train_curves, str("training, last ", last_steps, " steps"), false);
    add(test_curves, "test tasks", true);
  }
  table << "</table>\n";
  if (chart.series.empty()) {
    s << note("No inner losses recorded (no metrics.jsonl or test_report.json with an inner loop: a baseline "
              "without facts in the weights, or missing files).");
  } else {
    s << figure(svg_line_chart(chart),
                "Solid: training (metrics.jsonl&rsquo;s inner_loss, mean over the last steps and over seeds; "
                "with dropout); dashed: test tasks (test_report.json, no dropout, one more point after the last "
                "update).")
      << table.str();
  }
  s << "</section>\n";
  return s.str();
}

std::string section_recall(const std::vector<ReportArm>& arms) {
  std::ostringstream s;
  s << "<section id=\"recall\"><h2>Knowledge recall</h2>\n";
  if (!any_test_recall(arms)) {
    s << note("Recall was not measured: no arm was trained multi-task (<code>multi_task: true</code>), so no "
              "test report has knowledge_recall.");
  } else {
    std::set<int64_t> hops;
    for (const ReportArm& a : arms) for (const ReportRun& r : a.runs) if (r.test) for (const auto& [k, v] : r.test->by_hops) hops.insert(k);
    s << "<table><tr><th>arm</th><th>overall</th>";
    for (int64_t h : hops) s << "<th>" << h << " hops</th>";
    s << "</tr>\n";
    for (const ReportArm& a : arms) {
      auto spread = [&](std::optional<int64_t> hop) {
        std::vector<double> values;
        for (const ReportRun& r : a.runs) {
          if (!r.test) continue;
          const ReportAccuracy* g = &r.test->overall;
          if (hop) {
            auto it = r.test->by_hops.find(*hop);
            if (it == r.test->by_hops.end()) continue;
            g = &it->second;
          }
          if (g->knowledge_recall) values.push_back(*g->knowledge_recall);
        }
        return seed_spread(values);
      };
      s << "<tr><td>" << html_escape(a.label) << "</td><td>" << spread_text(spread(std::nullopt)) << "</td>";
      for (int64_t h : hops) s << "<td>" << spread_text(spread(h)) << "</td>";
      s << "</tr>\n";
    }
    s << "</table>\n"
      << note("Knowledge recall: the share of test tasks whose regenerated facts (after &ldquo;because&rdquo;) equal "
              "the relevant facts; mean (min&ndash;max) over seeds. &ndash;: not multi-task.");
  }
  s << "</section>\n";
  return s.str();
}

const char* kStyle = R"(body{font-family:"DejaVu Sans",Arial,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px}h2{font-size:18px;border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:32px}
h3{font-size:15px}table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:left;font-size:13px}th{background:#f3f3f3}
tr.chance td{color:#555;font-style:italic}.spread,.n{color:#666;font-size:11px}
.note{background:#fff8e1;border-left:4px solid #f0b400;padding:6px 10px;font-size:13px}
figure{display:inline-block;margin:8px 16px 8px 0;vertical-align:top}figcaption{font-size:12px;color:#555;max-width:640px}
.row{display:flex;flex-wrap:wrap}.swatch{display:inline-block;width:12px;height:12px;margin-right:6px}
code{background:#f3f3f3;padding:0 3px}
)";

}  // namespace

std::string report_html(const std::vector<ReportArm>& arms, const ReportOptions& options) {
  std::ostringstream s;
  s << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << html_escape(options.title)
    << "</title><style>" << kStyle << "</style></head><body>\n<h1>" << html_escape(options.title) << "</h1>\n";
  s << "<section id=\"arms\"><h2>Arms</h2><table><tr><th>arm</th><th>runs (seeds)</th><th>steps</th>"
       "<th>method</th><th>notes</th></tr>\n";
  for (size_t a = 0; a < arms.size(); ++a) {
    const ReportArm& arm = arms[a];
    std::string steps, notes;
    for (const ReportRun& r : arm.runs) {
      steps += (steps.empty() ? "" : ", ") + (r.steps.empty() ? std::string("?") : std::to_string(r.steps.back().step));
      for (const std::string& m : r.missing) notes += html_escape(r.name) + ": no " + html_escape(m) + "<br>";
    }
    s << "<tr><td><span class=\"swatch\" style=\"background:" << chart_colour(a) << "\"></span>"
      << html_escape(arm.label) << "</td><td>" << run_names(arm) << "</td><td>" << html_escape(steps) << "</td><td>"
      << html_escape(arm.config.value("method", std::string("?"))) << ", inner.lr_mode="
      << html_escape(arm.config.value("inner.lr_mode", std::string("?"))) << "</td><td>" << notes << "</td></tr>\n";
  }
  s << "</table>\n"
    << note("Runs whose configurations are equal except for seed, run_dir, data paths, threads and logging "
            "cadence form one arm; each arm is labelled by the keys that differ between arms (or by --label).")
    << "</section>\n";
  s << section_accuracy(arms) << section_curves(arms) << section_rates(arms) << section_rates_evolution(arms)
    << section_inner_loss(arms, options.inner_loss_last_steps) << section_recall(arms);
  s << "<footer><p class=\"n\">Written by reckoning " << html_escape(RECKONING_VERSION)
    << " (<code>reckoning report</code>).</p></footer>\n</body></html>\n";
  return s.str();
}

}  // namespace reckoning
