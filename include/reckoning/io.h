// Small file helpers shared by every reader and writer: whole-file reads with errors that name the
// file, and atomic writes (write to a temporary file in the same directory, fsync, rename), so that
// an interrupted write never destroys what was already there.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace reckoning {

// Reads the whole file; throws reckoning::Error naming the path if it cannot be opened or read.
std::string read_file(const std::string& path);
// Atomically replaces `path` with `contents`; creates missing parent directories.
void write_file_atomic(const std::string& path, const std::string& contents);
// Parses a JSON file; errors name the file and the parser's position.
nlohmann::json read_json_file(const std::string& path);
// Atomically writes `json` indented by 2 spaces with a final newline.
void write_json_file_atomic(const std::string& path, const nlohmann::json& json);
bool file_exists(const std::string& path);
std::string path_join(const std::string& dir, const std::string& name);

// Removes `path` and everything under it, without following symbolic links (rm -rf); a missing
// path is not an error. Returns the number of entries removed; throws Error naming the first entry
// that could not be removed. Written on nftw rather than std::filesystem::remove_all: PyTorch's
// wheels export their own copy of std::filesystem from libtorch, and a program linked against that
// LibTorch binds to it and crashes in remove_all (seen with PyTorch 2.11, docs/PERFORMANCE.md).
uint64_t remove_tree(const std::string& path);

}  // namespace reckoning

namespace reckoning {

// Replaces directory `dir` by `staging` (a fully written sibling directory) with renames only, so
// that a reader sees either the old or the new directory, never a half-written one. The old
// directory is removed afterwards.
void replace_directory(const std::string& staging, const std::string& dir);
// A fresh sibling path for staging a directory: "<dir>.staging-<pid>-<n>".
std::string staging_path(const std::string& dir);

}  // namespace reckoning
