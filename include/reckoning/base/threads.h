// Thread-count policy: how many threads this process runs its tensor operations on, and how
// those threads wait.
//
// The count: an explicit request (--threads N, N > 0) wins, then the environment variable
// RECKONING_THREADS, then the CPUs this process may actually use - its affinity mask (what
// taskset, Slurm and `docker --cpuset-cpus` set) capped by its cgroup CPU quota (cgroup v2
// `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the tightest along the cgroup's path;
// a fractional quota rounds down, at least 1) - never simply every core of the machine.
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

// Sets LibTorch's intra-op thread count (and OpenMP's, which OpenBLAS-openmp follows) and, once
// per process before any inter-op work, its inter-op pool to the same size; returns the count in
// effect. `requested` <= 0 means "not given on the command line".
int configure_threads(int requested = 0);

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
