// The canonical task record: what the trainer and evaluator read, and what every reader and
// generator of reasoning data writes. One JSON object per line:
//
//   {"guid": "clutrr-sg-4-000123",
//    "facts": ["Z C son", ...],          relevant facts (the knowledge the answer needs)
//    "distractors": ["...", ...],       other statements of the same problem (may be empty)
//    "question": "How are C and Z related to each other ?",
//    "answer": "son",                   proofwriter: true|false|unknown; folio: true|false|unknown;
//                                       clutrr: the relation word
//    "hops": 4,                         reasoning depth (ProofWriter QDep, CLUTRR chain length)
//    "source": {"dataset": "clutrr-sg", ...}}   dataset is required; the rest is free metadata
//                                       (original ids, depth, strategy, noise type)
//
// Not here: dataset-specific readers and generators, prompts (prompts.h).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

struct Task {
  std::string guid;
  std::vector<std::string> facts;
  std::vector<std::string> distractors;
  std::string question;
  std::string answer;
  int64_t hops = 0;
  nlohmann::json source = nlohmann::json::object();  // must hold "dataset": string

  const std::string& dataset() const;
};

// The datasets whose prompt and answer conventions the system knows.
const std::vector<std::string>& known_datasets();  // proofwriter, clutrr, clutrr-sg, folio

// `where` is "file:line" for errors: "train.jsonl:12: field 'hops': expected a non-negative
// integer, got \"two\"".
Task task_from_json(const nlohmann::json& json, const std::string& where);
nlohmann::json task_to_json(const Task& task);

struct TaskReadOptions {
  bool skip_invalid = false;  // skip malformed records instead of failing on the first one
};

struct TaskReadReport {
  int64_t read = 0;
  std::vector<std::string> skipped;  // one error message per skipped record (file:line: ...)
};

// The one JSON-lines reading loop: calls `record(json, "file:line", line)` for every non-blank
// line; it returns how many records the line gave. A line that is not JSON, or whose callback
// throws reckoning::Error, fails the read - or, with `skip_invalid`, is listed in `report`.
void jsonl_for_each(const std::string& path, bool skip_invalid, TaskReadReport& report,
                    const std::function<int64_t(const nlohmann::json& json, const std::string& where,
                                                int64_t line)>& record);

// Reads a JSON-lines file of tasks (blank lines ignored). Throws reckoning::Error at the first
// malformed line unless options.skip_invalid, in which case the report lists every skipped line.
std::vector<Task> tasks_load(const std::string& path, const TaskReadOptions& options = {},
                             TaskReadReport* report = nullptr);
// At most `limit` tasks (0 = all), taken at an even stride so that a file sorted by hop count
// keeps every hop count (a prefix would not).
std::vector<Task> tasks_subsample(std::vector<Task> tasks, int64_t limit);

// Atomically writes tasks as JSON lines.
void tasks_save(const std::string& path, const std::vector<Task>& tasks);

}  // namespace reckoning
