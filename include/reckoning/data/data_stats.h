// Statistics of a set of canonical tasks: counts per hop count, answer (label) balance, facts and
// distractors per task and tokens per fact (min/mean/max). Tokens are counted by a caller-given
// function so that this file does not depend on a tokenizer; the default counts whitespace-
// separated words (count_whitespace_tokens), and the CLI can pass a BPE tokenizer's encode size.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/data/task.h"

namespace reckoning {

struct MinMeanMax {
  double min = 0, mean = 0, max = 0;
  int64_t count = 0;
};

struct DataStats {
  int64_t tasks = 0;
  std::map<std::string, int64_t> datasets;
  std::map<int64_t, int64_t> per_hop;
  std::map<std::string, int64_t> answers;
  std::map<int64_t, std::map<std::string, int64_t>> answers_per_hop;
  // Answers by question polarity ("positive" / "negated", question_negated) and what the
  // question alone gives away: the polarity rule's accuracy fitted on these tasks themselves (an
  // upper bound for any rule on the word "not") against the majority answer's.
  std::map<std::string, std::map<std::string, int64_t>> answers_by_polarity;
  double polarity_rule_accuracy = 0, majority_accuracy = 0;
  MinMeanMax facts, distractors, tokens_per_fact;
  std::string token_counter;  // name of the counter used, e.g. "whitespace"
};

size_t count_whitespace_tokens(const std::string& text);

// A question's polarity as a reader sees it: the word "not" ("Bob is not big.", "The cat does not
// like the dog.", "Not ..."), case-insensitive, as a whole word.
bool question_negated(const std::string& question);

// The question-only polarity rule: questions with and without "not" each answered by the label
// most frequent among such questions of the tasks it is fitted on (ties: the smallest label).
struct PolarityRule {
  std::string positive, negated;
};
PolarityRule polarity_rule_fit(const std::vector<Task>& tasks);
// Share of `tasks` whose answer the rule gives (0 for no tasks).
double polarity_rule_accuracy(const PolarityRule& rule, const std::vector<Task>& tasks);

using TokenCounter = std::function<size_t(const std::string&)>;
// `count_tokens` empty: count_whitespace_tokens. tokens_per_fact covers facts and distractors.
DataStats data_stats(const std::vector<Task>& tasks, const TokenCounter& count_tokens = {},
                     const std::string& token_counter_name = "whitespace");
nlohmann::json data_stats_to_json(const DataStats& stats);
// A short human-readable table.
std::string data_stats_format(const DataStats& stats);

}  // namespace reckoning
