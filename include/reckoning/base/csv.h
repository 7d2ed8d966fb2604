// A CSV reader (RFC 4180): comma-separated fields, fields in double quotes may contain commas,
// newlines and doubled quotes (""), CRLF or LF line ends. Used for the CLUTRR v1 release files.
// Not here: type conversion of fields, writing CSV.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace reckoning {

struct CsvRecord {
  int64_t line = 0;  // 1-based line where the record starts
  std::vector<std::string> fields;
};

// Parses a whole CSV text; blank lines are skipped. `where` (usually the file name) prefixes error
// messages: "data.csv:7: unterminated quoted field (opened at line 7, column 12)".
std::vector<CsvRecord> csv_parse(const std::string& text, const std::string& where);

// Index of `column` in a header record; throws naming `where` and the columns present.
size_t csv_column(const CsvRecord& header, const std::string& column, const std::string& where);

}  // namespace reckoning
