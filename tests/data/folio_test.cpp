// FOLIO reader: the real validation file (204 rows, True 72 / Uncertain 69 / False 63) and errors.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/data/folio.h"

using namespace reckoning;
using ::testing::HasSubstr;

TEST(Folio, RealValidationFile) {
  auto tasks = folio_read(std::string(RECKONING_SOURCE_DIR) + "/data/samples/folio/folio-validation.jsonl");
  ASSERT_EQ(tasks.size(), 204u);
  std::map<std::string, int> labels;
  for (const Task& t : tasks) {
    ++labels[t.answer];
    EXPECT_EQ(t.hops, static_cast<int64_t>(t.facts.size()));
    EXPECT_GE(t.facts.size(), 2u);
    EXPECT_LE(t.facts.size(), 9u);
    EXPECT_EQ(t.dataset(), "folio");
  }
  EXPECT_EQ(labels, (std::map<std::string, int>{{"true", 72}, {"unknown", 69}, {"false", 63}}));
  EXPECT_EQ(tasks[0].question, "Bonnie performs in school talent shows often.");
  EXPECT_EQ(tasks[0].answer, "unknown");
  EXPECT_EQ(tasks[0].guid, "folio-1");
  EXPECT_EQ(tasks[0].facts.back().back(), '.');  // trailing space of the release stripped
}

TEST(Folio, MalformedLines) {
  auto dir = std::filesystem::temp_directory_path() / "reckoning_folio_test";
  std::filesystem::create_directories(dir);
  std::string path = (dir / "bad.jsonl").string();
  std::ofstream(path) << R"({"premises": ["A."], "conclusion": "B.", "label": "Unknown"})" "\n"
                      << R"({"premises": ["A."], "conclusion": "B.", "label": "Maybe"})" "\n"
                      << R"({"premises": "A.", "conclusion": "B.", "label": "True"})" "\n"
                      << R"({"premises": ["A."], "label": "True"})" "\n"
                      << "[1, 2\n";
  try {
    folio_read(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()),
                HasSubstr("bad.jsonl:2: field 'label': expected \"True\", \"False\", \"Uncertain\" or \"Unknown\", got \"Maybe\""));
  }
  TaskReadOptions skip;
  skip.skip_invalid = true;
  TaskReadReport report;
  auto tasks = folio_read(path, skip, &report);
  ASSERT_EQ(tasks.size(), 1u);
  EXPECT_EQ(tasks[0].answer, "unknown");
  ASSERT_EQ(report.skipped.size(), 4u);
  EXPECT_THAT(report.skipped[1], HasSubstr("bad.jsonl:3: field 'premises': expected a non-empty list of strings"));
  EXPECT_THAT(report.skipped[2], HasSubstr("bad.jsonl:4: field 'conclusion': expected present"));
  EXPECT_THAT(report.skipped[3], HasSubstr("bad.jsonl:5: invalid JSON"));
}
