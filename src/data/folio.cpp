// FOLIO reader; see folio.h.
#include "reckoning/data/folio.h"

#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

Task folio_task_from_json(const nlohmann::json& json, const std::string& where, int64_t line) {
  check(json.is_object(), where, "a JSON object", json.type_name());
  auto field = [&](const char* name) -> const nlohmann::json& {
    auto it = json.find(name);
    check(it != json.end(), str(where, ": field '", name, "'"), "present", "nothing");
    return *it;
  };
  Task t;
  const nlohmann::json& premises = field("premises");
  check(premises.is_array() && !premises.empty(), str(where, ": field 'premises'"),
        "a non-empty list of strings", premises.dump());
  for (size_t i = 0; i < premises.size(); ++i) {
    check(premises[i].is_string() && !premises[i].get_ref<const std::string&>().empty(),
          str(where, ": field 'premises[", i, "]'"), "a non-empty string", premises[i].dump());
    std::string p = premises[i].get<std::string>();
    while (!p.empty() && (p.back() == ' ' || p.back() == '\n')) p.pop_back();  // stray spaces
    t.facts.push_back(p);
  }
  const nlohmann::json& conclusion = field("conclusion");
  check(conclusion.is_string() && !conclusion.get_ref<const std::string&>().empty(),
        str(where, ": field 'conclusion'"), "a non-empty string", conclusion.dump());
  t.question = conclusion.get<std::string>();
  const nlohmann::json& label = field("label");
  const std::string l = label.is_string() ? label.get<std::string>() : std::string();
  if (l == "True") t.answer = "true";
  else if (l == "False") t.answer = "false";
  else if (l == "Uncertain" || l == "Unknown") t.answer = "unknown";
  else throw_error(str(where, ": field 'label'"), "\"True\", \"False\", \"Uncertain\" or \"Unknown\"", label.dump());
  t.hops = static_cast<int64_t>(t.facts.size());
  t.guid = str("folio-", line);
  t.source = {{"dataset", "folio"}, {"line", line}};
  if (json.contains("example_id")) {
    t.source["example_id"] = json["example_id"];
    t.guid = "folio-" + (json["example_id"].is_string() ? json["example_id"].get<std::string>()
                                                         : json["example_id"].dump());
  }
  if (json.contains("story_id")) t.source["story_id"] = json["story_id"];
  if (json.contains("premises-FOL")) t.source["premises_fol"] = json["premises-FOL"];
  if (json.contains("conclusion-FOL")) t.source["conclusion_fol"] = json["conclusion-FOL"];
  return t;
}

std::vector<Task> folio_read(const std::string& path, const TaskReadOptions& options,
                             TaskReadReport* report) {
  std::vector<Task> tasks;
  TaskReadReport local;
  jsonl_for_each(path, options.skip_invalid, local, [&](const nlohmann::json& json, const std::string& where, int64_t number) {
    tasks.push_back(folio_task_from_json(json, where, number));
    return int64_t{1};
  });
  if (report != nullptr) *report = std::move(local);
  return tasks;
}

}  // namespace reckoning
