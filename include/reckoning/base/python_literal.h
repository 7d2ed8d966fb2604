// A parser for the Python literals that CLUTRR writes into its CSV cells with str(): strings in
// single or double quotes (with backslash escapes), integers, None/True/False, tuples, lists and
// dicts (keys may be tuples), e.g. "[{('Jenny', 'brother', 'Ben'): [('Jenny', 'son', 'Ed')]}]".
// Not here: floats, sets, bytes, expressions (CLUTRR's files contain none; they are errors).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace reckoning {

struct PyValue {
  enum class Kind { none, boolean, integer, string, tuple, list, dict };
  Kind kind = Kind::none;
  int64_t integer = 0;  // also the boolean (0/1)
  std::string string;
  std::vector<PyValue> items;                          // tuple, list
  std::vector<std::pair<PyValue, PyValue>> entries;    // dict, in source order

  bool is_sequence() const { return kind == Kind::tuple || kind == Kind::list; }
};

const char* py_kind_name(PyValue::Kind kind);

// Parses one literal (surrounding whitespace allowed); errors name `where` and the character
// position: "x.csv:3: field 'query': expected ')' or ',' at position 17, got 'x'".
PyValue py_literal_parse(const std::string& text, const std::string& where);

// Checked accessors: throw naming `where` with the expected and the found kind.
const std::string& py_as_string(const PyValue& v, const std::string& where);
int64_t py_as_int(const PyValue& v, const std::string& where);
// A tuple or list of exactly `n` items (n < 0: any length).
const std::vector<PyValue>& py_as_sequence(const PyValue& v, int64_t n, const std::string& where);

}  // namespace reckoning
