// Static SVG charts; see svg_chart.h.
#include "reckoning/report/svg_chart.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace reckoning {

std::string html_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string chart_colour(size_t index) {
  static const std::array<const char*, 8> palette = {"#0072B2", "#D55E00", "#009E73", "#CC79A7",
                                                     "#E69F00", "#56B4E9", "#000000", "#F0E442"};
  return palette[index % palette.size()];
}

std::vector<double> chart_ticks(double lo, double hi, int target) {
  if (!(hi > lo)) hi = lo + 1;
  const double raw = (hi - lo) / std::max(1, target);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    step = m * magnitude;
    if (step >= raw) break;
  }
  std::vector<double> ticks;
  // Multiples of `step` (not a running sum, which drifts: 0.6000000000000001).
  for (double i = std::ceil(lo / step - 1e-9); i * step <= hi + step * 1e-9; i += 1) {
    const double t = i * step;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::string chart_number(double value) {
  char buffer[32];
  const double a = std::abs(value);
  if (a != 0 && (a < 1e-3 || a >= 1e5)) {
    std::snprintf(buffer, sizeof buffer, "%.2g", value);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
  }
  return buffer;
}

namespace {

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f", v);
  return buffer;
}

const char* kFont = "font-family=\"DejaVu Sans, Arial, sans-serif\"";

// Maps data coordinates into a plot rectangle.
struct Frame {
  double left, top, width, height;
  double x_lo, x_hi, y_lo, y_hi;
  double px(double x) const { return left + (x_hi > x_lo ? (x - x_lo) / (x_hi - x_lo) : 0.5) * width; }
  double py(double y) const { return top + height - (y_hi > y_lo ? (y - y_lo) / (y_hi - y_lo) : 0.5) * height; }
};

std::string svg_open(int width, int height, const std::string& title) {
  std::ostringstream s;
  s << "<svg width=\"" << width << "\" height=\"" << height
    << "\" viewBox=\"0 0 " << width << " " << height << "\" " << kFont << " font-size=\"12\" role=\"img\">"
    << "<title>" << html_escape(title) << "</title>"
    << "<rect x=\"0\" y=\"0\" width=\"" << width << "\" height=\"" << height << "\" fill=\"#ffffff\"/>"
    << "<text x=\"" << width / 2 << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
    << html_escape(title) << "</text>";
  return s.str();
}

// Frame, grid lines, ticks and axis labels. `x_ticks` empty: no x ticks (bar charts label groups).
std::string svg_axes(const Frame& f, const std::vector<double>& x_ticks, const std::vector<double>& y_ticks,
                     const std::string& x_label, const std::string& y_label) {
  std::ostringstream s;
  for (double t : y_ticks) {
    const double y = f.py(t);
    s << "<line x1=\"" << num(f.left) << "\" y1=\"" << num(y) << "\" x2=\"" << num(f.left + f.width) << "\" y2=\""
      << num(y) << "\" stroke=\"#e5e5e5\"/>"
      << "<text x=\"" << num(f.left - 6) << "\" y=\"" << num(y + 4) << "\" text-anchor=\"end\">" << chart_number(t)
      << "</text>";
  }
  for (double t : x_ticks) {
    const double x = f.px(t);
    s << "<line x1=\"" << num(x) << "\" y1=\"" << num(f.top + f.height) << "\" x2=\"" << num(x) << "\" y2=\""
      << num(f.top + f.height + 5) << "\" stroke=\"#333\"/>"
      << "<text x=\"" << num(x) << "\" y=\"" << num(f.top + f.height + 18) << "\" text-anchor=\"middle\">"
      << chart_number(t) << "</text>";
  }
  s << "<rect x=\"" << num(f.left) << "\" y=\"" << num(f.top) << "\" width=\"" << num(f.width) << "\" height=\""
    << num(f.height) << "\" fill=\"none\" stroke=\"#333\"/>";
  if (!x_label.empty()) {
    s << "<text x=\"" << num(f.left + f.width / 2) << "\" y=\"" << num(f.top + f.height + 36)
      << "\" text-anchor=\"middle\">" << html_escape(x_label) << "</text>";
  }
  if (!y_label.empty()) {
    const double cx = 14, cy = f.top + f.height / 2;
    s << "<text x=\"" << num(cx) << "\" y=\"" << num(cy) << "\" text-anchor=\"middle\" transform=\"rotate(-90 "
      << num(cx) << " " << num(cy) << ")\">" << html_escape(y_label) << "</text>";
  }
  return s.str();
}

struct LegendEntry {
  std::string name, colour;
  bool dashed = false;
  bool box = false;
};

std::string svg_legend(double x, double y, const std::vector<LegendEntry>& entries) {
  std::ostringstream s;
  for (size_t i = 0; i < entries.size(); ++i) {
    const double ey = y + 18.0 * static_cast<double>(i);
    const LegendEntry& e = entries[i];
    if (e.box) {
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(ey - 9) << "\" width=\"18\" height=\"10\" fill=\"" << e.colour
        << "\"/>";
    } else {
      s << "<line x1=\"" << num(x) << "\" y1=\"" << num(ey - 4) << "\" x2=\"" << num(x + 18) << "\" y2=\""
        << num(ey - 4) << "\" stroke=\"" << e.colour << "\" stroke-width=\"2.5\""
        << (e.dashed ? " stroke-dasharray=\"5 3\"" : "") << "/>";
    }
    s << "<text x=\"" << num(x + 24) << "\" y=\"" << num(ey) << "\">" << html_escape(e.name) << "</text>";
  }
  return s.str();
}

// Room for the legend right of the plot: the 38 px of marker and gap, then its longest entry at
// ~7.4 px per character (DejaVu Sans at the page's chart font size, with a margin).
int legend_width_for(const std::vector<std::string>& names) {
  size_t longest = 8;
  for (const std::string& n : names) longest = std::max(longest, n.size());
  return static_cast<int>(std::min(440.0, 52 + 7.4 * static_cast<double>(longest)));
}

std::string dashed_line(double x1, double y1, double x2, double y2, const std::string& colour) {
  std::ostringstream s;
  s << "<line x1=\"" << num(x1) << "\" y1=\"" << num(y1) << "\" x2=\"" << num(x2) << "\" y2=\"" << num(y2)
    << "\" stroke=\"" << colour << "\" stroke-width=\"1.5\" stroke-dasharray=\"4 3\"/>";
  return s.str();
}

}  // namespace

std::string svg_line_chart(const LineChart& chart) {
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const LineSeries& s : chart.series) {
    for (size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      y_lo = std::min(y_lo, s.y[i]);
      y_hi = std::max(y_hi, s.y[i]);
    }
  }
  if (chart.reference_y) {
    y_lo = std::min(y_lo, *chart.reference_y);
    y_hi = std::max(y_hi, *chart.reference_y);
  }
  if (!std::isfinite(x_lo)) x_lo = 0, x_hi = 1, y_lo = 0, y_hi = 1;
  if (x_hi == x_lo) x_lo -= 0.5, x_hi += 0.5;
  if (y_hi == y_lo) y_lo -= 0.5, y_hi += 0.5;
  const double pad = 0.05 * (y_hi - y_lo);
  y_lo = chart.y_min.value_or(y_lo - pad);
  y_hi = chart.y_max.value_or(y_hi + pad);
  std::vector<double> x_ticks = chart_ticks(x_lo, x_hi, 6), y_ticks = chart_ticks(y_lo, y_hi, 5);
  std::vector<std::string> names{chart.reference_label};
  for (const LineSeries& series : chart.series) names.push_back(series.name);
  const int legend_width = legend_width_for(names);
  const int width = chart.width + legend_width;  // chart.width: the plot and its axes
  Frame f{62, 30, static_cast<double>(chart.width - 62 - 10), static_cast<double>(chart.height - 30 - 45),
          x_lo, x_hi, y_lo, y_hi};
  std::ostringstream s;
  s << svg_open(width, chart.height, chart.title) << svg_axes(f, x_ticks, y_ticks, chart.x_label, chart.y_label);
  std::vector<LegendEntry> legend;
  for (const LineSeries& series : chart.series) {
    std::ostringstream points;
    size_t n = 0;
    for (size_t i = 0; i < series.x.size() && i < series.y.size(); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      points << (n++ ? " " : "") << num(f.px(series.x[i])) << "," << num(f.py(series.y[i]));
    }
    if (n == 0) continue;
    s << "<polyline fill=\"none\" stroke=\"" << series.colour << "\" stroke-width=\"2\" stroke-opacity=\""
      << num(series.opacity) << "\"" << (series.dashed ? " stroke-dasharray=\"6 4\"" : "") << " points=\""
      << points.str() << "\"><title>" << html_escape(series.name) << "</title></polyline>";
    if (series.markers || n == 1) {
      for (size_t i = 0; i < series.x.size() && i < series.y.size(); ++i) {
        if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
        s << "<circle cx=\"" << num(f.px(series.x[i])) << "\" cy=\"" << num(f.py(series.y[i]))
          << "\" r=\"3\" fill=\"" << series.colour << "\" fill-opacity=\"" << num(series.opacity) << "\"><title>"
          << html_escape(series.name) << ": " << chart_number(series.x[i]) << ", " << chart_number(series.y[i])
          << "</title></circle>";
      }
    }
    if (!series.name.empty()) legend.push_back({series.name, series.colour, series.dashed, false});
  }
  if (chart.reference_y) {
    const double y = f.py(*chart.reference_y);
    s << dashed_line(f.left, y, f.left + f.width, y, "#777");
    legend.push_back({chart.reference_label.empty() ? "reference" : chart.reference_label, "#777", true, false});
  }
  s << svg_legend(f.left + f.width + 14, f.top + 10, legend) << "</svg>";
  return s.str();
}

std::string svg_bar_chart(const BarChart& chart) {
  std::vector<std::string> names{"chance (majority answer)"};
  for (const BarSeries& series : chart.series) names.push_back(series.name);
  const int width = chart.width + legend_width_for(names);  // chart.width: the plot and its axes
  Frame f{62, 30, static_cast<double>(chart.width - 62 - 10), static_cast<double>(chart.height - 30 - 45),
          0, 1, 0, chart.y_max > 0 ? chart.y_max : 1.0};
  std::ostringstream s;
  s << svg_open(width, chart.height, chart.title) << svg_axes(f, {}, chart_ticks(0, f.y_hi, 5), "", chart.y_label);
  const size_t n_groups = std::max<size_t>(1, chart.categories.size());
  const double group_width = f.width / static_cast<double>(n_groups);
  const size_t n_series = std::max<size_t>(1, chart.series.size());
  const double bar_width = 0.8 * group_width / static_cast<double>(n_series);
  bool any_chance = false;
  for (size_t g = 0; g < chart.categories.size(); ++g) {
    const double group_left = f.left + group_width * static_cast<double>(g);
    s << "<text x=\"" << num(group_left + group_width / 2) << "\" y=\"" << num(f.top + f.height + 18)
      << "\" text-anchor=\"middle\">" << html_escape(chart.categories[g]) << "</text>";
    for (size_t k = 0; k < chart.series.size(); ++k) {
      const BarSeries& series = chart.series[k];
      if (g >= series.values.size() || series.values[g].n == 0) continue;
      const BarValue& v = series.values[g];
      const double x = group_left + 0.1 * group_width + bar_width * static_cast<double>(k);
      const double y = f.py(std::min(v.mean, f.y_hi));
      const double base = f.py(0);
      std::ostringstream tip;
      tip << series.name << ", " << chart.categories[g] << ": mean " << chart_number(v.mean) << " (min "
          << chart_number(v.min) << ", max " << chart_number(v.max) << ", n=" << v.n << ")";
      s << "<rect x=\"" << num(x + 1) << "\" y=\"" << num(std::min(y, base - 1)) << "\" width=\"" << num(bar_width - 2)
        << "\" height=\"" << num(std::max(1.0, base - y)) << "\" fill=\"" << series.colour << "\"><title>"
        << html_escape(tip.str()) << "</title></rect>";
      if (v.n > 1) {
        const double cx = x + bar_width / 2, y_min = f.py(v.min), y_max = f.py(std::min(v.max, f.y_hi));
        s << "<path d=\"M" << num(cx) << " " << num(y_min) << "V" << num(y_max) << "M" << num(cx - 5) << " "
          << num(y_min) << "h10M" << num(cx - 5) << " " << num(y_max) << "h10\" stroke=\"#222\" stroke-width=\"1.5\" "
          << "fill=\"none\"/>";
      }
      s << "<text x=\"" << num(x + bar_width / 2) << "\" y=\"" << num(std::min(y, f.py(v.max)) - 4)
        << "\" text-anchor=\"middle\" font-size=\"10\">" << chart_number(std::round(v.mean * 1000) / 1000) << "</text>";
    }
    if (g < chart.chance.size() && chart.chance[g]) {
      const double y = f.py(*chart.chance[g]);
      s << dashed_line(group_left + 0.05 * group_width, y, group_left + 0.95 * group_width, y, "#555");
      any_chance = true;
    }
  }
  std::vector<LegendEntry> legend;
  for (const BarSeries& series : chart.series) legend.push_back({series.name, series.colour, false, true});
  if (any_chance) legend.push_back({"chance (majority answer)", "#555", true, false});
  s << svg_legend(f.left + f.width + 14, f.top + 10, legend) << "</svg>";
  return s.str();
}

void heatmap_fit_range(Heatmap& heatmap, const std::vector<std::vector<std::vector<double>>>& tables) {
  double lo = std::numeric_limits<double>::infinity(), hi = -lo;
  for (const auto& table : tables) {
    for (const auto& row : table) {
      for (double v : row) {
        if (!std::isfinite(v)) continue;
        lo = std::min(lo, v);
        hi = std::max(hi, v);
      }
    }
  }
  if (!std::isfinite(lo)) lo = 0, hi = 1;
  heatmap.log_scale = lo > 0 && hi / lo > 3;
  if (hi == lo) {
    // One value everywhere (a static rate): a range around it, so the cells get a mid colour.
    const double d = lo != 0 ? std::abs(lo) * 0.5 : 1.0;
    lo -= d;
    hi += d;
  }
  heatmap.lo = lo;
  heatmap.hi = hi;
}

namespace {

// Viridis, sampled at 9 points and linearly interpolated.
std::string viridis(double t) {
  static const std::array<std::array<double, 3>, 9> stops = {{{68, 1, 84},    {71, 44, 122},  {59, 81, 139},
                                                              {44, 113, 142}, {33, 144, 141}, {39, 173, 129},
                                                              {92, 200, 99},  {170, 220, 50}, {253, 231, 37}}};
  t = std::clamp(std::isfinite(t) ? t : 0.0, 0.0, 1.0) * 8;
  const size_t i = std::min<size_t>(7, static_cast<size_t>(t));
  const double u = t - static_cast<double>(i);
  char buffer[8];
  std::snprintf(buffer, sizeof buffer, "#%02x%02x%02x",
                static_cast<int>(std::lround(stops[i][0] + u * (stops[i + 1][0] - stops[i][0]))),
                static_cast<int>(std::lround(stops[i][1] + u * (stops[i + 1][1] - stops[i][1]))),
                static_cast<int>(std::lround(stops[i][2] + u * (stops[i + 1][2] - stops[i][2]))));
  return buffer;
}

double heat_position(const Heatmap& h, double v) {
  if (h.log_scale && v > 0) return (std::log(v) - std::log(h.lo)) / (std::log(h.hi) - std::log(h.lo));
  return h.hi > h.lo ? (v - h.lo) / (h.hi - h.lo) : 0.5;
}

}  // namespace

std::string svg_heatmap(const Heatmap& h) {
  size_t label_chars = 4;
  for (const std::string& r : h.row_labels) label_chars = std::max(label_chars, r.size());
  const double left = 14 + 7.0 * static_cast<double>(std::min<size_t>(label_chars, 28));
  const double top = 62;  // title, x label, column labels
  const size_t n_rows = h.values.size();
  size_t n_cols = 0;
  for (const auto& row : h.values) n_cols = std::max(n_cols, row.size());
  const double grid_width = h.cell_width * static_cast<double>(n_cols);
  const double grid_height = h.cell_height * static_cast<double>(n_rows);
  const int legend_width = 110;
  const int width = static_cast<int>(std::max(left + grid_width + legend_width, 260.0));
  const int height = static_cast<int>(std::max(top + grid_height + 30, top + 130.0));
  std::ostringstream s;
  s << svg_open(width, height, h.title);
  if (!h.x_label.empty()) {
    s << "<text x=\"" << num(left + grid_width / 2) << "\" y=\"" << num(top - 26) << "\" text-anchor=\"middle\" fill=\"#555\">"
      << html_escape(h.x_label) << "</text>";
  }
  for (size_t c = 0; c < n_cols; ++c) {
    const std::string label = c < h.column_labels.size() ? h.column_labels[c] : std::to_string(c);
    s << "<text x=\"" << num(left + h.cell_width * (static_cast<double>(c) + 0.5)) << "\" y=\"" << num(top - 6)
      << "\" text-anchor=\"middle\">" << html_escape(label) << "</text>";
  }
  for (size_t r = 0; r < n_rows; ++r) {
    const double y = top + h.cell_height * static_cast<double>(r);
    const std::string row_label = r < h.row_labels.size() ? h.row_labels[r] : std::to_string(r);
    s << "<text x=\"" << num(left - 6) << "\" y=\"" << num(y + h.cell_height / 2 + 4) << "\" text-anchor=\"end\">"
      << html_escape(row_label) << "</text>";
    for (size_t c = 0; c < h.values[r].size(); ++c) {
      const double v = h.values[r][c];
      const double t = heat_position(h, v);
      const double x = left + h.cell_width * static_cast<double>(c);
      const std::string column = c < h.column_labels.size() ? h.column_labels[c] : std::to_string(c);
      s << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << h.cell_width << "\" height=\""
        << h.cell_height << "\" fill=\"" << viridis(t) << "\" stroke=\"#fff\"><title>"
        << html_escape(row_label + ", " + column + ": " + chart_number(v)) << "</title></rect>"
        << "<text x=\"" << num(x + h.cell_width / 2.0) << "\" y=\"" << num(y + h.cell_height / 2.0 + 4)
        << "\" text-anchor=\"middle\" font-size=\"10\" fill=\"" << (t < 0.6 ? "#fff" : "#000") << "\">"
        << chart_number(v) << "</text>";
    }
  }
  // Colour scale: a vertical gradient of 20 bands, top = high.
  const double lx = left + grid_width + 16, ly = top, lh = 110, lw = 14;
  const int bands = 20;
  for (int b = 0; b < bands; ++b) {
    const double t = 1.0 - (b + 0.5) / bands;
    s << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly + lh * b / bands) << "\" width=\"" << num(lw)
      << "\" height=\"" << num(lh / bands + 0.5) << "\" fill=\"" << viridis(t) << "\"/>";
  }
  s << "<rect x=\"" << num(lx) << "\" y=\"" << num(ly) << "\" width=\"" << num(lw) << "\" height=\"" << num(lh)
    << "\" fill=\"none\" stroke=\"#333\"/>";
  const double mid = h.log_scale ? std::sqrt(h.lo * h.hi) : (h.lo + h.hi) / 2;
  for (auto [t, v] : std::array<std::pair<double, double>, 3>{{{1.0, h.hi}, {0.5, mid}, {0.0, h.lo}}}) {
    s << "<text x=\"" << num(lx + lw + 4) << "\" y=\"" << num(ly + lh * (1 - t) + 4) << "\" font-size=\"10\">"
      << chart_number(v) << "</text>";
  }
  s << "<text x=\"" << num(lx) << "\" y=\"" << num(ly + lh + 16) << "\" font-size=\"10\">"
    << (h.log_scale ? "log scale" : "linear scale") << "</text></svg>";
  return s.str();
}

}  // namespace reckoning
