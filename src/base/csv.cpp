// CSV reader; see csv.h.
#include "reckoning/base/csv.h"

#include "reckoning/base/error.h"

namespace reckoning {

std::vector<CsvRecord> csv_parse(const std::string& text, const std::string& where) {
  std::vector<CsvRecord> records;
  const size_t n = text.size();
  size_t i = 0;
  int64_t line = 1;
  while (i < n) {
    // Blank lines between records carry no record.
    if (text[i] == '\n' || (text[i] == '\r' && i + 1 < n && text[i + 1] == '\n')) {
      i += text[i] == '\r' ? 2 : 1;
      ++line;
      continue;
    }
    CsvRecord record;
    record.line = line;
    std::string field;
    size_t line_start = i;
    while (true) {
      if (i < n && text[i] == '"') {
        const int64_t open_line = line;
        const size_t open_column = i - line_start + 1;
        ++i;
        while (true) {
          if (i >= n) {
            throw_error(str(where, ":", open_line, ": column ", open_column),
                        "a closing '\"' for the quoted field opened here", "end of file");
          }
          if (text[i] == '"') {
            if (i + 1 < n && text[i + 1] == '"') {
              field += '"';
              i += 2;
              continue;
            }
            ++i;
            break;
          }
          if (text[i] == '\n') {
            ++line;
            line_start = i + 1;
          }
          field += text[i++];
        }
        if (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          throw_error(str(where, ":", line, ": column ", i - line_start + 1),
                      "',' or end of line after a closing '\"'", str("'", text[i], "'"));
        }
      } else {
        while (i < n && text[i] != ',' && text[i] != '\n' && text[i] != '\r') {
          if (text[i] == '"') {
            throw_error(str(where, ":", line, ": column ", i - line_start + 1),
                        "'\"' only at the start of a field (quote the whole field)", "'\"' inside");
          }
          field += text[i++];
        }
      }
      record.fields.push_back(std::move(field));
      field.clear();
      if (i < n && text[i] == ',') {
        ++i;
        continue;
      }
      if (i < n && text[i] == '\r') ++i;
      if (i < n && text[i] == '\n') {
        ++i;
        ++line;
      }
      break;
    }
    records.push_back(std::move(record));
  }
  return records;
}

size_t csv_column(const CsvRecord& header, const std::string& column, const std::string& where) {
  for (size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i] == column) return i;
  }
  std::string present;
  for (const auto& f : header.fields) present += (present.empty() ? "" : ", ") + f;
  throw_error(str(where, ":", header.line, ": header"), str("a column '", column, "'"),
              str("columns [", present, "]"));
}

}  // namespace reckoning
