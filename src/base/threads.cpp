// Thread-count policy; see threads.h.
#include "reckoning/base/threads.h"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "reckoning/base/error.h"
#include "reckoning/base/text.h"

namespace reckoning {

namespace {

// Marks that reckoning (not the user) set OMP_WAIT_POLICY, and that the re-exec happened.
constexpr const char* kSetByUs = "RECKONING_SET_OMP_WAIT_POLICY";

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// "/a/b/c" -> {"/a/b/c", "/a/b", "/a", ""}: the cgroup and its ancestors (root last).
std::vector<std::string> ancestors(std::string path) {
  std::vector<std::string> out;
  while (!path.empty() && path.back() == '/') path.pop_back();
  while (true) {
    out.push_back(path);
    if (path.empty()) break;
    const size_t slash = path.rfind('/');
    path = slash == std::string::npos ? "" : path.substr(0, slash);
  }
  return out;
}

// A limit in CPUs from a quota and a period in microseconds; 0 = no limit.
double cpus_of(double quota_us, double period_us) { return quota_us > 0 && period_us > 0 ? quota_us / period_us : 0; }

void tighten(double cpus, const std::string& file, double& best, std::string& source) {
  if (cpus > 0 && (best == 0 || cpus < best)) {
    best = cpus;
    source = file;
  }
}

}  // namespace

double cgroup_cpu_quota(const std::string& proc_self_cgroup, const std::string& cgroup_root, std::string* source) {
  double best = 0;
  std::string from;
  std::istringstream lines(proc_self_cgroup);
  for (std::string line; std::getline(lines, line);) {
    // "hierarchy-id:controllers:path"; the path may itself hold ':'.
    const size_t a = line.find(':');
    const size_t b = a == std::string::npos ? std::string::npos : line.find(':', a + 1);
    if (b == std::string::npos) continue;
    const std::string id = line.substr(0, a), controllers = line.substr(a + 1, b - a - 1);
    const std::string path = trim(line.substr(b + 1));
    if (id == "0" && controllers.empty()) {  // cgroup v2: cpu.max = "max 100000" or "150000 100000"
      for (const std::string& dir : ancestors(path)) {
        for (const std::string& mount : {cgroup_root, cgroup_root + "/unified"}) {
          const std::string file = mount + dir + "/cpu.max";
          std::istringstream fields(slurp(file));
          std::string quota;
          double period = 0;
          if (fields >> quota >> period && quota != "max") tighten(cpus_of(std::atof(quota.c_str()), period), file, best, from);
        }
      }
      continue;
    }
    std::istringstream list(controllers);  // cgroup v1: the hierarchy holding the cpu controller
    bool cpu = false;
    for (std::string c; std::getline(list, c, ',');) cpu = cpu || c == "cpu";
    if (!cpu) continue;
    for (const std::string& dir : ancestors(path)) {
      for (const std::string& mount : {cgroup_root + "/" + controllers, cgroup_root + "/cpu,cpuacct", cgroup_root + "/cpu"}) {
        const std::string quota_file = mount + dir + "/cpu.cfs_quota_us";
        const std::string quota = trim(slurp(quota_file)), period = trim(slurp(mount + dir + "/cpu.cfs_period_us"));
        if (!quota.empty() && !period.empty()) {
          tighten(cpus_of(std::atof(quota.c_str()), std::atof(period.c_str())), quota_file, best, from);
        }
      }
    }
  }
  if (source != nullptr) *source = from;
  return best;
}

CpuBudget cpu_budget() {
  CpuBudget b;
  b.hardware = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  cpu_set_t mask;
  CPU_ZERO(&mask);
  if (::sched_getaffinity(0, sizeof mask, &mask) == 0) b.affinity = CPU_COUNT(&mask);
  std::string quota_file;
  b.quota = cgroup_cpu_quota(slurp("/proc/self/cgroup"), "/sys/fs/cgroup", &quota_file);
  b.cpus = b.affinity > 0 ? b.affinity : b.hardware;
  b.reason = b.affinity > 0 ? str("affinity mask of ", b.affinity, " of ", b.hardware, " CPUs")
                            : str("all ", b.hardware, " CPUs (affinity unknown)");
  if (b.quota > 0) {
    const int by_quota = std::max(1, static_cast<int>(std::floor(b.quota + 1e-9)));
    if (by_quota < b.cpus) {
      b.cpus = by_quota;
      char q[32];
      std::snprintf(q, sizeof q, "%.2g", b.quota);
      b.reason = str("cgroup CPU quota of ", q, " CPUs (", quota_file, ") within an ", b.reason);
    }
  }
  return b;
}

int default_thread_count(std::string* reason) {
  if (const char* env = std::getenv("RECKONING_THREADS"); env != nullptr && *env != '\0') {
    char* end = nullptr;
    const long value = std::strtol(env, &end, 10);
    check(end != env && *end == '\0' && value > 0, "environment variable RECKONING_THREADS", "a positive integer",
          str("'", env, "'"));
    if (reason != nullptr) *reason = "RECKONING_THREADS";
    return static_cast<int>(value);
  }
  const CpuBudget b = cpu_budget();
  if (reason != nullptr) *reason = "default: " + b.reason;
  return b.cpus;
}

CpuTicks cpu_ticks(const std::string& proc_stat, const std::string& proc_self_stat, const std::vector<int>& mask) {
  CpuTicks t;
  std::istringstream lines(proc_stat);
  size_t line_number = 0;
  for (std::string line; std::getline(lines, line);) {
    ++line_number;
    // "cpu" alone is the machine's sum; "cpuN" one CPU.
    if (line.rfind("cpu", 0) != 0 || line.size() < 4 || !std::isdigit(static_cast<unsigned char>(line[3]))) continue;
    std::istringstream fields(line.substr(3));
    int cpu = -1;
    fields >> cpu;
    if (std::find(mask.begin(), mask.end(), cpu) == mask.end()) continue;
    std::vector<long long> v;
    for (long long x; fields >> x;) v.push_back(x);
    check(v.size() >= 4 && fields.eof(), str("/proc/stat line ", line_number),
          "'cpuN' and at least 4 tick counts (user nice system idle ...)", str("'", line, "'"));
    long long total = 0;
    // guest and guest_nice (fields 9 and 10) are already counted in user and nice.
    for (size_t i = 0; i < std::min<size_t>(v.size(), 8); ++i) total += v[i];
    const long long idle = v[3] + (v.size() > 4 ? v[4] : 0);
    t.total += total;
    t.busy += total - idle;
    ++t.cpus;
  }
  // "pid (comm) state ppid ..." - comm may hold spaces and parentheses: fields count from the
  // last ')'; utime and stime are fields 14 and 15, the 12th and 13th after it.
  const size_t close = proc_self_stat.rfind(')');
  check(close != std::string::npos, "/proc/self/stat", "'pid (comm) state ...'", str("'", proc_self_stat, "'"));
  std::istringstream fields(proc_self_stat.substr(close + 1));
  std::vector<std::string> f;
  for (std::string x; fields >> x && f.size() < 13;) f.push_back(x);
  check(f.size() == 13, "/proc/self/stat", "utime and stime (fields 14 and 15)",
        str(f.size() + 2, " fields"));
  t.own = std::atoll(f[11].c_str()) + std::atoll(f[12].c_str());
  return t;
}

CpuLoad cpu_load_between(const CpuTicks& before, const CpuTicks& after) {
  CpuLoad load;
  load.cpus = after.cpus;
  const long long total = after.total - before.total;
  if (after.cpus == 0 || before.cpus != after.cpus || total <= 0) return load;
  const double interval = static_cast<double>(total) / after.cpus;  // ticks per CPU
  const long long others = (after.busy - before.busy) - (after.own - before.own);
  load.others = std::max(0.0, static_cast<double>(others) / interval);
  load.known = true;
  return load;
}

CpuLoad measure_cpu_load(double seconds) {
  std::vector<int> mask;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (::sched_getaffinity(0, sizeof set, &set) != 0) return {};
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) {
    if (CPU_ISSET(cpu, &set)) mask.push_back(cpu);
  }
  try {
    const std::string stat_path = "/proc/stat", self_path = "/proc/self/stat";
    const CpuTicks before = cpu_ticks(slurp(stat_path), slurp(self_path), mask);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    const CpuTicks after = cpu_ticks(slurp(stat_path), slurp(self_path), mask);
    return cpu_load_between(before, after);
  } catch (const Error&) {
    return {};  // unreadable here (no procfs): the budget alone decides
  }
}

int threads_for_load(int budget, int mask_cpus, double others_busy) {
  const long left = std::lround(static_cast<double>(mask_cpus) - others_busy);
  return static_cast<int>(std::clamp<long>(left, 1, std::max(1, budget)));
}

namespace {

std::string& last_reason() {
  static std::string reason = "LibTorch's own default";
  return reason;
}

// How long the default measures other processes' load before choosing.
constexpr double kLoadProbeSeconds = 0.1;

// The default count: RECKONING_THREADS, else the CPU budget less other processes' load.
int default_for_now(std::string& reason) {
  int n = default_thread_count(&reason);
  if (reason == "RECKONING_THREADS" || n <= 1) return n;
  const CpuLoad load = measure_cpu_load(kLoadProbeSeconds);
  if (!load.known) return n;
  const int fitted = threads_for_load(n, load.cpus, load.others);
  char busy[32];
  std::snprintf(busy, sizeof busy, "%.1f", load.others);
  reason += fitted < n ? str(", less ", busy, " CPUs busy with other processes at start")
                       : str("; other processes busy on ", busy, " CPUs at start");
  return fitted;
}

}  // namespace

int configure_threads(int requested, const std::string& why) {
  int n = requested;
  std::string reason = why;
  if (n <= 0) n = default_for_now(reason);
  at::set_num_threads(n);
  // The inter-op pool (LibTorch's own threads, not OpenMP's) is sized once, before it starts; a
  // later call (a second configuration in the same process) leaves it as it is.
  static const bool interop_sized = [n] {
    try {
      at::set_num_interop_threads(n);
      return true;
    } catch (const std::exception&) {
      return false;  // already started
    }
  }();
  (void)interop_sized;
  last_reason() = reason;
  return at::get_num_threads();
}

bool threads_are_default() { return last_reason().rfind("default", 0) == 0; }

int threads_for_work(int threads, long long elements) {
  return static_cast<int>(std::clamp<long long>(elements / kElementsPerThread, 1, std::max(1, threads)));
}

int fit_default_threads_to_work(long long elements, const std::string& what) {
  const int now = at::get_num_threads();
  if (!threads_are_default()) return now;
  const int fitted = threads_for_work(now, elements);
  if (fitted < now) {
    at::set_num_threads(fitted);
    last_reason() += str("; ", fitted, fitted == 1 ? " thread" : " threads", " for the work (", what, ", ",
                         kElementsPerThread, " elements per thread)");
  }
  return at::get_num_threads();
}

std::pair<std::string, std::string> omp_wait_policy() {
  const char* policy = std::getenv("OMP_WAIT_POLICY");
  if (policy == nullptr) return {"", ""};
  const char* ours = std::getenv(kSetByUs);
  return {policy, ours != nullptr && std::string(ours) == "1" ? "reckoning" : "user"};
}

std::string thread_summary() {
  const int n = at::get_num_threads();
  const auto [policy, who] = omp_wait_policy();
  const std::string waiting =
      policy.empty() ? "OpenMP spins before sleeping (OMP_WAIT_POLICY unset)"
                     : str("OMP_WAIT_POLICY=", policy, ", set by ", who == "reckoning" ? "reckoning" : "the user");
  return str(n, n == 1 ? " thread" : " threads", " (", last_reason(), "); ", waiting);
}

void prepare_thread_environment(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;  // the user's choice, or already re-executed
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::setenv(kSetByUs, "1", 1);
  ::execv("/proc/self/exe", argv);
  // Not fatal: this process keeps libgomp's default (spinning) wait policy, and says so
  // (omp_wait_policy() must not report a setting the runtime never read).
  std::perror("reckoning: re-executing with OMP_WAIT_POLICY=PASSIVE failed");
  ::unsetenv("OMP_WAIT_POLICY");
  ::unsetenv(kSetByUs);
}

}  // namespace reckoning
