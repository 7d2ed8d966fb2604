// The prover on hand-built theories whose release labels and proof strings are known (the
// ProofWriter README's RelNeg-OWA-D2-1717 example), CWA negation as failure, rejection of
// non-stratifiable and contradictory theories.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/data/proofwriter/proofwriter_prover.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

Literal att(const std::string& s, const std::string& a, bool neg = false) { return {s, "is", a, neg}; }
Literal rel(const std::string& s, const std::string& r, const std::string& o, bool neg = false) {
  return {s, r, o, neg};
}
const std::string& X = kProofwriterVariable;

// RelNeg-OWA-D2-1717 from the release README.
Theory readme_theory() {
  Theory t;
  t.facts = {att("cow", "big"),        rel("cow", "needs", "dog"),   rel("dog", "sees", "rabbit"),
             rel("rabbit", "chases", "cow"), rel("rabbit", "chases", "dog"), att("rabbit", "big"),
             rel("rabbit", "sees", "dog")};
  t.rules = {{{att("cow", "blue"), rel("cow", "needs", "rabbit")}, rel("cow", "needs", "dog")},
             {{rel("cow", "chases", "dog")}, rel("cow", "sees", "rabbit")},
             {{att(X, "big")}, rel(X, "chases", "dog")}};
  return t;
}

Verdict ask(const Theory& t, const Implications& im, const Literal& q, const std::string& text = "S.") {
  return proofwriter_answer(t, im, q, q, text);
}

}  // namespace

TEST(ProofwriterProver, ReadmeExampleDepthsAndProofStrings) {
  Theory t = readme_theory();
  Implications im = proofwriter_prove(t, World::open);
  EXPECT_EQ(im.max_depth, 2);
  Verdict q1 = ask(t, im, att("cow", "big"));
  EXPECT_EQ(q1.answer, "true");
  EXPECT_EQ(q1.proof, "[(triple1)]");
  EXPECT_EQ(q1.length, 1);
  Verdict q2 = ask(t, im, rel("dog", "sees", "rabbit", true));
  EXPECT_EQ(q2.answer, "false");
  EXPECT_EQ(q2.proof, "[(triple3)]");
  Verdict q3 = ask(t, im, rel("cow", "chases", "dog"));
  EXPECT_EQ(q3.answer, "true");
  EXPECT_EQ(q3.depth, 1);
  EXPECT_EQ(q3.length, 2);
  EXPECT_EQ(q3.proof, "[(((triple1) -> rule3))]");
  Verdict q5 = ask(t, im, rel("cow", "sees", "rabbit"));
  EXPECT_EQ(q5.depth, 2);
  EXPECT_EQ(q5.length, 3);
  EXPECT_EQ(q5.proof, "[(((((triple1) -> rule3)) -> rule2))]");
  EXPECT_EQ(q5.statements, (std::vector<std::string>{"triple1", "rule3", "rule2"}));
  // allProofs in the README: "The rabbit chases the dog.[(triple5 OR ((triple6) -> rule3))]"
  EXPECT_EQ(proofwriter_proof_string(im, im.find(rel("rabbit", "chases", "dog"))),
            "[(triple5 OR ((triple6) -> rule3))]");
}

TEST(ProofwriterProver, ReadmeExampleFailureRecords) {
  Theory t = readme_theory();
  Implications im = proofwriter_prove(t, World::open);
  // Q7 inv-rconc: the record walks back from the sampled "The dog chases the dog."
  Verdict q7 = proofwriter_answer(t, im, rel("dog", "chases", "dog", true), rel("dog", "chases", "dog"),
                                  "The dog chases the dog.");
  EXPECT_EQ(q7.answer, "unknown");
  EXPECT_EQ(q7.depth, 1);
  EXPECT_EQ(q7.proof, "[@1: The dog chases the dog.[CWA. Example of deepest failure = (rule3 <- FAIL)]]");
  Verdict q8 = ask(t, im, att("cow", "red"), "The cow is red.");
  EXPECT_EQ(q8.answer, "unknown");
  EXPECT_EQ(q8.depth, 0);
  EXPECT_EQ(q8.proof, "[@0: The cow is red.[CWA. Example of deepest failure = (FAIL)]]");
  // Under CWA the same statements are false, their negations true.
  Implications cwa = proofwriter_prove(t, World::closed);
  EXPECT_EQ(ask(t, cwa, att("cow", "red")).answer, "false");
  EXPECT_EQ(ask(t, cwa, att("cow", "red", true)).answer, "true");
  EXPECT_EQ(ask(t, cwa, rel("cow", "sees", "rabbit", true)).answer, "false");
}

TEST(ProofwriterProver, CwaNegationAsFailureWritesNaf) {
  Theory t;
  t.facts = {att("bald eagle", "nice")};
  t.rules = {{{att(X, "nice"), att(X, "red", true)}, rel("squirrel", "eats", X)}};
  Implications im = proofwriter_prove(t, World::closed);
  Verdict v = ask(t, im, rel("squirrel", "eats", "bald eagle"));
  EXPECT_EQ(v.answer, "true");
  EXPECT_EQ(v.proof, "[(((triple1 NAF) -> rule1))]");
  EXPECT_EQ(v.length, 3);  // as in the release: triple1, NAF, rule1
  EXPECT_EQ(v.depth, 1);
  // Under OWA the negated condition needs a proof of "not red": unknown.
  Implications owa = proofwriter_prove(t, World::open);
  EXPECT_EQ(ask(t, owa, rel("squirrel", "eats", "bald eagle")).answer, "unknown");
}

TEST(ProofwriterProver, CwaStratifiedEvaluationUsesCompleteLowerStrata) {
  // r1 derives "big" late (depth 2); r2 must not fire on "not big" before that.
  Theory t;
  t.facts = {att("Bob", "red")};
  t.rules = {{{att(X, "red")}, att(X, "cold")},
             {{att(X, "cold")}, att(X, "big")},
             {{att(X, "red"), att(X, "big", true)}, att(X, "young")}};
  t.people = true;
  Implications im = proofwriter_prove(t, World::closed);
  EXPECT_EQ(ask(t, im, att("Bob", "big")).depth, 2);
  EXPECT_EQ(ask(t, im, att("Bob", "young")).answer, "false");
}

TEST(ProofwriterProver, RejectsNonStratifiableCwa) {
  Theory t;
  t.facts = {att("Bob", "red")};
  t.rules = {{{att(X, "red"), att(X, "big", true)}, att(X, "cold")},
             {{att(X, "red"), att(X, "cold", true)}, att(X, "big")}};
  try {
    proofwriter_prove(t, World::closed);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("stratifiable"));
  }
  EXPECT_NO_THROW(proofwriter_prove(t, World::open));
}

TEST(ProofwriterProver, RejectsContradictoryOwaAndNegativeFactsUnderCwa) {
  Theory t;
  t.facts = {att("cow", "big"), att("cow", "red", true)};
  t.rules = {{{att(X, "big")}, att(X, "red")}};
  try {
    proofwriter_prove(t, World::open);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("consistent"));
    EXPECT_THAT(e.what(), HasSubstr("(\"cow\" \"is\" \"red\" \"-\")"));
  }
  try {
    proofwriter_prove(t, World::closed);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("no negative facts under CWA"));
  }
}

TEST(ProofwriterProver, OwaNegativeConclusionsChain) {
  Theory t;
  t.facts = {att("cat", "cold")};
  t.rules = {{{att(X, "cold")}, att(X, "nice", true)},
             {{att(X, "nice", true)}, rel(X, "likes", "dog", true)}};
  Implications im = proofwriter_prove(t, World::open);
  Verdict v = ask(t, im, rel("cat", "likes", "dog"));
  EXPECT_EQ(v.answer, "false");
  EXPECT_EQ(v.depth, 2);
  EXPECT_EQ(v.proof, "[(((((triple1) -> rule1)) -> rule2))]");
  EXPECT_EQ(ask(t, im, rel("cat", "likes", "dog", true)).answer, "true");
}

TEST(ProofwriterProver, WorldParse) {
  EXPECT_EQ(world_parse("OWA", "x"), World::open);
  EXPECT_EQ(world_parse("cwa", "x"), World::closed);
  try {
    world_parse("maybe", "--world");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("--world: expected a world 'owa' or 'cwa', got 'maybe'"));
  }
}
