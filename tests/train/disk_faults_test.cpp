// Disk faults while a checkpoint is written, injected into the unmodified `reckoning` executable
// with LD_PRELOAD (tests/support/fault_inject.c): the disk fills up (ENOSPC) after two and a half
// checkpoints' worth of bytes, or the run directory turns read-only (EROFS) after the first
// checkpoint. The run must stop with an error that names the file and the cause, leave the previous
// checkpoint whole (and no half-written staging directory beside it), and a resume once the disk
// is back must end bit for bit where an uninterrupted run ends.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "reckoning/base/io.h"
#include "reckoning/meta/reckoning_model.h"
#include "support/test_util.h"

using namespace reckoning;
using namespace reckoning::test;
using testing::HasSubstr;

namespace {

uint64_t tree_bytes(const std::string& dir) {
  uint64_t total = 0;
  for (const auto& e : std::filesystem::recursive_directory_iterator(dir))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

void expect_same_final_model(const std::string& a_dir, const std::string& b_dir) {
  const ReckoningModel a = reckoning_model_load(a_dir), b = reckoning_model_load(b_dir);
  const std::vector<torch::Tensor> wa = decoder_flatten(a.weights), wb = decoder_flatten(b.weights);
  ASSERT_EQ(wa.size(), wb.size());
  for (size_t i = 0; i < wa.size(); ++i) EXPECT_TRUE(torch::equal(wa[i], wb[i])) << "weight " << i;
  EXPECT_TRUE(torch::equal(a.lrs.values, b.lrs.values));
}

class DiskFaults : public testing::Test {
 protected:
  void SetUp() override {
    const auto gen = run_cli("data generate clutrr --hops 2 --per-hop 24 --valid-per-hop 4 --test-per-hop 4 "
                             "--test-hops 2 --style letters --seed 3 --out-dir " + dir_.file("data"));
    ASSERT_EQ(gen.code, 0) << gen.out;
    dir_.write("c.yaml", "data:\n  train: " + dir_.file("data/train.jsonl") + "\n  valid: " +
                             dir_.file("data/valid.jsonl") +
                             "\nmodel:\n  n_layer: 1\n  n_embd: 16\n  n_head: 2\n  n_ctx: 48\n"
                             "inner:\n  steps: 2\n  lr: 1.0e-2\n"
                             "outer:\n  max_steps: 6\n  batch_tasks: 2\n  grad_accum: 1\n"
                             "eval:\n  every: 3\ncheckpoint:\n  every: 1\nthreads: 1\n");
    const auto whole = run_command(train(dir_.file("whole")) + " 2>&1");
    ASSERT_EQ(whole.code, 0) << whole.out;
  }
  std::string train(const std::string& run_dir) const {
    return std::string(RECKONING_CLI) + " train --no-test --config " + dir_.file("c.yaml") + " --set run_dir=" + run_dir;
  }
  // Trains into `run_dir` with the fault shim preloaded and `faults` (environment assignments).
  CommandResult train_with_faults(const std::string& run_dir, const std::string& faults) const {
    return run_command("env LD_PRELOAD=" + std::string(RECKONING_FAULT_INJECT) + " RECKONING_FAULT_PREFIX=" + run_dir +
                       "/checkpoints " + faults + " " + train(run_dir) + " 2>&1");
  }
  // After the fault: the last checkpoint is whole and before the end, nothing half-written is
  // left beside it, and a resume completes to the uninterrupted run's result.
  void expect_intact_and_resumable(const std::string& run_dir) {
    const std::string last = path_join(run_dir, "checkpoints/last");
    ASSERT_TRUE(is_directory(last));
    const int64_t step = read_json_file(path_join(last, "trainer_state.json")).at("step");
    EXPECT_GE(step, 1);
    EXPECT_LT(step, 6);
    EXPECT_NO_THROW(reckoning_model_load(last));
    for (const auto& e : std::filesystem::directory_iterator(path_join(run_dir, "checkpoints")))
      EXPECT_EQ(e.path().filename().string().find(".staging-"), std::string::npos) << e.path();
    const auto rest = run_command(train(run_dir) + " --resume 2>&1");
    ASSERT_EQ(rest.code, 0) << rest.out;
    expect_same_final_model(path_join(dir_.file("whole"), "checkpoints/last"), last);
  }
  TempDir dir_{"disk_faults"};
};

}  // namespace

TEST_F(DiskFaults, ADiskThatFillsUpStopsTheRunWithTheFileAndLeavesTheLastCheckpointWhole) {
  const uint64_t checkpoint = tree_bytes(path_join(dir_.file("whole"), "checkpoints/last"));
  const std::string run = dir_.file("full");
  const auto r = train_with_faults(run, "RECKONING_FAULT_ERRNO=28 RECKONING_FAULT_AFTER_BYTES=" +
                                            std::to_string(checkpoint * 5 / 2));
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("No space left on device"));
  EXPECT_THAT(r.out, HasSubstr(run + "/checkpoints/"));  // the file it was writing...
  EXPECT_THAT(r.out, HasSubstr(".staging-"));             // ... in a checkpoint's staging directory
  expect_intact_and_resumable(run);
}

TEST_F(DiskFaults, AReadOnlyRunDirectoryStopsTheRunAndLeavesTheLastCheckpointWhole) {
  const std::string run = dir_.file("readonly");
  const auto r = train_with_faults(run, "RECKONING_FAULT_ERRNO=30 RECKONING_FAULT_AFTER_OPENS=40");
  EXPECT_NE(r.code, 0) << r.out;
  EXPECT_THAT(r.out, HasSubstr("Read-only file system"));
  expect_intact_and_resumable(run);
}
