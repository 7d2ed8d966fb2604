// File helpers (io.h): remove_tree removes nested directories, counts what it removed, removes a
// symbolic link without touching its target, treats a missing path as done, and names the entry it
// could not remove; replace_directory swaps a staged directory in and removes the old one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "reckoning/error.h"
#include "reckoning/io.h"

using namespace reckoning;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

std::string scratch(const std::string& name) {
  return (fs::temp_directory_path() / str("reckoning_io_", name, "_", ::getpid())).string();
}

TEST(RemoveTree, RemovesNestedDirectoriesAndCountsEntries) {
  const std::string root = scratch("nested");
  write_file_atomic(path_join(root, "a.txt"), "a");
  write_file_atomic(path_join(root, "sub/b.txt"), "b");
  write_file_atomic(path_join(root, "sub/deeper/c.txt"), "c");
  fs::create_directories(path_join(root, "empty"));
  EXPECT_EQ(remove_tree(root), 7u);  // 3 files, 3 directories below root, root
  EXPECT_FALSE(fs::exists(root));
  EXPECT_EQ(remove_tree(root), 0u) << "a missing path is already removed";
}

TEST(RemoveTree, RemovesALinkNotWhatItPointsTo) {
  const std::string root = scratch("links"), outside = scratch("outside");
  write_file_atomic(path_join(outside, "keep.txt"), "keep");
  fs::create_directories(root);
  fs::create_directory_symlink(outside, path_join(root, "link"));
  EXPECT_EQ(remove_tree(root), 2u);
  EXPECT_TRUE(fs::exists(path_join(outside, "keep.txt")));
  EXPECT_EQ(remove_tree(outside), 2u);
}

TEST(RemoveTree, RemovesASingleFile) {
  const std::string file = scratch("file") + ".txt";
  write_file_atomic(file, "x");
  EXPECT_EQ(remove_tree(file), 1u);
  EXPECT_FALSE(fs::exists(file));
}

TEST(RemoveTree, NamesTheEntryItCannotRemove) {
  // A file of /proc cannot be unlinked, whoever asks (root included).
  try {
    remove_tree("/proc/self/comm");
    ADD_FAILURE() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("/proc/self/comm: cannot remove ("));
  }
}

TEST(ReplaceDirectory, SwapsTheStagedDirectoryInAndRemovesTheOld) {
  const std::string dir = scratch("replace");
  write_file_atomic(path_join(dir, "old.txt"), "old");
  const std::string staging = staging_path(dir);
  write_file_atomic(path_join(staging, "new.txt"), "new");
  replace_directory(staging, dir);
  EXPECT_EQ(read_file(path_join(dir, "new.txt")), "new");
  EXPECT_FALSE(fs::exists(path_join(dir, "old.txt")));
  EXPECT_FALSE(fs::exists(staging));
  EXPECT_FALSE(fs::exists(dir + ".old-" + std::to_string(::getpid())));
  remove_tree(dir);
}

}  // namespace
