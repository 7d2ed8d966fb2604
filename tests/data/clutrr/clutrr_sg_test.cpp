// CLUTRR-SG reader: sentence forms, letters simplification, round trip, malformed lines.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/data/clutrr/clutrr_sg.h"
#include "reckoning/base/error.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

const std::string kFixture = std::string(RECKONING_SOURCE_DIR) + "/tests/fixtures/clutrr_sg_sample.txt";

std::string error_of(const std::string& line) {
  try {
    clutrr_sg_parse_line(line, "sg.txt:4");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(ClutrrSg, ReadsEveryLineAndSentenceForm) {
  auto examples = clutrr_sg_read(kFixture);
  ASSERT_EQ(examples.size(), 3u);  // the blank line is skipped
  const auto& a = examples[0];
  ASSERT_EQ(a.edges.size(), 2u);
  EXPECT_EQ(a.edges[0].from, 3);  // "ent_20 is a son to ent_3": ent_20 is ent_3's son
  EXPECT_EQ(a.edges[0].to, 20);
  EXPECT_EQ(a.edges[0].word, "son");
  EXPECT_EQ(a.edges[1].from, 5);
  EXPECT_EQ(a.query_from, 5);
  EXPECT_EQ(a.query_to, 20);
  EXPECT_EQ(a.answer, "nephew");
  const auto& b = examples[1];
  EXPECT_EQ(b.edges[1].from, 1);  // "ent_12 is ent_1 's wife"
  EXPECT_EQ(b.edges[1].to, 12);
  EXPECT_EQ(b.answer, "grandmother");
  EXPECT_EQ(examples[2].edges[0].from, 2);  // "ent_2 's husband is ent_11"
  EXPECT_EQ(examples[2].edges[0].to, 11);
  EXPECT_EQ(examples[2].answer, "son");  // bare answer word
}

TEST(ClutrrSg, LettersFollowReckoningsSimplification) {
  auto examples = clutrr_sg_read(kFixture);
  Task t = clutrr_sg_to_task(examples[0], /*letters=*/true);
  // 1..20 -> A B C D H J K L M N O P Q R S T V X Y Z: 20 -> Z, 3 -> C, 5 -> H.
  EXPECT_EQ(t.facts, (std::vector<std::string>{"Z C son", "C H brother"}));
  EXPECT_EQ(t.question, "How are H and Z related to each other ?");
  EXPECT_EQ(t.answer, "nephew");
  EXPECT_EQ(t.hops, 2);
  EXPECT_TRUE(t.distractors.empty());
  EXPECT_EQ(t.guid, "clutrr-sg-clutrr_sg_sample.txt:1");
  Task s = clutrr_sg_to_task(examples[0], false);
  EXPECT_EQ(s.facts[0], "ent_20 is a son to ent_3 .");
  EXPECT_EQ(s.question, "How are ent_5 and ent_20 related to each other ?");
  // Round trip through the line format.
  auto again = clutrr_sg_parse_line(clutrr_sg_format(examples[1]), "x");
  EXPECT_EQ(again.answer, examples[1].answer);
  EXPECT_EQ(again.edges.size(), examples[1].edges.size());
}

TEST(ClutrrSg, MalformedLinesNameTheSection) {
  EXPECT_THAT(error_of("<STORY> ent_1 is a son to ent_2 . <QUERY> How are ent_2 and ent_1 related to each other ?"),
              HasSubstr("sg.txt:4: expected the marker <PROOF>"));
  EXPECT_THAT(error_of("<STORY> ent_1 likes ent_2 . <QUERY> How are ent_2 and ent_1 related to each other ? <PROOF> x <ANSWER> son"),
              HasSubstr("sg.txt:4: <STORY> sentence 1: expected 'ent_a is a W to ent_b'"));
  EXPECT_THAT(error_of("<STORY> ent_1 is a cousin to ent_2 . <QUERY> How are ent_2 and ent_1 related to each other ? <PROOF> x <ANSWER> son"),
              HasSubstr("expected one of the 22 relation words, got 'cousin'"));
  EXPECT_THAT(error_of("<STORY> ent_1 is a son to ent_2 . <QUERY> Who is ent_1 ? <PROOF> x <ANSWER> son"),
              HasSubstr("sg.txt:4: <QUERY>: expected 'How are ent_a and ent_b related to each other ?'"));
  EXPECT_THAT(error_of("<STORY> ent_1 is a son to ent_2 . <QUERY> How are ent_2 and ent_1 related to each other ? <PROOF> x <ANSWER> ent_2 is the father of ent_1 ."),
              HasSubstr("<ANSWER>: expected the relation of ent_1 to ent_2 (the query)"));
  // Found by fuzz/clutrr_sg_fuzz.cpp (fuzz/regressions/clutrr_sg/): an entity number beyond 64 bits
  // escaped as std::out_of_range.
  EXPECT_THAT(error_of("<STORY> ent_1 is a son to ent_22222222222222222222222 . <QUERY> How are ent_2 and ent_1 related to each other ? <PROOF> x <ANSWER> son"),
              HasSubstr("sg.txt:4: <STORY> sentence 1: entity number: expected an integer within 64 bits, got '22222222222222222222222'"));
  EXPECT_THAT(error_of("<STORY> ent_1 is a son to ent_2 . <QUERY> How are ent_99999999999999999999 and ent_1 related to each other ? <PROOF> x <ANSWER> son"),
              HasSubstr("<QUERY>: entity number: expected an integer within 64 bits"));
  auto ex = clutrr_sg_parse_line("<STORY> ent_21 is a son to ent_2 . <QUERY> How are ent_2 and ent_21 related to each other ? <PROOF> x <ANSWER> son", "l");
  try {
    clutrr_sg_to_task(ex, true);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("expected an entity number in 1..20 (20 letters), got 21"));
  }
}
