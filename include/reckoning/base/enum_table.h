// One name <-> value table per enum-valued setting (method, control, inner optimizer, rate mode,
// matmul precision): parsing, printing, the allowed values in errors, the CLI and the help text
// all read the same table, so a new value is added in one place.
//
// An enum opts in by specialising enum_names<E>() next to its definition:
//   template <> const std::vector<EnumName<Method>>& enum_names<Method>();
// and defining it (in the .cpp) as a static table {{Method::Reckoning, "reckoning"}, ...}.
#pragma once

#include <string>
#include <vector>

#include "reckoning/base/error.h"

namespace reckoning {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

template <typename E>
const std::vector<EnumName<E>>& enum_names();

// "a, b, c" (or with another separator: "a | b | c").
template <typename E>
std::string enum_choices(const char* separator = ", ") {
  std::string out;
  for (const auto& entry : enum_names<E>()) out += (out.empty() ? "" : separator) + std::string(entry.name);
  return out;
}

// The value named `text`; otherwise an error naming `where`, the allowed names and what was found.
template <typename E>
E enum_parse(const std::string& text, const std::string& where) {
  for (const auto& entry : enum_names<E>()) {
    if (text == entry.name) return entry.value;
  }
  throw_error(where, str("one of ", enum_choices<E>()), str("'", text, "'"));
}

template <typename E>
std::string enum_name(E value) {
  for (const auto& entry : enum_names<E>()) {
    if (entry.value == value) return entry.name;
  }
  throw Error(str("enum value ", static_cast<int>(value), " has no name in its table"));
}

}  // namespace reckoning
