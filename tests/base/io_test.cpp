// File helpers (io.h): remove_tree removes nested directories, counts what it removed, removes a
// symbolic link without touching its target, treats a missing path as done, and names the entry it
// could not remove; replace_directory swaps a staged directory in and removes the old one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <vector>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/data/task.h"
#include "support/test_util.h"

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

// The path helpers against std::filesystem (the peer they replace), case by case.
TEST(Paths, AgreeWithStdFilesystem) {
  const std::vector<std::string> paths = {"a/b", "b", "/b", "a/b/", "/", "", "a//b", "./a/../b",
                                          "a/./b/../../c", "../x/y", "/../a", "a/b.txt", "..",
                                          "a/..", "//x//y//"};
  for (const std::string& p : paths) {
    SCOPED_TRACE(p);
    EXPECT_EQ(parent_path(p), fs::path(p).parent_path().string());
    EXPECT_EQ(file_name(p), fs::path(p).filename().string());
    std::string normal = fs::path(p).lexically_normal().string();
    while (normal.size() > 1 && normal.back() == '/') normal.pop_back();  // ours drops the final slash
    if (normal.empty() && !p.empty()) normal = ".";
    EXPECT_EQ(normal_path(p), normal);
    for (const std::string& name : {std::string("n"), std::string("/abs"), std::string("m/k")}) {
      EXPECT_EQ(path_join(p, name), (fs::path(p) / name).string()) << name;
    }
  }
}

TEST(Paths, CanonicalResolvesLinksAndKeepsTheMissingRest) {
  const std::string dir = scratch("canonical");
  remove_tree(dir);
  create_directories(dir + "/real/deeper");
  ASSERT_TRUE(is_directory(dir + "/real/deeper"));
  ASSERT_EQ(::symlink((dir + "/real").c_str(), (dir + "/link").c_str()), 0);
  for (const std::string& p : {dir + "/link/deeper", dir + "/link/not/yet", dir + "/real/./deeper/..",
                               dir + "/link/../real/x"}) {
    EXPECT_EQ(canonical_path(p), fs::weakly_canonical(p).string()) << p;
  }
  EXPECT_EQ(canonical_path(dir + "/link/deeper"), canonical_path(dir + "/real/deeper"));
  remove_tree(dir);
}

TEST(Paths, FileKindsAndErrorsNameThePath) {
  const std::string dir = scratch("kinds");
  remove_tree(dir);
  create_directories(dir);
  create_directories(dir);  // existing: not an error
  write_file_atomic(dir + "/f", "x");
  EXPECT_TRUE(is_regular_file(dir + "/f"));
  EXPECT_FALSE(is_directory(dir + "/f"));
  EXPECT_TRUE(is_directory(dir));
  EXPECT_FALSE(file_exists(dir + "/none"));
  try {
    create_directories(dir + "/f/sub");
    FAIL() << "a directory under a file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir + "/f/sub"));
    EXPECT_THAT(e.what(), HasSubstr("exists and is not a directory"));
  }
  try {
    rename_path(dir + "/none", dir + "/g");
    FAIL() << "renaming a missing file";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr(dir + "/none"));
  }
  rename_path(dir + "/f", dir + "/g");
  EXPECT_TRUE(is_regular_file(dir + "/g"));
  remove_file(dir + "/g");
  remove_file(dir + "/g");  // missing: not an error
  EXPECT_FALSE(file_exists(dir + "/g"));
  remove_tree(dir);
}

// The product never calls std::filesystem (see io.h): a LibTorch from a PyTorch wheel exports its
// own copy, and a program linked against it crashed inside it. Comments may name it.
TEST(Paths, ProductSourcesDoNotUseStdFilesystem) {
  const std::string root = RECKONING_SOURCE_DIR;
  int files = 0;
  for (const char* sub : {"src", "src/cli", "include/reckoning"}) {
    for (const auto& entry : fs::recursive_directory_iterator(root + "/" + std::string(sub))) {
      if (!entry.is_regular_file()) continue;
      ++files;
      std::istringstream in(read_file(entry.path().string()));
      std::string line;
      for (int n = 1; std::getline(in, line); ++n) {
        const std::string code = line.substr(0, line.find("//"));
        EXPECT_EQ(code.find("filesystem"), std::string::npos) << entry.path().string() << ":" << n << ": " << line;
      }
    }
  }
  EXPECT_GT(files, 40);
}

TEST(Io, ReplaceDirectorySwapsWholeAndLeavesNothingBeside) {
  test::TempDir root("io_replace_swap");
  const std::string dir = root.file("last");
  create_directories(dir);
  write_file_atomic(path_join(dir, "a"), "old");
  for (int round = 0; round < 3; ++round) {
    const std::string staging = staging_path(dir);
    create_directories(staging);
    write_file_atomic(path_join(staging, "a"), "new " + std::to_string(round));
    replace_directory(staging, dir);
    EXPECT_EQ(read_file(path_join(dir, "a")), "new " + std::to_string(round));
    EXPECT_FALSE(file_exists(staging));
  }
  size_t entries = 0;
  for (const auto& e : std::filesystem::directory_iterator(root.path())) {
    (void)e;
    ++entries;
  }
  EXPECT_EQ(entries, 1u);  // only "last"
}

TEST(Io, RecoverDirectoryPutsBackWhatAKilledReplaceMovedAside) {
  test::TempDir root("io_recover");
  const std::string dir = root.file("last");
  // What the two-rename fallback leaves when killed between its renames.
  create_directories(dir + ".old-4242");
  write_file_atomic(path_join(dir + ".old-4242", "state.json"), "{}");
  EXPECT_TRUE(recover_directory(dir));
  EXPECT_EQ(read_file(path_join(dir, "state.json")), "{}");
  EXPECT_FALSE(file_exists(dir + ".old-4242"));
  EXPECT_FALSE(recover_directory(dir));  // present: nothing to do
  EXPECT_FALSE(recover_directory(root.file("never")));
}

TEST(Io, JsonWithANumberBeyondDoubleIsAClearError) {
  // nlohmann's parser reports such a number as out_of_range, not parse_error: it escaped every
  // reader as a foreign exception (found by fuzz/hf_config_fuzz.cpp, fuzz/regressions/hf_config/).
  const std::string path = test::write_temp("overflow.json", "{\"hidden_size\": 5e5555555}");
  const std::string message = test::error_of([&] { read_json_file(path); });
  EXPECT_THAT(message, testing::HasSubstr(path + ": invalid JSON"));
  EXPECT_THAT(message, testing::HasSubstr("number overflow"));
  const std::string tasks = test::write_temp("overflow.jsonl", "{\"facts\": [1e99999]}\n");
  EXPECT_THAT(test::error_of([&] { tasks_load(tasks); }), testing::HasSubstr(tasks + ":1: invalid JSON"));
}
