// Task statistics; see data_stats.h.
#include "reckoning/data/data_stats.h"

#include <algorithm>
#include <cctype>
#include <iomanip>
#include <sstream>

namespace reckoning {

size_t count_whitespace_tokens(const std::string& text) {
  size_t n = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    const bool space = std::isspace(c) != 0;
    if (!space && !in_word) ++n;
    in_word = !space;
  }
  return n;
}

namespace {

struct Accumulator {
  double min = 0, max = 0, sum = 0;
  int64_t count = 0;
  void add(double v) {
    if (count == 0 || v < min) min = v;
    if (count == 0 || v > max) max = v;
    sum += v;
    ++count;
  }
  MinMeanMax result() const { return {min, count ? sum / count : 0.0, max, count}; }
};

nlohmann::json to_json(const MinMeanMax& m) {
  return {{"min", m.min}, {"mean", m.mean}, {"max", m.max}, {"count", m.count}};
}

}  // namespace

DataStats data_stats(const std::vector<Task>& tasks, const TokenCounter& count_tokens,
                     const std::string& token_counter_name) {
  const TokenCounter counter = count_tokens ? count_tokens : TokenCounter(count_whitespace_tokens);
  DataStats s;
  s.token_counter = count_tokens ? token_counter_name : "whitespace";
  Accumulator facts, distractors, tokens;
  for (const Task& t : tasks) {
    ++s.tasks;
    ++s.datasets[t.dataset()];
    ++s.per_hop[t.hops];
    ++s.answers[t.answer];
    ++s.answers_per_hop[t.hops][t.answer];
    facts.add(static_cast<double>(t.facts.size()));
    distractors.add(static_cast<double>(t.distractors.size()));
    for (const auto* list : {&t.facts, &t.distractors}) {
      for (const std::string& f : *list) tokens.add(static_cast<double>(counter(f)));
    }
  }
  s.facts = facts.result();
  s.distractors = distractors.result();
  s.tokens_per_fact = tokens.result();
  return s;
}

nlohmann::json data_stats_to_json(const DataStats& s) {
  nlohmann::json per_hop = nlohmann::json::object(), by_hop = nlohmann::json::object();
  for (const auto& [h, n] : s.per_hop) per_hop[std::to_string(h)] = n;
  for (const auto& [h, m] : s.answers_per_hop) by_hop[std::to_string(h)] = m;
  return {{"tasks", s.tasks},
          {"datasets", s.datasets},
          {"per_hop", per_hop},
          {"answers", s.answers},
          {"answers_per_hop", by_hop},
          {"facts_per_task", to_json(s.facts)},
          {"distractors_per_task", to_json(s.distractors)},
          {"tokens_per_fact", to_json(s.tokens_per_fact)},
          {"token_counter", s.token_counter}};
}

std::string data_stats_format(const DataStats& s) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(2);
  out << "tasks: " << s.tasks << "\n";
  for (const auto& [d, n] : s.datasets) out << "  dataset " << d << ": " << n << "\n";
  out << "per hop:\n";
  for (const auto& [h, n] : s.per_hop) {
    out << "  " << h << ": " << n << "  (";
    bool first = true;
    for (const auto& [a, c] : s.answers_per_hop.at(h)) {
      out << (first ? "" : ", ") << a << " " << c;
      first = false;
    }
    out << ")\n";
  }
  out << "answers:\n";
  for (const auto& [a, n] : s.answers) {
    out << "  " << a << ": " << n << " (" << (s.tasks ? 100.0 * n / s.tasks : 0.0) << "%)\n";
  }
  auto line = [&](const char* name, const MinMeanMax& m) {
    out << name << ": min " << m.min << ", mean " << m.mean << ", max " << m.max << "\n";
  };
  line("facts per task", s.facts);
  line("distractors per task", s.distractors);
  line(("tokens per fact (" + s.token_counter + ")").c_str(), s.tokens_per_fact);
  return out.str();
}

}  // namespace reckoning
