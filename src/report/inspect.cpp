// Checkpoint summaries for `reckoning inspect`; see inspect.h.
#include <sstream>
#include "reckoning/report/inspect.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"

namespace reckoning {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// Why a stored tensor is not one of the model's parameters, by its family's rules ("" when it is).
std::string note_for(const std::string& name, const nlohmann::json& config) {
  const std::string type = config.is_object() ? config.value("model_type", std::string("gpt2")) : "gpt2";
  if (type != "gpt2") {  // the Llama family (llama_checkpoint.h)
    if (name == "lm_head.weight" && config.value("tie_word_embeddings", false)) {
      return "tied to model.embed_tokens.weight, not counted";
    }
    return ends_with(name, "rotary_emb.inv_freq") ? "rotary buffer, not a parameter" : "";
  }
  switch (gpt2_key_role(name)) {
    case Gpt2KeyRole::kMaskBuffer:
      return "attention mask buffer, not a parameter";
    case Gpt2KeyRole::kTiedHead:
      return "tied to wte.weight, not counted";
    case Gpt2KeyRole::kWeight:
      break;
  }
  return "";
}

CheckpointTensorInfo info_from(const SafetensorsEntry& e, const std::string& file, const nlohmann::json& config) {
  return {e.name, e.dtype, e.shape, e.numel(), file, note_for(e.name, config)};
}

std::string pad(const std::string& s, size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

std::string format_value(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6g", v);
  return buffer;
}

}  // namespace

const std::vector<std::string>& checkpoint_table_files() {
  // Add a side file here to have `reckoning inspect DIR` show it as a table. inner_lrs.safetensors
  // holds the learned inner-loop learning rates (one tensor per weight tensor or layer group, one
  // entry per inner step).
  static const std::vector<std::string> files = {"inner_lrs.safetensors"};
  return files;
}

CheckpointTable checkpoint_table_load(const std::string& path) {
  Safetensors loaded = safetensors_load(path, torch::kFloat64);
  CheckpointTable table;
  table.file = path;
  table.metadata = loaded.metadata;
  for (const auto& [name, tensor] : loaded.tensors) {
    torch::Tensor t = tensor.to(torch::kFloat64).contiguous();
    // A file may label the rows of its (single) table: metadata "rows" = comma-separated names
    // (inner_lrs.safetensors: the rate groups, e.g. embeddings,h.0,h.1,ln_f).
    std::vector<std::string> labels;
    if (auto it = loaded.metadata.find("rows"); it != loaded.metadata.end() && loaded.tensors.size() == 1) {
      std::stringstream in(it->second);
      for (std::string label; std::getline(in, label, ',');) labels.push_back(label);
    }
    if (t.dim() >= 2) {
      const bool labelled = static_cast<int64_t>(labels.size()) == t.size(0);
      for (int64_t i = 0; i < t.size(0); ++i) {
        torch::Tensor row = t[i].reshape({-1});
        table.row_names.push_back(labelled ? labels[static_cast<size_t>(i)] : str(name, "[", i, "]"));
        table.rows.emplace_back(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
      }
    } else {
      torch::Tensor row = t.reshape({-1});
      table.row_names.push_back(name);
      table.rows.emplace_back(row.data_ptr<double>(), row.data_ptr<double>() + row.numel());
    }
  }
  return table;
}

std::vector<CheckpointTable> checkpoint_tables(const std::string& dir) {
  std::vector<CheckpointTable> tables;
  for (const std::string& file : checkpoint_table_files()) {
    const std::string path = path_join(dir, file);
    if (is_regular_file(path)) tables.push_back(checkpoint_table_load(path));
  }
  return tables;
}

CheckpointSummary checkpoint_inspect(const std::string& path) {
  CheckpointSummary s;
  s.path = path;
  std::string weights = path;
  if (is_directory(path)) {
    weights = checkpoint_weights_path(path);
    const std::string config = path_join(path, "config.json");
    if (is_regular_file(config)) s.config = read_json_file(config);
    s.tables = checkpoint_tables(path);
  }
  const nlohmann::json config_json = s.config.value_or(nlohmann::json());
  if (ends_with(weights, ".json")) {
    SafetensorsIndex index = safetensors_read_index(weights);
    s.metadata = index.metadata;
    std::map<std::string, SafetensorsHeader> headers;
    for (const std::string& shard : index.shards) {
      headers[shard] = safetensors_read_header(shard);
      s.files.push_back(shard);
    }
    for (const auto& [name, shard] : index.weight_map) {
      const SafetensorsEntry* e = headers[shard].find(name);
      check(e != nullptr, str(shard, ": tensor '", name, "'"),
            str("present (", weights, " assigns it to this shard)"), "missing");
      s.tensors.push_back(info_from(*e, shard, config_json));
    }
  } else {
    SafetensorsHeader header = safetensors_read_header(weights);
    s.files.push_back(weights);
    s.metadata = header.metadata;
    for (const SafetensorsEntry& e : header.tensors) s.tensors.push_back(info_from(e, weights, config_json));
  }
  // A LoRA model's adapters (their initial values, PEFT's file beside the base model): listed, with
  // a note, and not counted as the model's parameters.
  if (const std::string adapters = path_join(path, "adapter_model.safetensors");
      is_directory(path) && is_regular_file(adapters)) {
    const SafetensorsHeader header = safetensors_read_header(adapters);
    s.files.push_back(adapters);
    for (const SafetensorsEntry& e : header.tensors) {
      CheckpointTensorInfo info = info_from(e, adapters, config_json);
      info.note = "LoRA adapter";
      s.tensors.push_back(info);
    }
  }
  for (const CheckpointTensorInfo& t : s.tensors) {
    if (t.note.empty()) s.parameter_count += t.numel;
  }
  return s;
}

std::string checkpoint_summary_text(const CheckpointSummary& s) {
  std::string out = str("checkpoint: ", s.path, "\n");
  for (const std::string& f : s.files) out += str("file: ", f, "\n");
  if (s.config) {
    out += "config:";
    for (const char* key : {"vocab_size", "n_positions", "n_embd", "n_head", "n_layer"}) {
      if (auto it = s.config->find(key); it != s.config->end()) out += str(" ", key, "=", it->dump());
    }
    out += "\n";
  }
  for (const auto& [k, v] : s.metadata) out += str("metadata: ", k, " = ", v, "\n");

  const bool sharded = s.files.size() > 1;
  size_t name_width = 4, dtype_width = 5, shape_width = 5;
  for (const CheckpointTensorInfo& t : s.tensors) {
    name_width = std::max(name_width, t.name.size());
    dtype_width = std::max(dtype_width, t.dtype.size());
    shape_width = std::max(shape_width, shape_string(t.shape).size());
  }
  std::string header = str(pad("name", name_width), "  ", pad("dtype", dtype_width), "  ",
                           sharded ? pad("shape", shape_width) + "  file" : std::string("shape"));
  out += "\n" + header + "\n";
  for (const CheckpointTensorInfo& t : s.tensors) {
    std::string line = str(pad(t.name, name_width), "  ", pad(t.dtype, dtype_width), "  ",
                           pad(shape_string(t.shape), shape_width));
    if (sharded) line += "  " + file_name(t.file);
    if (!t.note.empty()) line += "  (" + t.note + ")";
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  out += str("\ntensors: ", s.tensors.size(), "\nparameters: ", s.parameter_count, "\n");

  for (const CheckpointTable& table : s.tables) {
    std::string about = "rows = tensors, columns = entries";
    if (auto mode = table.metadata.find("mode"); mode != table.metadata.end()) {
      auto log_space = table.metadata.find("log_space");
      about = str("learned inner learning rates, ", mode->second, ": rows = groups, columns = inner steps",
                  log_space != table.metadata.end() && log_space->second == "true" ? "; values are log(rate)" : "");
    }
    out += str("\n", table.file, " (", about, ")\n");
    size_t width = 0, columns = 0;
    for (size_t r = 0; r < table.rows.size(); ++r) {
      width = std::max(width, table.row_names[r].size());
      columns = std::max(columns, table.rows[r].size());
    }
    const size_t cell = 13;
    std::string column_line = pad("", width);
    for (size_t c = 0; c < columns; ++c) column_line += "  " + pad(std::to_string(c), cell);
    while (!column_line.empty() && column_line.back() == ' ') column_line.pop_back();
    out += column_line + "\n";
    for (size_t r = 0; r < table.rows.size(); ++r) {
      std::string line = pad(table.row_names[r], width);
      for (double v : table.rows[r]) line += "  " + pad(format_value(v), cell);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
  }
  return out;
}

nlohmann::json checkpoint_summary_json(const CheckpointSummary& s) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const CheckpointTensorInfo& t : s.tensors) {
    nlohmann::json j = {{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape},
                        {"numel", t.numel}, {"file", t.file}};
    if (!t.note.empty()) j["note"] = t.note;
    tensors.push_back(std::move(j));
  }
  nlohmann::json tables = nlohmann::json::array();
  for (const CheckpointTable& table : s.tables) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t r = 0; r < table.rows.size(); ++r) {
      rows.push_back({{"name", table.row_names[r]}, {"values", table.rows[r]}});
    }
    tables.push_back({{"file", table.file}, {"metadata", table.metadata}, {"rows", rows}});
  }
  return {{"path", s.path},
          {"files", s.files},
          {"config", s.config ? *s.config : nlohmann::json(nullptr)},
          {"metadata", s.metadata},
          {"tensors", tensors},
          {"tensor_count", s.tensors.size()},
          {"parameter_count", s.parameter_count},
          {"tables", tables}};
}

}  // namespace reckoning
