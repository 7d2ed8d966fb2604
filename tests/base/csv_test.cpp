// CSV reader: quoting rules and error positions.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/csv.h"
#include "reckoning/base/error.h"

using namespace reckoning;
using ::testing::HasSubstr;

TEST(Csv, QuotedFieldsWithCommasQuotesAndNewlines) {
  auto r = csv_parse("a,b,c\r\n1,\"x, y\",\"say \"\"hi\"\"\"\n2,\"two\nlines\",\n\n3,,z", "t.csv");
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[1].fields, (std::vector<std::string>{"1", "x, y", "say \"hi\""}));
  EXPECT_EQ(r[2].fields, (std::vector<std::string>{"2", "two\nlines", ""}));
  EXPECT_EQ(r[2].line, 3);
  EXPECT_EQ(r[3].line, 6);  // after the embedded newline and a blank line
  EXPECT_EQ(r[3].fields, (std::vector<std::string>{"3", "", "z"}));
  EXPECT_EQ(csv_column(r[0], "c", "t.csv"), 2u);
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  auto error = [](const std::string& text) {
    try {
      csv_parse(text, "t.csv");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error("a,b\n1,\"open\n2,3\n"), HasSubstr("t.csv:2: column 3: expected a closing '\"'"));
  EXPECT_THAT(error("a,b\n1,\"x\"y\n"), HasSubstr("t.csv:2: column 6: expected ',' or end of line"));
  EXPECT_THAT(error("a,b\n1,x\"y\n"), HasSubstr("t.csv:2: column 4"));
  auto header = csv_parse("a,b\n", "t.csv");
  try {
    csv_column(header[0], "z", "t.csv");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("t.csv:1: header: expected a column 'z', got columns [a, b]"));
  }
}
