// LibTorch's CPU allocator, replaced for large blocks by a size-keyed cache of whole mappings.
//
// A meta-training step allocates and frees parameter-sized tensors (weights, inner gradients,
// moments, their gradients) of a few recurring sizes, many megabytes each, thousands of times.
// glibc serves blocks under its dynamic mmap threshold (up to 32 MB) from its heap, where freed
// blocks fragment and stay resident (GPT-2 small: ~0.8 GB of peak memory that no tensor uses);
// forcing them into fresh mappings (MALLOC_MMAP_THRESHOLD_) returns that memory but pays a page
// fault and the kernel's zeroing on every allocation (~2x slower at V = 50257).
//
// This allocator maps blocks of at least `kLargeBlockBytes` itself (2 MB aligned, transparent huge
// pages where the kernel allows them on request), and keeps freed ones, up to a byte budget, for
// the next request of the same (page-rounded) size or up to 1/8 smaller (the smallest such block),
// oldest evicted first. Before it maps a new block it unmaps cached ones until live + cached stays
// within the most the tensors have ever held plus `kCacheSlackBytes`, so the cache raises the peak
// by at most that: peak memory is what the tensors need, and a request that the cache serves costs
// neither a page fault nor the kernel's zeroing. The slack (and the 1/8) is for tensors whose sizes
// vary from step to step - tasks batched and padded to their longest sequence - which without it
// were unmapped and faulted in again on every miss (evaluation 8 tasks at a time ran at half the
// speed of one at a time: 21 vs 53 tasks/s; with it 65). Smaller blocks, and a
// block no mapping can be made for (address space, vm.max_map_count), go to LibTorch's default
// allocator.
#pragma once

#include <cstddef>
#include <cstdint>

namespace reckoning {

constexpr size_t kLargeBlockBytes = size_t{1} << 18;  // 256 KiB: smaller requests go to the default
constexpr size_t kCacheSlackBytes = size_t{64} << 20;  // what the cache may hold beyond the live peak

// glibc's heap, which serves the tensors under kLargeBlockBytes (and everything that is not a
// tensor): by default it gives memory above its top back to the kernel once 128 KiB are free there
// (raising that mark as it goes), and a meta step's small tensors, freed in bulk at the end of each
// backward, then fault the same pages in again - about 340 page faults per step at the main job's
// size, ~3 % of its CPU time. tune_small_block_heap keeps up to kHeapTrimThresholdBytes free at the
// top (and grows it kHeapTopPadBytes at a time), with a fixed mmap threshold. It changes nothing
// when the environment sets any of MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_, MALLOC_MMAP_THRESHOLD_
// (returns false then, and off glibc). With tcmalloc linked (CMakeLists.txt, the executable's
// default where installed) glibc's heap is not used and the settings change nothing.
constexpr size_t kHeapTrimThresholdBytes = size_t{256} << 20;
constexpr size_t kHeapTopPadBytes = size_t{16} << 20;
constexpr size_t kHeapMmapThresholdBytes = size_t{32} << 20;
bool tune_small_block_heap();

struct CpuAllocatorStats {
  bool installed = false;
  size_t cache_budget_bytes = 0;
  uint64_t large_allocations = 0;  // requests of at least kLargeBlockBytes
  uint64_t cache_hits = 0;         // ... served from the cache
  size_t live_bytes = 0;           // mapped and held by tensors
  size_t peak_live_bytes = 0;      // the most live_bytes has been
  size_t cached_bytes = 0;         // mapped and kept for reuse
  size_t peak_cached_bytes = 0;
  uint64_t fallbacks = 0;          // large requests no mapping could serve, left to the default
};

// Makes the caching allocator LibTorch's CPU allocator, keeping at most `cache_budget_bytes` of
// freed blocks (0: every large block is unmapped when freed). Tensors allocated before keep their
// own deleters. May be called again to change the budget (excess cache is released at once).
void install_cpu_allocator(size_t cache_budget_bytes);

// The budget from the command line (`mb` >= 0), else $RECKONING_MEMORY_CACHE_MB, else the default
// (`kDefaultCacheMb`); tunes glibc's heap (tune_small_block_heap), installs the allocator and
// returns the budget in effect, in MB. The default
// is large enough that in practice the live high-water mark bounds the cache, not the budget: at
// GPT-2 small a 1 GB budget left steps 30 % slower (31.0 vs 23.5 s, 1 thread, same peak memory:
// most of each step's blocks were unmapped and faulted in again).
constexpr int64_t kDefaultCacheMb = 65536;
int64_t configure_cpu_allocator(int64_t mb = -1);

CpuAllocatorStats cpu_allocator_stats();

// Unmaps every cached block.
void cpu_allocator_release_cache();

// Forgets the live high-water mark (sets it to what is live now), e.g. after a phase that needed
// more memory than what follows; the cache is then bounded by the new mark.
void cpu_allocator_reset_peak();

}  // namespace reckoning
