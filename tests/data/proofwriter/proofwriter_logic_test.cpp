// ProofWriter theories as data: release representation strings, binding, entities, validation.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/data/proofwriter/proofwriter_logic.h"

using namespace reckoning;
using ::testing::HasSubstr;

TEST(ProofwriterLogic, RepresentationsMatchTheRelease) {
  EXPECT_EQ(literal_representation({"cow", "is", "big", false}, false), "(\"cow\" \"is\" \"big\" \"+\")");
  EXPECT_EQ(literal_representation({"bald eagle", "visits", "bald eagle", true}, false),
            "(\"bald eagle\" \"visits\" \"bald eagle\" \"-\")");
  Rule r{{{"cow", "is", "blue", false}, {"cow", "needs", "rabbit", false}}, {"cow", "needs", "dog", false}};
  EXPECT_EQ(rule_representation(r, false),
            "(((\"cow\" \"is\" \"blue\" \"+\") (\"cow\" \"needs\" \"rabbit\" \"+\")) -> (\"cow\" \"needs\" \"dog\" \"+\"))");
  Rule v{{{kProofwriterVariable, "is", "big", true}}, {kProofwriterVariable, "is", "red", true}};
  EXPECT_EQ(rule_representation(v, false),
            "(((\"something\" \"is\" \"big\" \"~\")) -> (\"something\" \"is\" \"red\" \"-\"))");
  EXPECT_EQ(rule_representation(v, true),
            "(((\"someone\" \"is\" \"big\" \"~\")) -> (\"someone\" \"is\" \"red\" \"-\"))");
}

TEST(ProofwriterLogic, BindNegateEntities) {
  Literal l{kProofwriterVariable, "chases", "dog", false};
  EXPECT_TRUE(l.has_variable());
  EXPECT_TRUE(literal_bind(l, "cat") == (Literal{"cat", "chases", "dog", false}));
  EXPECT_TRUE(literal_negate(l).negated);
  Literal attr{kProofwriterVariable, "is", "something", false};  // an attribute is never a variable
  EXPECT_EQ(literal_bind(attr, "cat").object, "something");
  Theory t;
  t.facts = {{"cow", "sees", "bald eagle", false}};
  t.rules = {{{l}, {kProofwriterVariable, "is", "red", false}}};
  EXPECT_EQ(theory_entities(t), (std::vector<std::string>{"bald eagle", "cow", "dog"}));
  EXPECT_EQ(proofwriter_people().size(), 8u);
  EXPECT_EQ(proofwriter_animals().size(), 10u);
  EXPECT_EQ(proofwriter_attributes().size(), 14u);
  EXPECT_EQ(proofwriter_relations().size(), 6u);
}

TEST(ProofwriterLogic, ValidateNamesTheStatement) {
  Theory t;
  t.facts = {{kProofwriterVariable, "is", "red", false}};
  try {
    theory_validate(t, "theory.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("theory.txt: fact 1: expected a ground fact"));
  }
  t.facts.clear();
  t.rules = {{{{"cow", "is", "red", false}}, {kProofwriterVariable, "is", "big", false}}};
  try {
    theory_validate(t, "theory.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("rule 1: expected the conclusion's variable to occur in a condition"));
  }
  t.rules = {{{}, {"cow", "is", "big", false}}};
  EXPECT_THROW(theory_validate(t, "x"), Error);
}
