// `reckoning version`: library, LibTorch and thread configuration, as JSON.
#include <dlfcn.h>

#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "command.h"
#include "reckoning/base/threads.h"
#include "reckoning/dist/process_group.h"

extern char** environ;

namespace {

// Every OMP_* variable of this process's environment, as the OpenMP runtime saw it.
nlohmann::json omp_environment() {
  nlohmann::json out = nlohmann::json::object();
  for (char** e = environ; *e != nullptr; ++e) {
    const std::string entry = *e;
    const size_t eq = entry.find('=');
    if (entry.rfind("OMP_", 0) == 0 && eq != std::string::npos) out[entry.substr(0, eq)] = entry.substr(eq + 1);
  }
  return out;
}

const reckoning::cli::RegisterCommand registered(
    "version", "Print the reckoning and LibTorch versions, the thread count and why, as JSON", 1000,
    [](CLI::App&) -> std::function<int()> {
      return [] {
        const reckoning::CpuBudget cpus = reckoning::cpu_budget();
        const auto [policy, policy_by] = reckoning::omp_wait_policy();
        nlohmann::json out = {{"reckoning", RECKONING_VERSION},
                              {"libtorch", TORCH_VERSION},
                              {"threads", at::get_num_threads()},
                              {"interop_threads", at::get_num_interop_threads()},
                              {"threads_why", reckoning::thread_summary()},
                              {"cpus", {{"usable", cpus.cpus}, {"affinity", cpus.affinity}, {"cgroup_quota", cpus.quota},
                                        {"hardware", cpus.hardware}, {"reason", cpus.reason}}},
                              {"omp_wait_policy", policy},
                              {"omp_wait_policy_set_by", policy_by},
                              {"omp_environment", omp_environment()},
                              {"distributed_backends", reckoning::dist_backends_built()},
                              // The process's malloc (CMakeLists.txt: tcmalloc where it is installed).
                              {"malloc", dlsym(RTLD_DEFAULT, "tc_malloc") != nullptr ? "tcmalloc" : "glibc"},
                              {"parallel", at::get_parallel_info()}};
        std::cout << out.dump() << "\n";
        return 0;
      };
    });

}  // namespace
