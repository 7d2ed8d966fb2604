// Python literal parser: the shapes found in CLUTRR's CSV cells, and errors.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/base/python_literal.h"

using namespace reckoning;
using ::testing::HasSubstr;

TEST(PythonLiteral, ClutrrShapes) {
  PyValue q = py_literal_parse("('Jenny', 'Benjamin')", "q");
  EXPECT_EQ(py_as_string(py_as_sequence(q, 2, "q")[1], "q"), "Benjamin");
  PyValue e = py_literal_parse("[(0, 1), (1, 2)]", "e");
  EXPECT_EQ(e.items.size(), 2u);
  EXPECT_EQ(py_as_int(e.items[1].items[0], "e"), 1);
  PyValue p = py_literal_parse(
      "[{('Jenny', 'brother', 'Ben'): [('Jenny', 'daughter', 'Anne'), ('Anne', 'uncle', 'Ben')]}]", "p");
  ASSERT_EQ(p.items[0].kind, PyValue::Kind::dict);
  EXPECT_EQ(p.items[0].entries[0].first.items[1].string, "brother");
  EXPECT_EQ(p.items[0].entries[0].second.items.size(), 2u);
  PyValue m = py_literal_parse("{0: 0, 23: 1, -5: 2}", "m");
  EXPECT_EQ(m.entries[2].first.integer, -5);
  PyValue s = py_literal_parse("[\"it's\", 'a \\'quote\\'', None, True, (1,)]", "s");
  EXPECT_EQ(s.items[0].string, "it's");
  EXPECT_EQ(s.items[1].string, "a 'quote'");
  EXPECT_EQ(s.items[2].kind, PyValue::Kind::none);
  EXPECT_EQ(s.items[3].integer, 1);
  EXPECT_EQ(s.items[4].items.size(), 1u);
}

TEST(PythonLiteral, Errors) {
  auto error = [](const std::string& text) {
    try {
      py_literal_parse(text, "x.csv:3: field 'query'");
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  // Found by fuzz/python_literal_fuzz.cpp (fuzz/regressions/python_literal/): deep nesting overflowed
  // the stack. 100 levels parse; deeper is refused.
  EXPECT_EQ(py_literal_parse(std::string(100, '[') + std::string(100, ']'), "x").kind, PyValue::Kind::list);
  EXPECT_THAT(error(std::string(100000, '[')), ::testing::HasSubstr("containers nested at most 100 deep"));
  EXPECT_THAT(error(std::string(60, '(') + std::string(60, '{')), ::testing::HasSubstr("nested at most 100 deep"));
  EXPECT_THAT(error("('a', 'b'"), HasSubstr("x.csv:3: field 'query': expected ')' or ',' at position 9, got end of text"));
  EXPECT_THAT(error("('a' 'b')"), HasSubstr("expected ')' or ','"));
  EXPECT_THAT(error("'open"), HasSubstr("a closing '"));
  EXPECT_THAT(error("1.5"), HasSubstr("an integer"));
  EXPECT_THAT(error("(1) x"), HasSubstr("end of the literal"));
  EXPECT_THAT(error("{1 2}"), HasSubstr("':'"));
  try {
    py_as_sequence(py_literal_parse("(1, 2, 3)", "w"), 2, "w");
    FAIL();
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("w: expected a tuple of 2 items, got 3 items"));
  }
}
