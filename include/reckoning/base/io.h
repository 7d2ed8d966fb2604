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

// Paths, on POSIX calls rather than std::filesystem: PyTorch's wheels export their own copy of
// std::filesystem from libtorch, a program linked against that LibTorch binds to it, and that copy
// crashes (remove_all through a null pointer, seen with PyTorch 2.11; docs/PERFORMANCE.md). The
// product therefore never calls std::filesystem (tests/base/io_test.cpp checks the sources).
bool file_exists(const std::string& path);      // anything at `path` (following links)
bool is_directory(const std::string& path);     // a directory, or a link to one
bool is_regular_file(const std::string& path);  // a regular file, or a link to one
// `name` under `dir` ("a" + "b" = "a/b"); an absolute `name` or an empty `dir` gives `name`.
std::string path_join(const std::string& dir, const std::string& name);
// The directory part: "a/b" -> "a", "b" -> "", "/b" -> "/", "a/b/" -> "a/b" (as std::filesystem).
std::string parent_path(const std::string& path);
// The last component: "a/b.txt" -> "b.txt", "a/b/" -> "" (as std::filesystem).
std::string file_name(const std::string& path);
// Lexically normalised: "." components and "dir/.." pairs removed, repeated slashes merged;
// "" stays "", a path that normalises to nothing becomes ".".
std::string normal_path(const std::string& path);
// The absolute path with links resolved where the path exists (realpath of the longest existing
// prefix, the rest appended and normalised); the normal path when nothing can be resolved.
std::string canonical_path(const std::string& path);
// Creates `path` and any missing parents (mkdir -p); throws Error naming the component that
// could not be created. An existing directory is not an error.
void create_directories(const std::string& path);
// rename(2) with an error naming both paths.
void rename_path(const std::string& from, const std::string& to);
// Removes one file; a missing file is not an error.
void remove_file(const std::string& path);

// Removes `path` and everything under it, without following symbolic links (rm -rf); a missing
// path is not an error. Returns the number of entries removed; throws Error naming the first entry
// that could not be removed. Written on nftw (see the paths above for why).
uint64_t remove_tree(const std::string& path);

}  // namespace reckoning

namespace reckoning {

// Replaces directory `dir` by `staging` (a fully written sibling directory) with renames only, so
// that a reader sees either the old or the new directory, never a half-written one. The old
// directory is removed afterwards. Where the file system can (Linux renameat2 RENAME_EXCHANGE) the
// two are swapped in one step, so that `dir` exists at every moment, even if the process is killed
// in between; elsewhere the old directory is first moved aside to "<dir>.old-<pid>" and
// recover_directory puts it back after such a kill.
void replace_directory(const std::string& staging, const std::string& dir);
// After a process was killed inside replace_directory's two-rename fallback, `dir` may be missing
// with its previous contents at "<dir>.old-<pid>": moves that back. Returns whether it did.
bool recover_directory(const std::string& dir);
// A fresh sibling path for staging a directory: "<dir>.staging-<pid>-<n>".
std::string staging_path(const std::string& dir);

}  // namespace reckoning
