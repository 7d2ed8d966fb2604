// `reckoning launch`: one machine's processes of a run, started the way torchrun starts them.
//
// Each of `nproc` children runs this executable with the given arguments and the environment that
// process_group.h reads (RANK, LOCAL_RANK, WORLD_SIZE, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT), plus RECKONING_THREADS = this process's usable CPUs / nproc (at least 1) unless the
// user set it. When a child fails (a non-zero exit or a signal) the others are stopped (SIGTERM,
// then SIGKILL after `grace_seconds`) and the launcher exits non-zero naming the rank; a SIGTERM
// or SIGINT to the launcher goes on to every child. Several machines: torchrun or srun start the
// processes instead (docs/DISTRIBUTED.md).
#pragma once

#include <string>
#include <vector>

namespace reckoning {

struct LaunchOptions {
  int nproc = 2;
  std::string master_addr = "127.0.0.1";
  int master_port = 0;        // 0 = a free port of this machine
  double grace_seconds = 10;  // from SIGTERM to SIGKILL when stopping the others
  std::string executable;     // "" = this executable (/proc/self/exe)
};

// Runs the processes and waits for them: 0 when every one exited 0, else the failing rank's exit
// code (128 + signal for a signal). Messages go to stderr, prefixed "reckoning launch:".
int launch(const std::vector<std::string>& args, const LaunchOptions& options);

// A TCP port free on `addr` now (bound and released; the usual race applies).
int free_tcp_port(const std::string& addr);

}  // namespace reckoning
