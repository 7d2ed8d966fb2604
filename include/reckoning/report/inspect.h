// What `reckoning inspect` shows: every tensor of a checkpoint (name, dtype, shape, file), the
// parameter count, the directory's config.json, and small side files of a model directory shown
// as tables (today `inner_lrs.safetensors`, the learned inner-loop learning rates).
//
// Only headers are read for the weights, so inspecting GPT-2 small costs milliseconds. Knows
// nothing about the trainer: a table file is any safetensors file listed in checkpoint_table_files.
// Not here: loading weights for use (model/hf_checkpoint.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace reckoning {

struct CheckpointTensorInfo {
  std::string name;            // as stored
  std::string dtype;           // safetensors name: "F32", ...
  std::vector<int64_t> shape;
  int64_t numel = 0;
  std::string file;            // the file holding it (the shard for sharded checkpoints)
  std::string note;            // "" for weights; why a tensor is not counted as a parameter
};

// A small tensor file shown as a table: one row per tensor (a 2-D+ tensor gives one row per index
// of its first dimension, "name[i]"), columns = the row's entries.
struct CheckpointTable {
  std::string file;
  std::vector<std::string> row_names;
  std::vector<std::vector<double>> rows;
  std::map<std::string, std::string> metadata;
};

struct CheckpointSummary {
  std::string path;                             // as given
  std::vector<std::string> files;               // weight files whose headers were read
  std::optional<nlohmann::json> config;         // config.json of a model directory, if present
  std::map<std::string, std::string> metadata;  // "__metadata__" (of the first file) or index metadata
  std::vector<CheckpointTensorInfo> tensors;    // file order (weight-map order when sharded)
  int64_t parameter_count = 0;                  // numel of every tensor without a note
  std::vector<CheckpointTable> tables;          // side files of a model directory
};

// `path`: a model directory, a .safetensors file or a sharded index (.json). Throws reckoning::Error
// (from the readers) for anything malformed.
CheckpointSummary checkpoint_inspect(const std::string& path);

// Extension point: file names inside a model directory that are shown as tables when present.
const std::vector<std::string>& checkpoint_table_files();
// Loads one table file (any safetensors file of numeric tensors).
CheckpointTable checkpoint_table_load(const std::string& path);
// The tables of a model directory: every checkpoint_table_files() entry that exists, in that order.
std::vector<CheckpointTable> checkpoint_tables(const std::string& dir);

// Human-readable report (aligned columns) and the same content as JSON.
std::string checkpoint_summary_text(const CheckpointSummary& summary);
nlohmann::json checkpoint_summary_json(const CheckpointSummary& summary);

}  // namespace reckoning
