// Thread policy: the default thread count is the CPUs this process may use (affinity mask, cgroup
// CPU quota), the executable makes OpenMP wait passively unless the user chose otherwise, and the
// user's OpenMP environment is passed through untouched.
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/threads.h"
#include "support/test_util.h"

using namespace reckoning;
using reckoning::test::run_command;
using reckoning::test::TempDir;
using testing::HasSubstr;
using testing::Not;

namespace {

void write(const std::string& path, const std::string& text) {
  create_directories(parent_path(path));
  write_file_atomic(path, text);
}

// In a forked child restricted to the first `n` CPUs of this process's mask: default_thread_count().
int default_threads_under_mask(int n) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    cpu_set_t mask, restricted;
    CPU_ZERO(&restricted);
    if (::sched_getaffinity(0, sizeof mask, &mask) != 0) ::_exit(200);
    int kept = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && kept < n; ++cpu) {
      if (CPU_ISSET(cpu, &mask)) {
        CPU_SET(cpu, &restricted);
        ++kept;
      }
    }
    if (::sched_setaffinity(0, sizeof restricted, &restricted) != 0) ::_exit(201);
    ::unsetenv("RECKONING_THREADS");
    ::_exit(default_thread_count());
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int cpus_in_mask() {
  cpu_set_t mask;
  return ::sched_getaffinity(0, sizeof mask, &mask) == 0 ? CPU_COUNT(&mask) : 0;
}

nlohmann::json version(const std::string& environment) {
  const auto r = run_command(environment + " " + RECKONING_CLI + " version 2>&1");
  EXPECT_EQ(r.code, 0) << r.out;
  return nlohmann::json::parse(r.out);
}

}  // namespace

TEST(Threads, DefaultIsTheSizeOfTheAffinityMask) {
  const int all = cpus_in_mask();
  ASSERT_GT(all, 0);
  EXPECT_EQ(default_threads_under_mask(1), 1);
  EXPECT_EQ(default_threads_under_mask(all), cpu_budget().cpus);  // the whole mask, unless a quota caps it
  if (all >= 2 && cpu_budget().quota == 0) {
    EXPECT_EQ(default_threads_under_mask(2), 2);
  }
}

TEST(Threads, TheExecutableUnderTasksetUsesOneThreadAndSaysWhy) {
  if (run_command("command -v taskset >/dev/null").code != 0) GTEST_SKIP() << "no taskset";
  const nlohmann::json v = version("env -u RECKONING_THREADS taskset -c 0");
  EXPECT_EQ(v.at("threads"), 1);
  EXPECT_EQ(v.at("interop_threads"), 1);
  EXPECT_THAT(v.at("threads_why").get<std::string>(), HasSubstr("affinity mask of 1 of"));
  EXPECT_EQ(v.at("cpus").at("affinity"), 1);
}

TEST(Threads, OpenMpWaitsPassivelyUnlessTheUserChose) {
  const nlohmann::json ours = version("env -u OMP_WAIT_POLICY -u RECKONING_SET_OMP_WAIT_POLICY");
  EXPECT_EQ(ours.at("omp_wait_policy"), "PASSIVE");
  EXPECT_EQ(ours.at("omp_wait_policy_set_by"), "reckoning");
  EXPECT_THAT(ours.at("threads_why").get<std::string>(), HasSubstr("OMP_WAIT_POLICY=PASSIVE, set by reckoning"));
  // The user's OpenMP environment is left exactly as it is.
  const nlohmann::json user =
      version("env -u RECKONING_SET_OMP_WAIT_POLICY OMP_WAIT_POLICY=active OMP_NUM_THREADS=3 OMP_PROC_BIND=false");
  EXPECT_EQ(user.at("omp_wait_policy"), "active");
  EXPECT_EQ(user.at("omp_wait_policy_set_by"), "user");
  EXPECT_EQ(user.at("omp_environment"),
            nlohmann::json({{"OMP_WAIT_POLICY", "active"}, {"OMP_NUM_THREADS", "3"}, {"OMP_PROC_BIND", "false"}}));
}

TEST(Threads, VersionNamesTheMallocTheBuildLinked) {
  // tcmalloc where the build found it (CMakeLists.txt), else glibc's.
  EXPECT_EQ(version("").at("malloc"), RECKONING_EXPECT_MALLOC);
}

TEST(Threads, RequestedAndEnvironmentCountsWin) {
  EXPECT_EQ(version("RECKONING_THREADS=1").at("threads"), 1);
  EXPECT_THAT(version("RECKONING_THREADS=1").at("threads_why").get<std::string>(), HasSubstr("RECKONING_THREADS"));
  const auto bad = run_command(std::string("RECKONING_THREADS=two ") + RECKONING_CLI + " version 2>&1");
  EXPECT_NE(bad.code, 0);
  EXPECT_THAT(bad.out, HasSubstr("environment variable RECKONING_THREADS: expected a positive integer, got 'two'"));
}

TEST(Threads, CgroupV2QuotaIsTheTightestAlongThePath) {
  TempDir root("reckoning_cgroup_v2");
  write(root.file("cpu.max"), "max 100000\n");
  write(root.file("jobs/cpu.max"), "250000 100000\n");
  write(root.file("jobs/job7/cpu.max"), "max 100000\n");
  std::string source;
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/jobs/job7\n", root.path(), &source), 2.5);
  EXPECT_EQ(source, root.file("jobs/cpu.max"));
  write(root.file("jobs/job7/cpu.max"), "150000 100000\n");
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/jobs/job7\n", root.path()), 1.5);
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("0::/\n", root.path()), 0.0);  // the root: no limit
}

TEST(Threads, CgroupV1QuotaFromTheCpuController) {
  TempDir root("reckoning_cgroup_v1");
  write(root.file("cpu,cpuacct/slurm/job1/cpu.cfs_quota_us"), "300000\n");
  write(root.file("cpu,cpuacct/slurm/job1/cpu.cfs_period_us"), "100000\n");
  write(root.file("cpu,cpuacct/cpu.cfs_quota_us"), "-1\n");
  write(root.file("cpu,cpuacct/cpu.cfs_period_us"), "100000\n");
  const std::string cgroup = "4:memory:/x\n3:cpu,cpuacct:/slurm/job1\n2:cpuset:/\n";
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota(cgroup, root.path()), 3.0);
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("3:cpu,cpuacct:/\n", root.path()), 0.0);  // -1: unlimited
  EXPECT_DOUBLE_EQ(cgroup_cpu_quota("", root.path()), 0.0);
}

TEST(Threads, CpuTicksSumTheMaskAndExcludeIdle) {
  const std::string stat =
      "cpu  60 0 30 900 10 0 0 0 0 0\n"
      "cpu0 10 0 5 400 5 0 0 0 0 0\n"
      "cpu1 50 0 25 500 5 0 0 0 7 0\n"
      "intr 123 4 5\n";
  const std::string self = "4242 (a (strange) name) R 1 2 3 4 5 6 7 8 9 10 17 3 0 0 20 0\n";
  const CpuTicks both = cpu_ticks(stat, self, {0, 1});
  EXPECT_EQ(both.cpus, 2);
  EXPECT_EQ(both.busy, 10 + 5 + 50 + 25);
  EXPECT_EQ(both.total, 420 + 580);  // guest ticks are already in user
  EXPECT_EQ(both.own, 17 + 3);
  const CpuTicks one = cpu_ticks(stat, self, {1});
  EXPECT_EQ(one.cpus, 1);
  EXPECT_EQ(one.busy, 75);
  EXPECT_THROW(cpu_ticks("cpu0 1 2\n", self, {0}), Error);
  EXPECT_THROW(cpu_ticks(stat, "4242 no parenthesis", {0}), Error);
}

TEST(Threads, LoadIsOtherProcessesWorkInCpus) {
  // 2 CPUs over 100 ticks each: 150 busy ticks, 50 of them this process's -> 1 CPU of others' work.
  const CpuLoad load = cpu_load_between({2, 1000, 5000, 40}, {2, 1150, 5200, 90});
  EXPECT_TRUE(load.known);
  EXPECT_EQ(load.cpus, 2);
  EXPECT_DOUBLE_EQ(load.others, 1.0);
  EXPECT_FALSE(cpu_load_between({2, 0, 100, 0}, {2, 0, 100, 0}).known);  // no time passed
}

TEST(Threads, TheDefaultLeavesTheCpusOthersKeepBusy) {
  EXPECT_EQ(threads_for_load(2, 2, 0.0), 2);
  EXPECT_EQ(threads_for_load(2, 2, 0.3), 2);   // background noise
  EXPECT_EQ(threads_for_load(2, 2, 0.67), 1);  // one busy process sharing with our 2 threads
  EXPECT_EQ(threads_for_load(2, 2, 1.0), 1);
  EXPECT_EQ(threads_for_load(2, 2, 2.0), 1);   // never below 1
  EXPECT_EQ(threads_for_load(1, 4, 0.0), 1);   // never above the budget (a quota)
  EXPECT_EQ(threads_for_load(8, 8, 3.2), 5);
}

TEST(Threads, TheExecutableNextToABusyProcessUsesTheFreeCpu) {
  cpu_set_t mask;
  ASSERT_EQ(::sched_getaffinity(0, sizeof mask, &mask), 0);
  std::vector<int> cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE && cpus.size() < 2; ++cpu) {
    if (CPU_ISSET(cpu, &mask)) cpus.push_back(cpu);
  }
  if (cpus.size() < 2 || cpu_budget().cpus < 2) GTEST_SKIP() << "needs 2 usable CPUs";
  if (run_command("command -v taskset >/dev/null").code != 0) GTEST_SKIP() << "no taskset";
  const pid_t spinner = ::fork();
  if (spinner == 0) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpus[0], &one);
    ::sched_setaffinity(0, sizeof one, &one);
    ::alarm(30);  // never outlives the test
    for (volatile unsigned long i = 0;; i = i + 1) {
    }
  }
  ::usleep(200 * 1000);
  // Whatever else runs here, a CPU's worth of it is the spinner's: the default is 1 thread.
  const nlohmann::json v = version(str("env -u RECKONING_THREADS taskset -c ", cpus[0], ",", cpus[1]));
  ::kill(spinner, SIGKILL);
  ::waitpid(spinner, nullptr, 0);
  EXPECT_EQ(v.at("threads"), 1);
  EXPECT_THAT(v.at("threads_why").get<std::string>(), HasSubstr("busy with other processes at start"));
}

TEST(Threads, TheWorkCapsTheDefault) {
  EXPECT_EQ(threads_for_work(2, 64 * 256), 1);        // the README's 2 x 64 model: one thread
  EXPECT_EQ(threads_for_work(2, 128 * 512), 2);       // 2 x 128: two
  EXPECT_EQ(threads_for_work(8, 768 * 50257), 8);     // GPT-2 small: every thread it has
  EXPECT_EQ(threads_for_work(8, 3 * kElementsPerThread), 3);
  EXPECT_EQ(threads_for_work(4, 0), 1);               // never below 1
  EXPECT_EQ(threads_for_work(0, 1LL << 40), 1);       // never above the count (at least 1)
}

TEST(Threads, ATinyModelRunsOneThreadByDefaultAndSaysWhy) {
  if (cpu_budget().cpus < 2) GTEST_SKIP() << "needs 2 usable CPUs";
  // `global`: the program's options (before the command); `own`: the command's.
  auto bench = [](const std::string& global, const std::string& own) {
    const auto r = run_command(str("env -u RECKONING_THREADS ", RECKONING_CLI, " ", global,
                                   " bench meta-step --layers 1 --width 64 --heads 2 --vocab 64",
                                   " --facts 2 --fact-len 6 --question-len 4 --answer-len 2 --inner-steps 1",
                                   " --warmup 0 --steps 1 --no-peak ", own, " 2>&1"));
    EXPECT_EQ(r.code, 0) << r.out;
    return nlohmann::json::parse(r.out.substr(r.out.find('{'))).at("config");
  };
  // 4C x C = 256 x 64 elements: below two grains, whatever the load (when others' load already left
  // one thread, the work has nothing to cap).
  const nlohmann::json tiny = bench("", "");
  EXPECT_EQ(tiny.at("threads"), 1);
  const std::string why = tiny.at("threads_why").get<std::string>();
  if (why.find("busy with other processes at start)") == std::string::npos) {
    EXPECT_THAT(why, HasSubstr("1 thread for the work (largest weight matrix 4C x C = 256 x 64"));
  }
  // An explicit count, given to the program or to the command, is the user's: left as it is.
  for (const auto& [global, own] : {std::pair<std::string, std::string>{"--threads 2", ""}, {"", "--threads 2"}}) {
    const nlohmann::json asked = bench(global, own);
    EXPECT_EQ(asked.at("threads"), 2) << global << own;
    EXPECT_THAT(asked.at("threads_why").get<std::string>(), Not(HasSubstr("for the work")));
  }
}
