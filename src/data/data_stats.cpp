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

bool question_negated(const std::string& question) {
  std::string word;
  for (size_t i = 0; i <= question.size(); ++i) {
    const unsigned char c = i < question.size() ? static_cast<unsigned char>(question[i]) : ' ';
    if (std::isalpha(c) != 0) {
      word += static_cast<char>(std::tolower(c));
      continue;
    }
    if (word == "not") return true;
    word.clear();
  }
  return false;
}

namespace {

const char* polarity_name(bool negated) { return negated ? "negated" : "positive"; }

// "false 1, true 2"
std::string counts_text(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [label, c] : counts) out += (out.empty() ? "" : ", ") + label + " " + std::to_string(c);
  return out;
}

std::string most_frequent(const std::map<std::string, int64_t>& counts) {
  std::string best;
  int64_t n = -1;
  for (const auto& [label, c] : counts) {
    if (c > n) {
      best = label;
      n = c;
    }
  }
  return best;
}

}  // namespace

PolarityRule polarity_rule_fit(const std::vector<Task>& tasks) {
  std::map<std::string, int64_t> counts[2];
  for (const Task& t : tasks) ++counts[question_negated(t.question) ? 1 : 0][t.answer];
  return {most_frequent(counts[0]), most_frequent(counts[1])};
}

double polarity_rule_accuracy(const PolarityRule& rule, const std::vector<Task>& tasks) {
  if (tasks.empty()) return 0;
  int64_t right = 0;
  for (const Task& t : tasks) right += t.answer == (question_negated(t.question) ? rule.negated : rule.positive);
  return static_cast<double>(right) / static_cast<double>(tasks.size());
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
    ++s.answers_by_polarity[polarity_name(question_negated(t.question))][t.answer];
    facts.add(static_cast<double>(t.facts.size()));
    distractors.add(static_cast<double>(t.distractors.size()));
    for (const auto* list : {&t.facts, &t.distractors}) {
      for (const std::string& f : *list) tokens.add(static_cast<double>(counter(f)));
    }
  }
  if (s.tasks > 0) {
    // Fitted on these tasks, the rule answers each polarity's most frequent label: it is right on
    // exactly that label's count.
    int64_t rule_right = 0;
    for (const auto& [polarity, counts] : s.answers_by_polarity) rule_right += counts.at(most_frequent(counts));
    s.polarity_rule_accuracy = static_cast<double>(rule_right) / static_cast<double>(s.tasks);
    s.majority_accuracy = static_cast<double>(s.answers.at(most_frequent(s.answers))) / static_cast<double>(s.tasks);
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
          {"answers_by_polarity", s.answers_by_polarity},
          {"polarity_rule_accuracy", s.polarity_rule_accuracy},
          {"majority_accuracy", s.majority_accuracy},
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
    out << "  " << h << ": " << n << "  (" << counts_text(s.answers_per_hop.at(h)) << ")\n";
  }
  out << "answers:\n";
  for (const auto& [a, n] : s.answers) {
    out << "  " << a << ": " << n << " (" << (s.tasks ? 100.0 * n / s.tasks : 0.0) << "%)\n";
  }
  out << "answers by question polarity (the word \"not\"):\n";
  for (const auto& [polarity, counts] : s.answers_by_polarity) out << "  " << polarity << ": " << counts_text(counts) << "\n";
  out << "question-only polarity rule (fitted here): " << 100.0 * s.polarity_rule_accuracy
      << "% (majority answer " << 100.0 * s.majority_accuracy << "%)\n";
  auto line = [&](const char* name, const MinMeanMax& m) {
    out << name << ": min " << m.min << ", mean " << m.mean << ", max " << m.max << "\n";
  };
  line("facts per task", s.facts);
  line("distractors per task", s.distractors);
  line(("tokens per fact (" + s.token_counter + ")").c_str(), s.tokens_per_fact);
  return out.str();
}

}  // namespace reckoning
