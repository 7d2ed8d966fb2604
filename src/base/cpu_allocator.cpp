// The caching CPU allocator; see cpu_allocator.h.
#include "reckoning/base/cpu_allocator.h"

#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

#include <c10/core/CPUAllocator.h>
#include <torch/torch.h>
#include <torch/version.h>

#include "reckoning/base/error.h"

// LibTorch 2.3 made Allocator::allocate non-const and added the pure virtual copy_data.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
#define RECKONING_ALLOCATE_CONST
#define RECKONING_ALLOCATOR_HAS_COPY_DATA 1
#else
#define RECKONING_ALLOCATE_CONST const
#define RECKONING_ALLOCATOR_HAS_COPY_DATA 0
#endif

namespace reckoning {

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

size_t round_up(size_t n, size_t to) { return (n + to - 1) / to * to; }

struct Block {
  void* ptr;
  size_t bytes;  // the mapping's length (page-rounded request)
};

// Maps `bytes` (a multiple of the page size) at a 2 MB boundary when it is at least a huge page, so
// that the kernel can back it with transparent huge pages (asked for with MADV_HUGEPAGE).
void* map_block(size_t bytes) {
  if (bytes < kHugePage) {
    void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? nullptr : p;
  }
  const size_t span = bytes + kHugePage;
  void* raw = mmap(nullptr, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const uintptr_t start = reinterpret_cast<uintptr_t>(raw);
  const uintptr_t aligned = round_up(start, kHugePage);
  if (aligned > start) munmap(raw, aligned - start);
  const uintptr_t end = aligned + bytes;
  if (start + span > end) munmap(reinterpret_cast<void*>(end), start + span - end);
  void* p = reinterpret_cast<void*>(aligned);
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE);  // a hint: ignored where transparent huge pages are off
#endif
  return p;
}

class CachingCpuAllocator final : public c10::Allocator {
 public:
  explicit CachingCpuAllocator(c10::Allocator* fallback)
      : fallback_(fallback), page_(static_cast<size_t>(sysconf(_SC_PAGESIZE))) {}

  at::DataPtr allocate(size_t n) RECKONING_ALLOCATE_CONST override {
    if (n < kLargeBlockBytes) return fallback_->allocate(n);
    return const_cast<CachingCpuAllocator*>(this)->allocate_large(n);
  }

  // The context of every block is its data pointer, so LibTorch's raw_allocate / raw_deallocate
  // (used by some kernels, e.g. oneDNN's bfloat16 products) work: the deleter finds the block by
  // pointer and hands pointers it did not map to the fallback allocator's deleter.
  at::DeleterFnPtr raw_deleter() const override { return &CachingCpuAllocator::release; }

#if RECKONING_ALLOCATOR_HAS_COPY_DATA
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
#endif

  void set_budget(size_t bytes) {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.cache_budget_bytes = bytes;
    evict_to(bytes);
  }

  void release_cache() {
    std::lock_guard<std::mutex> lock(mutex_);
    evict_to(0);
  }

  void reset_peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.peak_live_bytes = stats_.live_bytes;
  }

  CpuAllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mutex_);
    return stats_;
  }

 private:
  at::DataPtr allocate_large(size_t n) {
    const size_t bytes = round_up(n, page_);
    Block* block = nullptr;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.large_allocations;
      // The smallest cached block that fits, if it is at most 1/8 larger: tensors whose sizes vary
      // a little from step to step (a batch of tasks padded to its longest sequence) reuse
      // mappings instead of faulting in a fresh one each time; recurring sizes still match exactly.
      auto it = by_size_.lower_bound(bytes);
      if (it != by_size_.end() && it->first <= bytes + bytes / 8) {
        auto entry = by_age_.find(it->second);
        block = entry->second;
        by_age_.erase(entry);
        by_size_.erase(it);
        stats_.cached_bytes -= block->bytes;
        ++stats_.cache_hits;
      }
      stats_.live_bytes += block != nullptr ? block->bytes : bytes;
      stats_.peak_live_bytes = std::max(stats_.peak_live_bytes, stats_.live_bytes);
      // A new mapping: first unmap cached blocks (of other sizes) until what is mapped stays within
      // the most the tensors ever held plus kCacheSlackBytes, so the cache raises the peak by no
      // more than that. The slack keeps the blocks of sizes that vary from batch to batch (tasks
      // padded to their longest) instead of unmapping them on each miss and faulting them in again.
      if (block == nullptr) {
        evict_to(std::min(stats_.cache_budget_bytes, stats_.peak_live_bytes - stats_.live_bytes + kCacheSlackBytes));
      }
    }
    if (block == nullptr) {
      void* p = map_block(bytes);
      if (p == nullptr) {
        // Out of address space or memory: give back what is cached and try once more.
        release_cache();
        p = map_block(bytes);
      }
      if (p == nullptr) {
        // Still none (e.g. the kernel's limit on mappings per process, vm.max_map_count): the
        // default allocator serves it (its own deleter; out of memory is then its error).
        {
          std::lock_guard<std::mutex> lock(mutex_);
          stats_.live_bytes -= bytes;  // no cached block was taken (else the map was not needed)
          ++stats_.fallbacks;
        }
        return fallback_->allocate(n);
      }
      block = new Block{p, bytes};
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      live_.emplace(block->ptr, block);
    }
    return at::DataPtr(block->ptr, block->ptr, &CachingCpuAllocator::release, at::Device(at::kCPU));
  }

  static void release(void* ptr);

  // Returns the block holding `ptr` to the cache; false if this allocator did not map it.
  bool give_back(void* ptr) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto found = live_.find(ptr);
    if (found == live_.end()) return false;
    Block* block = found->second;
    live_.erase(found);
    stats_.live_bytes -= block->bytes;
    if (block->bytes > stats_.cache_budget_bytes) {
      unmap(block);
      return true;
    }
    evict_to(stats_.cache_budget_bytes - block->bytes);
    const uint64_t age = next_age_++;
    by_age_.emplace(age, block);
    by_size_.emplace(block->bytes, age);
    stats_.cached_bytes += block->bytes;
    stats_.peak_cached_bytes = std::max(stats_.peak_cached_bytes, stats_.cached_bytes);
    return true;
  }

 public:
  c10::Allocator* fallback() const { return fallback_; }

 private:

  // Unmaps the oldest cached blocks until at most `bytes` stay cached. Holds mutex_.
  void evict_to(size_t bytes) {
    while (stats_.cached_bytes > bytes && !by_age_.empty()) {
      auto oldest = by_age_.begin();
      Block* block = oldest->second;
      auto range = by_size_.equal_range(block->bytes);
      for (auto it = range.first; it != range.second; ++it) {
        if (it->second == oldest->first) {
          by_size_.erase(it);
          break;
        }
      }
      by_age_.erase(oldest);
      stats_.cached_bytes -= block->bytes;
      unmap(block);
    }
  }

  static void unmap(Block* block) {
    munmap(block->ptr, block->bytes);
    delete block;
  }

  c10::Allocator* fallback_;
  const size_t page_;
  std::mutex mutex_;
  std::unordered_map<void*, Block*> live_;   // blocks held by tensors, by data pointer
  std::map<uint64_t, Block*> by_age_;        // cached blocks, oldest first
  std::multimap<size_t, uint64_t> by_size_;  // bytes -> age of a cached block of that size
  uint64_t next_age_ = 0;
  CpuAllocatorStats stats_;
};

// Never destroyed: tensors may outlive static destruction.
CachingCpuAllocator*& instance() {
  static CachingCpuAllocator* allocator = nullptr;
  return allocator;
}

void CachingCpuAllocator::release(void* ptr) {
  CachingCpuAllocator* self = instance();
  if (!self->give_back(ptr)) self->fallback()->raw_deleter()(ptr);  // a small block (raw_deallocate)
}

}  // namespace

void install_cpu_allocator(size_t cache_budget_bytes) {
  static std::once_flag once;
  std::call_once(once, [] {
    instance() = new CachingCpuAllocator(c10::GetDefaultCPUAllocator());
    c10::SetCPUAllocator(instance(), /*priority=*/1);
  });
  instance()->set_budget(cache_budget_bytes);
}

bool tune_small_block_heap() {
#if defined(__GLIBC__)
  // Each setting only where the environment does not give one: glibc reads MALLOC_*_ itself, and
  // what a user set stays.
  auto unset = [](const char* name) {
    const char* value = std::getenv(name);
    return value == nullptr || *value == '\0';
  };
  if (!unset("MALLOC_TRIM_THRESHOLD_") || !unset("MALLOC_TOP_PAD_") || !unset("MALLOC_MMAP_THRESHOLD_")) return false;
  // Fixing any of them turns off glibc's dynamic mmap threshold, so the threshold is set too: up to
  // it the heap serves (the caching allocator takes tensors from kLargeBlockBytes up).
  mallopt(M_MMAP_THRESHOLD, static_cast<int>(kHeapMmapThresholdBytes));
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(kHeapTrimThresholdBytes));
  mallopt(M_TOP_PAD, static_cast<int>(kHeapTopPadBytes));
  return true;
#else
  return false;
#endif
}

int64_t configure_cpu_allocator(int64_t mb) {
  tune_small_block_heap();
  if (mb < 0) {
    mb = kDefaultCacheMb;
    if (const char* env = std::getenv("RECKONING_MEMORY_CACHE_MB"); env != nullptr && *env != '\0') {
      char* end = nullptr;
      const long long value = std::strtoll(env, &end, 10);
      check(end != env && *end == '\0' && value >= 0, "environment variable RECKONING_MEMORY_CACHE_MB",
            "a non-negative integer (megabytes of freed blocks to keep for reuse)", str("'", env, "'"));
      mb = static_cast<int64_t>(value);
    }
  }
  install_cpu_allocator(static_cast<size_t>(mb) << 20);
  return mb;
}

CpuAllocatorStats cpu_allocator_stats() {
  if (instance() == nullptr) return {};
  CpuAllocatorStats s = instance()->stats();
  s.installed = true;
  return s;
}

void cpu_allocator_release_cache() {
  if (instance() != nullptr) instance()->release_cache();
}

void cpu_allocator_reset_peak() {
  if (instance() != nullptr) instance()->reset_peak();
}

}  // namespace reckoning
