// Task statistics: counts per hop, label balance, min/mean/max, custom token counters.
#include <gtest/gtest.h>

#include "reckoning/data/data_stats.h"

using namespace reckoning;

TEST(DataStats, CountsAndMoments) {
  std::vector<Task> tasks(3);
  tasks[0].facts = {"a b c", "d"};
  tasks[0].hops = 2;
  tasks[0].answer = "true";
  tasks[1].facts = {"e  f"};
  tasks[1].distractors = {"g h i j"};
  tasks[1].hops = 2;
  tasks[1].answer = "false";
  tasks[2].facts = {"k", "l", "m"};
  tasks[2].hops = 3;
  tasks[2].answer = "true";
  for (auto& t : tasks) t.source = {{"dataset", "proofwriter"}};
  DataStats s = data_stats(tasks);
  EXPECT_EQ(s.tasks, 3);
  EXPECT_EQ(s.per_hop, (std::map<int64_t, int64_t>{{2, 2}, {3, 1}}));
  EXPECT_EQ(s.answers, (std::map<std::string, int64_t>{{"false", 1}, {"true", 2}}));
  EXPECT_EQ(s.answers_per_hop[2]["false"], 1);
  EXPECT_DOUBLE_EQ(s.facts.mean, 2.0);
  EXPECT_DOUBLE_EQ(s.facts.max, 3.0);
  EXPECT_DOUBLE_EQ(s.distractors.min, 0.0);
  EXPECT_DOUBLE_EQ(s.tokens_per_fact.max, 4.0);   // "g h i j"
  EXPECT_DOUBLE_EQ(s.tokens_per_fact.mean, 13.0 / 7.0);
  EXPECT_EQ(s.token_counter, "whitespace");
  DataStats c = data_stats(tasks, [](const std::string& f) { return f.size(); }, "chars");
  EXPECT_EQ(c.token_counter, "chars");
  EXPECT_DOUBLE_EQ(c.tokens_per_fact.max, 7.0);
  auto json = data_stats_to_json(s);
  EXPECT_EQ(json["per_hop"]["2"], 2);
  EXPECT_NE(data_stats_format(s).find("tokens per fact (whitespace)"), std::string::npos);
  EXPECT_EQ(count_whitespace_tokens("  a\tb \n c "), 3u);
}

TEST(DataStats, QuestionPolarityAndTheQuestionOnlyRule) {
  EXPECT_TRUE(question_negated("Bob is not big."));
  EXPECT_TRUE(question_negated("The cat does NOT like the dog."));
  EXPECT_TRUE(question_negated("Not all cats are red?"));
  EXPECT_FALSE(question_negated("The bear is nothing like a knot."));
  EXPECT_FALSE(question_negated(""));
  std::vector<Task> tasks(5);
  const char* rows[5][2] = {{"Bob is big.", "true"},
                            {"Bob is red.", "true"},
                            {"Bob is round.", "unknown"},
                            {"Bob is not big.", "false"},
                            {"Bob is not red.", "unknown"}};
  for (size_t i = 0; i < tasks.size(); ++i) {
    tasks[i].question = rows[i][0];
    tasks[i].answer = rows[i][1];
  }
  PolarityRule rule = polarity_rule_fit(tasks);
  EXPECT_EQ(rule.positive, "true");
  EXPECT_EQ(rule.negated, "false");  // a tie (false 1, unknown 1): the smallest label
  EXPECT_DOUBLE_EQ(polarity_rule_accuracy(rule, tasks), 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(polarity_rule_accuracy(rule, {}), 0.0);
  DataStats s = data_stats(tasks);
  EXPECT_EQ(s.answers_by_polarity["positive"]["true"], 2);
  EXPECT_EQ(s.answers_by_polarity["negated"]["unknown"], 1);
  EXPECT_DOUBLE_EQ(s.polarity_rule_accuracy, 3.0 / 5.0);
  EXPECT_DOUBLE_EQ(s.majority_accuracy, 2.0 / 5.0);
  EXPECT_EQ(data_stats_to_json(s)["answers_by_polarity"]["negated"]["false"], 1);
  EXPECT_NE(data_stats_format(s).find("question-only polarity rule (fitted here): 60.00% (majority answer 40.00%)"),
            std::string::npos);
}
