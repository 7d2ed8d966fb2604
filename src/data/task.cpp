// The canonical task record; see task.h.
#include "reckoning/data/task.h"

#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

const std::string& Task::dataset() const {
  static const std::string empty;
  auto it = source.find("dataset");
  return it != source.end() && it->is_string() ? it->get_ref<const std::string&>() : empty;
}

const std::vector<std::string>& known_datasets() {
  static const std::vector<std::string> names{"proofwriter", "clutrr", "clutrr-sg", "folio"};
  return names;
}

namespace {

std::string field_where(const std::string& where, const char* field) {
  return str(where, ": field '", field, "'");
}

const nlohmann::json& require(const nlohmann::json& json, const std::string& where, const char* field) {
  auto it = json.find(field);
  check(it != json.end(), field_where(where, field), "present", "nothing");
  return *it;
}

std::string require_string(const nlohmann::json& json, const std::string& where, const char* field,
                           bool non_empty) {
  const nlohmann::json& v = require(json, where, field);
  check(v.is_string(), field_where(where, field), "a string", v.dump());
  check(!non_empty || !v.get_ref<const std::string&>().empty(), field_where(where, field),
        "a non-empty string", "\"\"");
  return v.get<std::string>();
}

std::vector<std::string> require_strings(const nlohmann::json& json, const std::string& where,
                                         const char* field) {
  const nlohmann::json& v = require(json, where, field);
  check(v.is_array(), field_where(where, field), "a list of strings", v.dump());
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    check(v[i].is_string(), str(where, ": field '", field, "[", i, "]'"), "a string", v[i].dump());
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

}  // namespace

Task task_from_json(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, "a JSON object", json.type_name());
  Task t;
  t.guid = require_string(json, where, "guid", true);
  t.facts = require_strings(json, where, "facts");
  t.distractors = json.contains("distractors") ? require_strings(json, where, "distractors")
                                               : std::vector<std::string>{};
  t.question = require_string(json, where, "question", true);
  t.answer = require_string(json, where, "answer", true);
  const nlohmann::json& hops = require(json, where, "hops");
  check(hops.is_number_integer() && hops.get<int64_t>() >= 0, field_where(where, "hops"),
        "a non-negative integer", hops.dump());
  t.hops = hops.get<int64_t>();
  const nlohmann::json& source = require(json, where, "source");
  check(source.is_object(), field_where(where, "source"), "an object", source.dump());
  auto dataset = source.find("dataset");
  check(dataset != source.end() && dataset->is_string(), field_where(where, "source.dataset"),
        "a string", dataset == source.end() ? "nothing" : dataset->dump());
  t.source = source;
  return t;
}

nlohmann::json task_to_json(const Task& t) {
  nlohmann::json j = nlohmann::json::object();
  j["guid"] = t.guid;
  j["facts"] = t.facts;
  j["distractors"] = t.distractors;
  j["question"] = t.question;
  j["answer"] = t.answer;
  j["hops"] = t.hops;
  j["source"] = t.source;
  return j;
}

void jsonl_for_each(const std::string& path, bool skip_invalid, TaskReadReport& report,
                    const std::function<int64_t(const nlohmann::json&, const std::string&, int64_t)>& record) {
  std::istringstream in(read_file(path));
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = str(path, ":", number);
    try {
      nlohmann::json json;
      try {
        json = nlohmann::json::parse(line);
      } catch (const nlohmann::json::exception& e) {
        throw Error(str(where, ": invalid JSON (", e.what(), ")"));
      }
      report.read += record(json, where, number);
    } catch (const Error& e) {
      if (!skip_invalid) throw;
      report.skipped.push_back(e.what());
    }
  }
}

std::vector<Task> tasks_load(const std::string& path, const TaskReadOptions& options,
                             TaskReadReport* report) {
  std::vector<Task> tasks;
  TaskReadReport local;
  jsonl_for_each(path, options.skip_invalid, local, [&](const nlohmann::json& json, const std::string& where, int64_t) {
    tasks.push_back(task_from_json(json, where));
    return int64_t{1};
  });
  if (report != nullptr) *report = std::move(local);
  return tasks;
}

std::vector<Task> tasks_subsample(std::vector<Task> tasks, int64_t limit) {
  if (limit <= 0 || static_cast<int64_t>(tasks.size()) <= limit) return tasks;
  std::vector<Task> out;
  const double stride = static_cast<double>(tasks.size()) / static_cast<double>(limit);
  for (int64_t i = 0; i < limit; ++i) out.push_back(std::move(tasks[static_cast<size_t>(i * stride)]));
  return out;
}

void tasks_save(const std::string& path, const std::vector<Task>& tasks) {
  std::string out;
  for (const Task& t : tasks) out += task_to_json(t).dump() + "\n";
  write_file_atomic(path, out);
}

}  // namespace reckoning
