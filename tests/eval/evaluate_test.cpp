// Evaluation's knowledge-recall measures (evaluate.h): the paper's exact match of the regenerated
// facts in the task's order, and the same facts in any order.
#include <gtest/gtest.h>

#include "reckoning/eval/evaluate.h"

using namespace reckoning;

TEST(RecallMatch, ExactNeedsTheTasksOrderAnyOrderDoesNot) {
  const std::vector<std::string> facts = {"X R son", "R V daughter"};
  RecallMatch same = recall_match("X R son,R V daughter", facts);
  EXPECT_TRUE(same.exact);
  EXPECT_TRUE(same.any_order);
  RecallMatch swapped = recall_match("R V daughter,X R son", facts);
  EXPECT_FALSE(swapped.exact);
  EXPECT_TRUE(swapped.any_order);
  // Normalisation as for answers: case, punctuation, articles and spacing do not count.
  RecallMatch loose = recall_match(" r v Daughter.,  x r son", facts);
  EXPECT_FALSE(loose.exact);
  EXPECT_TRUE(loose.any_order);
}

TEST(RecallMatch, MissingExtraOrRepeatedFactsFail) {
  const std::vector<std::string> facts = {"X R son", "R V daughter"};
  for (const char* recalled : {"X R son", "X R son,R V daughter,V Z wife", "X R son,X R son", "", "X R son,R V son"}) {
    RecallMatch m = recall_match(recalled, facts);
    EXPECT_FALSE(m.exact) << recalled;
    EXPECT_FALSE(m.any_order) << recalled;
  }
  EXPECT_FALSE(recall_match("", {}).any_order);  // nothing to recall is not a recall
}
