// ProofWriter meta-*.jsonl reader: proof parsing (OR alternatives, NAF, failure records),
// RECKONING's preprocessing (relevant facts, min statements, distractors, balance), errors.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/data/proofwriter/proofwriter.h"
#include "support/test_util.h"

using reckoning::test::error_of;
using reckoning::test::write_temp;

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

// A theory in the release's record format (OWA, depth 2).
nlohmann::json theory() {
  return nlohmann::json::parse(R"pw({
    "id": "RelNeg-OWA-D2-1717", "maxD": 2, "NFact": 4, "NRule": 3,
    "theory": "The cow is big. The cow needs the dog. The dog is red. The dog is not kind. If something is big then it chases the dog. If something chases the dog then it sees the rabbit. If something is red then it is big.",
    "triples": {
      "triple1": {"text": "The cow is big.", "representation": "(\"cow\" \"is\" \"big\" \"+\")"},
      "triple2": {"text": "The cow needs the dog.", "representation": "(\"cow\" \"needs\" \"dog\" \"+\")"},
      "triple3": {"text": "The dog is red.", "representation": "(\"dog\" \"is\" \"red\" \"+\")"},
      "triple4": {"text": "The dog is not kind.", "representation": "(\"dog\" \"is\" \"kind\" \"-\")"}},
    "rules": {
      "rule1": {"text": "If something is big then it chases the dog.", "representation": "..."},
      "rule2": {"text": "If something chases the dog then it sees the rabbit.", "representation": "..."},
      "rule3": {"text": "If something is red then it is big.", "representation": "..."}},
    "questions": {
      "Q1": {"question": "The cow sees the rabbit.", "answer": true, "QDep": 2, "QLen": 3, "strategy": "proof",
             "proofs": "[(((((triple1) -> rule1)) -> rule2))]"},
      "Q2": {"question": "The dog chases the dog.", "answer": true, "QDep": 2, "QLen": 4, "strategy": "proof",
             "proofs": "[(((((triple3) -> rule3)) -> rule1)) OR (((triple1 triple3) -> rule1))]"},
      "Q3": {"question": "The cow is big.", "answer": true, "QDep": 0, "QLen": 1, "strategy": "proof",
             "proofs": "[(triple1)]"},
      "Q4": {"question": "The dog is kind.", "answer": false, "QDep": 0, "QLen": 1, "strategy": "inv-proof",
             "proofs": "[(triple4)]"},
      "Q5": {"question": "The rabbit sees the rabbit.", "answer": "Unknown", "QDep": 1, "QLen": 2, "strategy": "random",
             "proofs": "[@1: The rabbit sees the rabbit.[OWA. Example of deepest failure = (rule2 <- (rule1 <- FAIL))]]"},
      "Q6": {"question": "The dog does not see the rabbit.", "answer": false, "QDep": 3, "QLen": 4, "strategy": "inv-rconc",
             "proofs": "[(((((((triple3 NAF) -> rule3)) -> rule1)) -> rule2))]"},
      "Q7": {"question": "The dog is nice.", "answer": "Unknown", "QDep": 0, "QLen": "", "strategy": "random",
             "representation": "(\"dog\" \"is\" \"nice\" \"+\")",
             "proofs": "[@0: The dog is nice.[OWA. Example of deepest failure = (FAIL)]]"}}
  })pw");
}

}  // namespace

TEST(ProofWriterProof, ParsesNestingOrAlternativesNafAndFailures) {
  ParsedProof p = proofwriter_parse_proof("[(((((triple1) -> rule1)) -> rule2))]", "q");
  ASSERT_EQ(p.alternatives.size(), 1u);
  EXPECT_EQ(p.alternatives[0].ids, (std::vector<std::string>{"triple1", "rule1", "rule2"}));
  EXPECT_EQ(p.alternatives[0].depth, 2);

  p = proofwriter_parse_proof("[(((((triple3) -> rule3)) -> rule1)) OR (((triple1 triple3) -> rule1))]", "q");
  ASSERT_EQ(p.alternatives.size(), 2u);
  EXPECT_EQ(p.alternatives[0].depth, 2);
  EXPECT_EQ(p.alternatives[1].depth, 1);
  EXPECT_EQ(proofwriter_best_proof(p).ids, (std::vector<std::string>{"triple1", "triple3", "rule1"}));

  // Alternatives inside the outermost group, as our generator writes them.
  p = proofwriter_parse_proof("[(triple4 OR ((triple6) -> rule2) OR ((triple1 triple2) -> rule3))]", "q");
  ASSERT_EQ(p.alternatives.size(), 3u);
  EXPECT_EQ(p.alternatives[0].ids, (std::vector<std::string>{"triple4"}));
  EXPECT_EQ(p.alternatives[0].depth, 0);
  EXPECT_EQ(p.alternatives[1].ids, (std::vector<std::string>{"triple6", "rule2"}));
  EXPECT_EQ(p.alternatives[1].depth, 1);
  EXPECT_EQ(p.alternatives[2].ids, (std::vector<std::string>{"triple1", "triple2", "rule3"}));
  EXPECT_THAT(error_of([] { proofwriter_parse_proof("[(OR triple1)]", "w"); }), HasSubstr("'OR'"));

  p = proofwriter_parse_proof("[(triple4)]", "q");
  EXPECT_EQ(p.alternatives[0].depth, 0);

  p = proofwriter_parse_proof("[((NAF) -> rule5)]", "q");
  EXPECT_EQ(p.alternatives[0].ids, (std::vector<std::string>{"rule5"}));
  EXPECT_EQ(p.alternatives[0].depth, 1);

  p = proofwriter_parse_proof(
      "[@1: The dog chases the dog.[CWA. Example of deepest failure = (rule3 <- FAIL)]]", "q");
  EXPECT_TRUE(p.failure);
  EXPECT_EQ(p.alternatives[0].ids, (std::vector<std::string>{"rule3"}));

  EXPECT_THAT(error_of([] { proofwriter_parse_proof("[((triple1) -> triple2)]", "f:3: questions.Q1"); }),
              HasSubstr("f:3: questions.Q1: expected '(premises) -> ruleN'"));
  EXPECT_THAT(error_of([] { proofwriter_parse_proof("[(triple1) rule2]", "w"); }),
              HasSubstr("expected 'OR' or ']'"));
  EXPECT_THAT(error_of([] { proofwriter_parse_proof("[(triple1 % x)]", "w"); }), HasSubstr("'%'"));
}

TEST(ProofWriterConvert, RelevantFactsDistractorsHopsAndSource) {
  ProofWriterOptions o;
  std::vector<Task> tasks = proofwriter_theory_to_tasks(theory(), "t.jsonl:1", o);
  // Q3, Q4 use one statement (dropped: min_statements 2); Q5 names rule2, rule1; Q7 (unknown,
  // no rule concludes it) keeps the facts about its subject.
  ASSERT_EQ(tasks.size(), 5u);
  const Task& q1 = tasks[0];
  EXPECT_EQ(q1.guid, "RelNeg-OWA-D2-1717-Q1");
  EXPECT_EQ(q1.facts, (std::vector<std::string>{"The cow is big.", "If something is big then it chases the dog.",
                                                "If something chases the dog then it sees the rabbit."}));
  EXPECT_EQ(q1.distractors.size(), 4u);  // 7 statements - 3 relevant
  EXPECT_EQ(q1.distractors[0], "The cow needs the dog.");
  EXPECT_EQ(q1.answer, "true");
  EXPECT_EQ(q1.hops, 2);
  EXPECT_EQ(q1.source["world"], "OWA");
  EXPECT_EQ(q1.source["strategy"], "proof");
  EXPECT_EQ(tasks[1].facts.size(), 3u);  // the shallower OR alternative: triple1 triple3 rule1
  EXPECT_EQ(tasks[2].answer, "unknown");
  EXPECT_EQ(tasks[2].facts, (std::vector<std::string>{"If something chases the dog then it sees the rabbit.",
                                                      "If something is big then it chases the dog."}));
  EXPECT_EQ(tasks[2].source["proof_failure"], true);
  EXPECT_EQ(tasks[3].answer, "false");
  EXPECT_EQ(tasks[4].answer, "unknown");
  EXPECT_EQ(tasks[4].facts, (std::vector<std::string>{"The dog is red.", "The dog is not kind."}));
  EXPECT_EQ(tasks[4].distractors.size(), 5u);

  // Without a question representation the subject is read from the sentence.
  nlohmann::json bare = theory();
  bare["questions"]["Q7"].erase("representation");
  EXPECT_EQ(proofwriter_theory_to_tasks(bare, "t", o)[4].facts, tasks[4].facts);
  // A failure chain's rules come after the subject's facts.
  bare["questions"]["Q7"]["proofs"] =
      "[@1: The dog is nice.[OWA. Example of deepest failure = (rule3 <- FAIL)]]";
  EXPECT_EQ(proofwriter_theory_to_tasks(bare, "t", o)[4].facts,
            (std::vector<std::string>{"The dog is red.", "The dog is not kind.",
                                      "If something is red then it is big."}));

  o.min_statements = 1;
  EXPECT_EQ(proofwriter_theory_to_tasks(theory(), "t", o).size(), 7u);
}

TEST(ProofWriterConvert, DistractorSamplingAndBalanceAreSeeded) {
  ProofWriterOptions o;
  o.distractors = 2;
  o.seed = 5;
  auto a = proofwriter_theory_to_tasks(theory(), "t", o);
  auto b = proofwriter_theory_to_tasks(theory(), "t", o);
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].distractors.size(), 2u);
    EXPECT_EQ(a[i].distractors, b[i].distractors);
  }
  o.balance = true;
  auto bal = proofwriter_theory_to_tasks(theory(), "t", o);
  // Two unknowns (Q5, Q7), two true (Q1, Q2), one false (Q6): every label resampled to one.
  std::map<std::string, int> count;
  for (const Task& t : bal) ++count[t.answer];
  EXPECT_EQ(count, (std::map<std::string, int>{{"false", 1}, {"true", 1}, {"unknown", 1}}));
}

TEST(ProofWriterRead, MalformedRecordsNameFileLineAndField) {
  nlohmann::json bad_answer = theory();
  bad_answer["questions"]["Q1"]["answer"] = "Maybe";
  nlohmann::json bad_id = theory();
  bad_id["questions"]["Q1"]["proofs"] = "[((triple9) -> rule1)]";
  nlohmann::json no_qdep = theory();
  no_qdep["questions"]["Q2"].erase("QDep");
  std::string path = write_temp("meta-test.jsonl", theory().dump() + "\n{not json\n" + bad_answer.dump() +
                                                       "\n" + bad_id.dump() + "\n" + no_qdep.dump() + "\n");
  EXPECT_THAT(error_of([&] { proofwriter_read(path); }), HasSubstr("meta-test.jsonl:2: invalid JSON"));
  ProofWriterOptions skip;
  skip.skip_invalid = true;
  TaskReadReport report;
  auto tasks = proofwriter_read(path, skip, &report);
  EXPECT_EQ(tasks.size(), 5u);
  ASSERT_EQ(report.skipped.size(), 4u);
  EXPECT_THAT(report.skipped[1], HasSubstr("meta-test.jsonl:3: questions.Q1: field 'answer': expected true, false or \"Unknown\", got \"Maybe\""));
  EXPECT_THAT(report.skipped[2], HasSubstr("meta-test.jsonl:4: questions.Q1: field 'proofs': expected ids of the theory's triples and rules, got 'triple9'"));
  EXPECT_THAT(report.skipped[3], HasSubstr("meta-test.jsonl:5: questions.Q2: field 'QDep': expected present"));
}
