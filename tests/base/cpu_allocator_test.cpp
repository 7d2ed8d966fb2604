// The caching CPU allocator (cpu_allocator.h): large blocks of a freed size are reused (same memory,
// counted as hits), small ones go to LibTorch's default allocator, a zero budget caches nothing,
// a new mapping first evicts cached blocks that would lift mapped memory above the live high-water
// mark, tensors computed through it are correct, and a bad $RECKONING_MEMORY_CACHE_MB is refused by
// name. The allocator is process-wide, so this executable installs it once and every test starts
// from an empty cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <c10/core/CPUAllocator.h>

#include <torch/torch.h>

#include "reckoning/base/cpu_allocator.h"
#include "reckoning/base/error.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

constexpr size_t kMb = size_t{1} << 20;

// A float32 tensor of `mb` MiB.
torch::Tensor block_of(size_t mb) { return torch::empty({static_cast<int64_t>(mb * kMb / 4)}); }

// In a child process (the heap's settings are process-wide; defined before any test here tunes it):
// tune_small_block_heap leaves glibc alone when the environment sets one of its variables, and
// otherwise keeps what a step's small blocks freed at the heap's top: 50 rounds of 100 blocks of
// 20-119 KB, allocated, touched and freed oldest first, fault their pages in once (by default glibc
// gives the top back after each round and faults them in again: ~83,000 faults against ~1,700).
TEST(HeapTuning, FreedSmallBlocksStayInTheHeapUnlessTheEnvironmentSaysOtherwise) {
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setenv("MALLOC_TOP_PAD_", "65536", 1);
    if (tune_small_block_heap()) _exit(2);
    ::unsetenv("MALLOC_TOP_PAD_");
    ::unsetenv("MALLOC_TRIM_THRESHOLD_");
    ::unsetenv("MALLOC_MMAP_THRESHOLD_");
    if (!tune_small_block_heap()) _exit(3);
    rusage before{}, after{};
    getrusage(RUSAGE_SELF, &before);
    for (int round = 0; round < 50; ++round) {
      std::vector<void*> blocks;
      for (size_t i = 0; i < 100; ++i) {
        const size_t bytes = 20000 + 1000 * i;
        blocks.push_back(std::malloc(bytes));
        std::memset(blocks.back(), 1, bytes);
      }
      for (void* b : blocks) std::free(b);
    }
    getrusage(RUSAGE_SELF, &after);
    if (after.ru_minflt - before.ru_minflt > 10000) _exit(4);
    _exit(mallinfo2().keepcost >= kHeapTopPadBytes / 2 ? 0 : 5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0)
      << "2: tuned despite MALLOC_TOP_PAD_; 3: not tuned; 4: the rounds faulted their pages in again; 5: the top was trimmed";
}

class CpuAllocator : public ::testing::Test {
 protected:
  void SetUp() override {
    install_cpu_allocator(64 * kMb);
    cpu_allocator_release_cache();
  }
};

TEST_F(CpuAllocator, ReusesAFreedBlockOfTheSameSize) {
  void* first = nullptr;
  const CpuAllocatorStats before = cpu_allocator_stats();
  ASSERT_TRUE(before.installed);
  {
    torch::Tensor a = block_of(4);
    first = a.data_ptr();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % (2 * kMb), 0u) << "blocks of 2 MB or more are 2 MB aligned";
  }
  EXPECT_EQ(cpu_allocator_stats().cached_bytes, 4 * kMb);
  torch::Tensor b = block_of(4);
  EXPECT_EQ(b.data_ptr(), first);
  const CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.large_allocations - before.large_allocations, 2u);
  EXPECT_EQ(after.cache_hits - before.cache_hits, 1u);
  EXPECT_EQ(after.cached_bytes, 0u);
  EXPECT_EQ(after.live_bytes - before.live_bytes, 4 * kMb);
}

TEST_F(CpuAllocator, WhenNoMappingCanBeMadeTheDefaultAllocatorServes) {
  // In a child whose address space is capped 5 MB above what it uses: a 4 MB block needs a 6 MB
  // span to be aligned, which the cap refuses; the default allocator's 4 MB mapping fits.
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    long pages = 0;
    std::ifstream("/proc/self/statm") >> pages;
    const rlim_t cap = static_cast<rlim_t>(pages) * static_cast<rlim_t>(::sysconf(_SC_PAGESIZE)) + 5 * kMb;
    const struct rlimit limit{cap, cap};
    if (::setrlimit(RLIMIT_AS, &limit) != 0) ::_exit(10);
    const uint64_t before = cpu_allocator_stats().fallbacks;
    try {
      torch::Tensor t = block_of(4);
      t.fill_(2.0f);
      if (t.sum().item<float>() != 2.0f * static_cast<float>(t.numel())) ::_exit(11);
    } catch (...) {
      ::_exit(12);
    }
    ::_exit(cpu_allocator_stats().fallbacks == before + 1 ? 0 : 13);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10: setrlimit failed, 11: wrong values, 12: the allocation threw, "
                                       "13: not served by the fallback";
}

TEST_F(CpuAllocator, SmallBlocksAreNotItsConcern) {
  const CpuAllocatorStats before = cpu_allocator_stats();
  { torch::Tensor small = torch::empty({1000}); }
  const CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.large_allocations, before.large_allocations);
  EXPECT_EQ(after.cached_bytes, 0u);
}

TEST_F(CpuAllocator, ZeroBudgetUnmapsAtOnce) {
  install_cpu_allocator(0);
  const CpuAllocatorStats before = cpu_allocator_stats();
  { torch::Tensor a = block_of(4); }
  { torch::Tensor b = block_of(4); }
  const CpuAllocatorStats after = cpu_allocator_stats();
  EXPECT_EQ(after.cache_hits, before.cache_hits);
  EXPECT_EQ(after.cached_bytes, 0u);
  EXPECT_EQ(after.cache_budget_bytes, 0u);
}

TEST_F(CpuAllocator, BudgetBoundsTheCacheOldestEvictedFirst) {
  install_cpu_allocator(8 * kMb);
  {
    torch::Tensor a = block_of(4), b = block_of(3), c = block_of(2);
    a.reset();  // cached: 4
    b.reset();  // cached: 4 + 3
    c.reset();  // 4 + 3 + 2 > 8: the oldest (4) goes
    EXPECT_EQ(cpu_allocator_stats().cached_bytes, 5 * kMb);
    const uint64_t hits = cpu_allocator_stats().cache_hits;
    torch::Tensor again = block_of(4);
    EXPECT_EQ(cpu_allocator_stats().cache_hits, hits) << "the evicted block cannot come back";
    torch::Tensor three = block_of(3);
    EXPECT_EQ(cpu_allocator_stats().cache_hits, hits + 1) << "the younger one is still there";
  }
  EXPECT_LE(cpu_allocator_stats().cached_bytes, 8 * kMb);
}

TEST_F(CpuAllocator, NewMappingsNeverLiftMappedMemoryAboveTheLivePeakPlusTheSlack) {
  install_cpu_allocator(1024 * kMb);
  cpu_allocator_reset_peak();
  const size_t slack = kCacheSlackBytes / kMb;  // 64
  { torch::Tensor a = block_of(slack + 32); }  // live peak +96 MB; cached: 96
  ASSERT_EQ(cpu_allocator_stats().cached_bytes, (slack + 32) * kMb);
  {
    // Another size must be mapped: live 80 + cached 96 would exceed the peak (96) + the slack (64),
    // so the 96 MB block goes.
    torch::Tensor b = block_of(slack + 16);
    EXPECT_EQ(cpu_allocator_stats().cached_bytes, 0u);
  }
  ASSERT_EQ(cpu_allocator_stats().cached_bytes, (slack + 16) * kMb);
  // 80 cached + 16 new = 96 = the peak, within the peak + slack: the cached block may stay.
  torch::Tensor c = block_of(16);
  CpuAllocatorStats s = cpu_allocator_stats();
  EXPECT_EQ(s.cached_bytes, (slack + 16) * kMb);
  EXPECT_LE(s.live_bytes + s.cached_bytes, s.peak_live_bytes + kCacheSlackBytes);
  // A request a little smaller than a cached block (at most 1/8) takes that block: sizes that vary a
  // little from step to step reuse mappings.
  c.reset();
  const uint64_t hits = cpu_allocator_stats().cache_hits;
  torch::Tensor d = block_of(slack + 12);  // 76 MB: the cached 80 MB block (at most 1/8 larger) serves it
  s = cpu_allocator_stats();
  EXPECT_EQ(s.cache_hits, hits + 1);
  EXPECT_EQ(s.cached_bytes, 16 * kMb);  // the 16 MB block stays cached
}

TEST_F(CpuAllocator, ArithmeticThroughItIsCorrect) {
  torch::manual_seed(0);
  for (int round = 0; round < 3; ++round) {  // later rounds run on reused blocks
    torch::Tensor a = torch::randn({600, 700}, torch::kFloat64), b = torch::randn({700, 500}, torch::kFloat64);
    torch::Tensor c = torch::matmul(a, b);
    torch::Tensor expected = torch::zeros({3, 3}, torch::kFloat64);
    for (int i = 0; i < 3; ++i) {
      for (int j = 0; j < 3; ++j) expected[i][j] = (a[i] * b.select(1, j)).sum();
    }
    EXPECT_TRUE(torch::allclose(c.slice(0, 0, 3).slice(1, 0, 3), expected, 1e-12, 1e-12));
  }
  EXPECT_GT(cpu_allocator_stats().cache_hits, 0u);
}

TEST_F(CpuAllocator, RawAllocationsRoundTrip) {
  // LibTorch's raw interface (raw_allocate / raw_deallocate: context == pointer, one deleter for
  // every size), which some kernels use for scratch space.
  c10::Allocator* allocator = c10::GetCPUAllocator();
  const uint64_t hits = cpu_allocator_stats().cache_hits;
  for (size_t bytes : {size_t{64}, 3 * kMb, 3 * kMb}) {
    void* p = allocator->raw_allocate(bytes);
    ASSERT_NE(p, nullptr);
    std::memset(p, 1, bytes);
    allocator->raw_deallocate(p);
  }
  EXPECT_EQ(cpu_allocator_stats().cache_hits, hits + 1) << "the second 3 MiB block came from the cache";
}

TEST_F(CpuAllocator, BFloat16ProductsRunThroughIt) {
  // oneDNN's bfloat16 products allocate their scratch space through the raw interface.
  torch::manual_seed(1);
  torch::Tensor a = torch::randn({512, 768}), b = torch::randn({768, 1024});
  torch::Tensor c = torch::matmul(a.to(torch::kBFloat16), b.to(torch::kBFloat16)).to(torch::kFloat32);
  torch::Tensor expected = torch::matmul(a, b);
  // A sanity bound on the product (its accuracy depends on the CPU's bfloat16 kernel: 0.086 of the
  // largest entry on an AMD EPYC without AVX-512), not what this test is about.
  EXPECT_LT((c - expected).abs().max().item<double>() / expected.abs().max().item<double>(), 0.2);
}

TEST_F(CpuAllocator, EnvironmentBudgetIsParsedAndBadOnesRefused) {
  ::setenv("RECKONING_MEMORY_CACHE_MB", "12", 1);
  EXPECT_EQ(configure_cpu_allocator(), 12);
  EXPECT_EQ(cpu_allocator_stats().cache_budget_bytes, 12 * kMb);
  EXPECT_EQ(configure_cpu_allocator(3), 3) << "the command line wins";
  ::setenv("RECKONING_MEMORY_CACHE_MB", "lots", 1);
  try {
    configure_cpu_allocator();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("RECKONING_MEMORY_CACHE_MB"));
    EXPECT_THAT(e.what(), HasSubstr("'lots'"));
  }
  ::unsetenv("RECKONING_MEMORY_CACHE_MB");
  EXPECT_EQ(configure_cpu_allocator(), kDefaultCacheMb);
}

}  // namespace
