// The safetensors file format (https://huggingface.co/docs/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON header {name: {dtype, shape, data_offsets}, "__metadata__":
// {string: string}}, then the raw little-endian tensor data, offsets relative to its start.
// Single files and sharded checkpoints (`*.safetensors.index.json` with a "weight_map").
//
// Reading validates the whole header against the file size before touching any tensor data, so a
// malformed or truncated file gives a reckoning::Error naming the file and tensor, never a crash.
// Files are memory-mapped and each tensor is copied once into its own LibTorch storage.
// Not here: what the tensors mean (model/hf_checkpoint.h for GPT-2 model directories).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <torch/torch.h>

namespace reckoning {

// One tensor as the header describes it.
struct SafetensorsEntry {
  std::string name;
  std::string dtype;           // "F32", "F16", "BF16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL"
  std::vector<int64_t> shape;
  uint64_t begin = 0;          // data_offsets, relative to the start of the data section
  uint64_t end = 0;
  int64_t numel() const;
};

// A validated header: tensors in the order the file lists them.
struct SafetensorsHeader {
  std::string path;
  std::vector<SafetensorsEntry> tensors;
  std::map<std::string, std::string> metadata;  // "__metadata__"; empty if absent
  uint64_t data_start = 0;                      // byte offset of the data section in the file
  const SafetensorsEntry* find(const std::string& name) const;
};

// Named tensors in order, plus the file's metadata.
struct Safetensors {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  std::map<std::string, std::string> metadata;
  // nullptr if absent.
  const torch::Tensor* find(const std::string& name) const;
};

// Reads and validates only the header (cheap even for large files): every dtype known, shapes
// lists of non-negative ints, data_offsets inside the data section, matching shape x dtype size,
// ranges not overlapping. Throws reckoning::Error naming the file and tensor.
SafetensorsHeader safetensors_read_header(const std::string& path);

// Loads every tensor of a .safetensors file into owned CPU tensors, in file order. Floating-point
// tensors (F16, BF16, F32, F64) are converted to `float_dtype` if given, else keep their stored
// type; integer and bool tensors always keep theirs.
Safetensors safetensors_load(const std::string& path,
                             std::optional<torch::Dtype> float_dtype = std::nullopt);

// Writes `tensors` in the given order (header and data) with `metadata` as "__metadata__",
// atomically (io.h write_file_atomic). Tensors may be F32, F64, F16, BF16, I64, I32, I16, I8, U8
// or bool, any device, any strides; names must be unique, non-empty and not "__metadata__".
void safetensors_save(const std::string& path,
                      const std::vector<std::pair<std::string, torch::Tensor>>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

// A sharded checkpoint's index file (`model.safetensors.index.json`): tensor name -> shard file.
struct SafetensorsIndex {
  std::string path;
  std::vector<std::pair<std::string, std::string>> weight_map;  // (tensor, shard path), index order
  std::vector<std::string> shards;                               // distinct shard paths, first-use order
  std::map<std::string, std::string> metadata;                   // "metadata" values that are strings or numbers
};

// Reads the index; shard paths are resolved relative to the index's directory and must exist.
SafetensorsIndex safetensors_read_index(const std::string& index_path);

// Loads a sharded checkpoint: every tensor of the weight map from its shard, in weight-map order.
// Errors if a shard lacks a tensor the index assigns to it or holds one the index does not list.
Safetensors safetensors_load_index(const std::string& index_path,
                                   std::optional<torch::Dtype> float_dtype = std::nullopt);

// The safetensors name ("F32") of a torch dtype. Throws reckoning::Error (naming `where`) for unsupported types.
std::string safetensors_dtype_from_torch(torch::Dtype dtype, const std::string& where);
// Bytes per element of a supported dtype name, 0 if the name is not supported.
int64_t safetensors_dtype_size(const std::string& dtype);

}  // namespace reckoning
