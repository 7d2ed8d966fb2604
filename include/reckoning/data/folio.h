// Reader for FOLIO (Han et al. 2022) JSON lines: {"premises": [...], "premises-FOL": [...],
// "conclusion": "...", "conclusion-FOL": "...", "label": "True"|"False"|"Uncertain"|"Unknown"}.
// Converted to the canonical record: facts = premises, question = conclusion, answer
// true|false|unknown (Uncertain and Unknown -> unknown), hops = number of premises (FOLIO has no
// proof depth; the premise count is the only size measure it carries), no distractors.
// Not here: FOL parsing (the -FOL fields are kept in source, unused).
#pragma once

#include <string>
#include <vector>

#include "reckoning/data/task.h"

namespace reckoning {

// `where` is "file:line"; `guid` defaults to "folio-<line>" (FOLIO v0.0 has no ids; later
// versions' example_id is used when present).
Task folio_task_from_json(const nlohmann::json& json, const std::string& where, int64_t line);

// Reads a FOLIO jsonl file. Errors name file:line and the field; skip_invalid as in tasks_load.
std::vector<Task> folio_read(const std::string& path, const TaskReadOptions& options = {},
                             TaskReadReport* report = nullptr);

}  // namespace reckoning
