// Small static SVG charts for the HTML run report (report.h): line charts, grouped bar charts with
// min-max whiskers and chance markers, and heatmaps with a colour-scale legend. Every chart is a
// self-contained <svg> string (inline styles, <title> tooltips, no scripts, no external fonts).
// Not here: what is plotted (report.cpp) or any interactivity. Axis ticks follow the usual
// "nice numbers" rule (1, 2, 5 x 10^k) as in matplotlib's MaxNLocator.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace reckoning {

// Escapes &, <, >, " and ' for HTML/SVG text and attribute values.
std::string html_escape(const std::string& text);

// The report's categorical palette (colour-blind safe, Okabe-Ito); index wraps around.
std::string chart_colour(size_t index);

// About `target` evenly spaced round tick values covering [lo, hi].
std::vector<double> chart_ticks(double lo, double hi, int target = 5);

// A tick label: short, without trailing zeros ("0.25", "1e-03", "300").
std::string chart_number(double value);

struct LineSeries {
  std::string name;    // legend entry (series with an empty name are not listed)
  std::string colour;  // CSS colour
  std::vector<double> x, y;
  bool dashed = false;
  bool markers = false;  // a circle at every point
  double opacity = 1.0;
};

struct LineChart {
  std::string title, x_label, y_label;
  std::vector<LineSeries> series;
  std::optional<double> reference_y;  // a dotted horizontal line (e.g. chance level)
  std::string reference_label;
  std::optional<double> y_min, y_max;  // fixed y range (else the data's, padded)
  int width = 480, height = 320;  // the plot with its axes; the legend is added on the right
};

std::string svg_line_chart(const LineChart& chart);

struct BarValue {
  double mean = 0, min = 0, max = 0;  // whiskers span [min, max]
  int64_t n = 0;                      // samples behind the mean (0 = no bar)
};

struct BarSeries {
  std::string name, colour;
  std::vector<BarValue> values;  // one per category
};

struct BarChart {
  std::string title, y_label;
  std::vector<std::string> categories;       // x axis groups (e.g. "2 hops")
  std::vector<BarSeries> series;             // bars within a group (e.g. arms)
  std::vector<std::optional<double>> chance;  // per category: a dashed marker across the group
  double y_max = 1.0;
  int width = 480, height = 320;  // the plot with its axes; the legend is added on the right
};

std::string svg_bar_chart(const BarChart& chart);

struct Heatmap {
  std::string title, x_label;
  std::vector<std::string> row_labels, column_labels;
  std::vector<std::vector<double>> values;  // [row][column]
  // Colour range; a log scale when `log_scale` (every value must be > 0 then, else linear).
  double lo = 0, hi = 1;
  bool log_scale = false;
  int cell_width = 70, cell_height = 22;
};

// The colour range that fits `values`: log scale when every value is > 0 and they span > 3x.
void heatmap_fit_range(Heatmap& heatmap, const std::vector<std::vector<std::vector<double>>>& tables);

std::string svg_heatmap(const Heatmap& heatmap);

}  // namespace reckoning
