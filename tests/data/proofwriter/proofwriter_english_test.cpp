// ProofWriter English: every release template renders exactly and parses back; errors name the
// sentence and the word; parse(render(theory)) == theory for thousands of generated theories.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/data/proofwriter/proofwriter_english.h"
#include "reckoning/data/proofwriter/proofwriter_generator.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

const std::string& X = kProofwriterVariable;
Literal att(const std::string& s, const std::string& a, bool neg = false) { return {s, "is", a, neg}; }
Literal rel(const std::string& s, const std::string& r, const std::string& o, bool neg = false) {
  return {s, r, o, neg};
}

void expect_rule(const Rule& r, bool people, int variant, const std::string& text) {
  EXPECT_EQ(english_render_rule(r, people, variant), text);
  EnglishStatement s = english_parse_sentence(text, "t");
  EXPECT_TRUE(s.is_rule) << text;
  EXPECT_TRUE(s.rule == r) << text;
}

}  // namespace

TEST(ProofwriterEnglish, FactTemplates) {
  EXPECT_EQ(english_render_literal(att("bear", "red"), false), "The bear is red.");
  EXPECT_EQ(english_render_literal(att("Bob", "big"), true), "Bob is big.");
  EXPECT_EQ(english_render_literal(att("Bob", "big", true), true), "Bob is not big.");
  EXPECT_EQ(english_render_literal(rel("cat", "likes", "dog"), false), "The cat likes the dog.");
  EXPECT_EQ(english_render_literal(rel("cat", "likes", "dog", true), false), "The cat does not like the dog.");
  EXPECT_EQ(english_render_literal(rel("bald eagle", "chases", "bald eagle"), false),
            "The bald eagle chases the bald eagle.");
  EXPECT_TRUE(english_parse_statement("The bald eagle does not chase the cat.", "q") ==
              rel("bald eagle", "chases", "cat", true));
  EXPECT_TRUE(english_parse_statement("the dog is not green", "q") == att("dog", "green", true));
}

TEST(ProofwriterEnglish, RuleTemplates) {
  expect_rule({{att(X, "red")}, att(X, "big")}, false, 1, "If something is red then it is big.");
  expect_rule({{att(X, "red")}, att(X, "big")}, true, 1, "If someone is red then they are big.");
  expect_rule({{att(X, "red")}, att(X, "big")}, false, 0, "All red things are big.");
  expect_rule({{att(X, "red")}, att(X, "big")}, true, 0, "All red people are big.");
  expect_rule({{att(X, "red"), att(X, "cold")}, att(X, "round")}, false, 0, "Red, cold things are round.");
  expect_rule({{att(X, "red"), att(X, "cold")}, att(X, "round")}, true, 0, "Red, cold people are round.");
  expect_rule({{att(X, "kind"), att(X, "rough")}, att(X, "red")}, false, 1,
              "If something is kind and rough then it is red.");
  expect_rule({{rel(X, "sees", "cat"), att(X, "green", true)}, rel(X, "sees", "cow")}, true, 0,
              "If someone sees the cat and they are not green then they see the cow.");
  expect_rule({{rel(X, "sees", "cat"), att(X, "green", true)}, rel(X, "sees", "cow", true)}, false, 0,
              "If something sees the cat and it is not green then it does not see the cow.");
  expect_rule({{rel("cow", "chases", "dog")}, rel("cow", "sees", "rabbit")}, false, 0,
              "If the cow chases the dog then the cow sees the rabbit.");
  expect_rule({{att("cow", "blue"), rel("cow", "needs", "rabbit")}, rel("cow", "needs", "dog")}, false, 0,
              "If the cow is blue and the cow needs the rabbit then the cow needs the dog.");
  expect_rule({{rel(X, "visits", "bald eagle"), rel("bald eagle", "eats", X, true)}, att(X, "red", true)},
              false, 0, "If something visits the bald eagle and the bald eagle does not eat it then it is not red.");
  // Accepted variants the renderer does not produce.
  EXPECT_TRUE(english_parse_sentence("All red, cold things are round.", "t").rule ==
              (Rule{{att(X, "red"), att(X, "cold")}, att(X, "round")}));
  EXPECT_TRUE(english_parse_sentence("Red and cold people are round.", "t").rule ==
              (Rule{{att(X, "red"), att(X, "cold")}, att(X, "round")}));
  EXPECT_TRUE(english_parse_sentence("If something is kind and not rough then it is red.", "t").rule ==
              (Rule{{att(X, "kind"), att(X, "rough", true)}, att(X, "red")}));
}

TEST(ProofwriterEnglish, TheoryParseKeepsOrderAndPeople) {
  Theory t = english_parse_theory("Bob is big. Anne is not red. If someone is big then they are red.", "x");
  ASSERT_EQ(t.facts.size(), 2u);
  ASSERT_EQ(t.rules.size(), 1u);
  EXPECT_TRUE(t.people);
  EXPECT_FALSE(english_parse_theory("The cat is big. All big things are red.", "x").people);
}

TEST(ProofwriterEnglish, ErrorsNameSentenceAndWord) {
  try {
    english_parse_theory("The cat is big. The dog is red. The cat flies.", "theory.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("theory.txt: sentence 3 'The cat flies.': expected a fact or rule in "
                                    "ProofWriter English, got 'flies' after 'The cat'"));
  }
  auto message = [](const std::string& s) {
    try {
      english_parse_sentence(s, "s");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message("The unicorn is red."), HasSubstr("an animal"));
  EXPECT_THAT(message("The cat is purple."), HasSubstr("'purple' after 'The cat is' where an attribute"));
  EXPECT_THAT(message("If something is red then it is big and cold and nice."), HasSubstr("end of the sentence"));
  EXPECT_THAT(message("Something is red."), HasSubstr("a fact about a named entity"));
  EXPECT_THAT(message("If the cat is red then it is big."), HasSubstr("conclusion whose it/they"));
  EXPECT_THAT(message(""), HasSubstr("a sentence"));
  EXPECT_THROW(english_parse_statement("All red things are big.", "q"), Error);
}

TEST(ProofwriterEnglish, RoundTripThousandsOfGeneratedTheories) {
  int checked = 0;
  for (World world : {World::open, World::closed})
    for (TheoryKind kind : {TheoryKind::attribute, TheoryKind::relation})
      for (bool negation : {false, true}) {
        ProofwriterOptions o;
        o.depth = 1;
        o.world = world;
        o.kind = kind;
        o.negation = negation;
        o.seed = 7;
        o.questions = 0;
        for (int i = 0; i < 300; ++i) {
          ProofwriterProblem p = proofwriter_generate_one(o, i);
          std::string text;
          for (const auto& s : p.fact_texts) text += s + " ";
          for (const auto& s : p.rule_texts) text += s + " ";
          Theory back = english_parse_theory(text, p.id);
          ASSERT_TRUE(back == p.theory) << p.id << ": " << text;
          ++checked;
        }
      }
  EXPECT_EQ(checked, 2400);
}
