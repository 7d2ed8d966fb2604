// Thread-count policy: how many threads this process runs its tensor operations on, and how
// those threads wait.
//
// The count: an explicit request (--threads N, N > 0) wins, then the environment variable
// RECKONING_THREADS, then the CPUs this process may actually use - its affinity mask (what
// taskset, Slurm and `docker --cpuset-cpus` set) capped by its cgroup CPU quota (cgroup v2
// `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the tightest along the cgroup's path;
// a fractional quota rounds down, at least 1) - never simply every core of the machine - less
// the CPUs that other processes keep busy when the process starts (measured over 0.1 s from
// /proc/stat: next to one busy process on 2 CPUs the default is 1 thread, alone it is 2). The
// count is decided once: results depend on the thread count in their last bits, so a run keeps
// the count it started with (a resumed training run takes it from its config.json). Once the model
// is known, a default count is also capped by the work (fit_default_threads_to_work): a model
// whose largest weight matrix has fewer than 2 x 32 768 elements (LibTorch's grain size, below
// which its element-wise operations run on one thread anyway) runs 1 thread - the README's 2 x 64
// model trains faster on one thread than on two (docs/PERFORMANCE.md).
//
// The waiting: LibTorch's intra-op pool here is OpenMP (libgomp, which OpenBLAS-openmp shares).
// By default its idle threads spin for a while before sleeping; on a core shared with another busy
// process the spinning threads steal the time the working ones need, and a 2-thread step became
// 7x slower than a 1-thread one (docs/PERFORMANCE.md). libgomp reads OMP_WAIT_POLICY once, when
// it is loaded - before main() - so the executable re-executes itself once with
// OMP_WAIT_POLICY=PASSIVE when the user has not set it (prepare_thread_environment); a value the
// user set is left as it is.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace reckoning {

// The CPUs this process may use and why.
struct CpuBudget {
  int cpus = 1;           // what the default thread count is
  int affinity = 0;       // CPUs in the affinity mask (0 = unknown)
  double quota = 0;       // cgroup CPU quota in CPUs (0 = none)
  int hardware = 0;       // online CPUs of the machine
  std::string reason;     // "affinity mask of 2 CPUs", "cgroup v2 quota of 1.5 CPUs (cpu.max ...)"
};

CpuBudget cpu_budget();

// The cgroup CPU quota in CPUs (0 = none) from the text of /proc/self/cgroup and the cgroup file
// systems mounted under `cgroup_root` (/sys/fs/cgroup): cgroup v2 (`0::/path`, cpu.max) and v1
// (a `cpu` controller line, cpu.cfs_quota_us and cpu.cfs_period_us, in `cpu,cpuacct/` or `cpu/`).
// The tightest limit from the process's cgroup up to the root. `source` says which file set it.
double cgroup_cpu_quota(const std::string& proc_self_cgroup, const std::string& cgroup_root,
                        std::string* source = nullptr);

// The threads LibTorch would use here without --threads: RECKONING_THREADS, else cpu_budget().
// `reason` (if given) says which and why.
int default_thread_count(std::string* reason = nullptr);

// Other processes' work on this process's CPUs: CPU time spent there by anyone but this process,
// over the measured interval, in CPUs (1.0 = one CPU kept busy).
struct CpuLoad {
  bool known = false;  // false where /proc/stat or /proc/self/stat cannot be read
  int cpus = 0;        // CPUs measured (this process's affinity mask)
  double others = 0;   // CPUs' worth of other processes' work on them
};

// Busy and total clock ticks summed over the CPUs of `mask` in the text of /proc/stat (lines
// "cpuN user nice system idle iowait irq softirq steal ..."; idle and iowait are not busy), and
// this process's own ticks (utime + stime) from the text of /proc/self/stat. Throws naming the
// file when a line is malformed.
struct CpuTicks {
  int cpus = 0;
  long long busy = 0, total = 0, own = 0;
};
CpuTicks cpu_ticks(const std::string& proc_stat, const std::string& proc_self_stat, const std::vector<int>& mask);

// The load between two samples of the same CPUs.
CpuLoad cpu_load_between(const CpuTicks& before, const CpuTicks& after);

// Measures the load over `seconds` (sleeping in between).
CpuLoad measure_cpu_load(double seconds);

// The threads to use on `mask_cpus` CPUs of which `others_busy` CPUs' worth are taken by other
// processes: the CPUs left (rounded to the nearest), at least 1 and at most `budget`.
int threads_for_load(int budget, int mask_cpus, double others_busy);

// LibTorch's grain size (at::internal::GRAIN_SIZE): an element-wise operation on fewer elements
// runs on one thread.
inline constexpr long long kElementsPerThread = 32768;

// The threads worth using for tensor work whose largest matrix has `elements` elements: one per
// kElementsPerThread elements, at least 1 and at most `threads`.
int threads_for_work(int threads, long long elements);

// When the count in effect is the default (threads_are_default()), lowers it to
// threads_for_work(count, elements) and adds `what` (e.g. "largest weight matrix 256 x 64") to the
// reason thread_summary() gives; an explicit count is left as it is. Returns the count in effect.
// Called once the model is known, before its first step.
int fit_default_threads_to_work(long long elements, const std::string& what);

// Sets LibTorch's intra-op thread count (and OpenMP's, which OpenBLAS-openmp follows) and, once
// per process before any inter-op work, its inter-op pool to the same size; returns the count in
// effect. `requested` <= 0 means "not given on the command line": RECKONING_THREADS, else the
// CPU budget less the CPUs other processes keep busy now. `why` says where a requested count
// came from ("--threads" by default).
int configure_threads(int requested = 0, const std::string& why = "--threads");

// Whether the count in effect is the default (not --threads, RECKONING_THREADS or a run's own).
bool threads_are_default();

// What configure_threads decided last, for `reckoning version` and the start of a run:
// "2 threads (default: affinity mask of 2 CPUs); OpenMP waits passively (OMP_WAIT_POLICY=PASSIVE, set by reckoning)".
std::string thread_summary();

// The OpenMP wait policy in effect for this process and who set it: {"PASSIVE", "reckoning"},
// {"active", "user"}, or {"", ""} when none is set.
std::pair<std::string, std::string> omp_wait_policy();

// Call first thing in main(): when OMP_WAIT_POLICY is unset, sets it to PASSIVE (marking that
// reckoning set it) and re-executes the program so that the OpenMP runtime, already loaded, starts
// again with it. Returns only when nothing needs doing (or re-executing failed, which is reported
// on stderr and otherwise harmless).
void prepare_thread_environment(char** argv);

}  // namespace reckoning
