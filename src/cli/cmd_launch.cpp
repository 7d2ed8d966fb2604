// `reckoning launch --nproc N -- train ...`: a run over N processes of this machine (dist/launch.h).
#include "command.h"
#include "reckoning/dist/launch.h"

namespace {

struct LaunchArgs {
  reckoning::LaunchOptions options;
  std::vector<std::string> command;
};

const reckoning::cli::RegisterCommand launch_command(
    "launch", "Run a command (train, eval) as N cooperating processes on this machine, as torchrun would", 450,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<LaunchArgs>();
      app.add_option("--nproc", a->options.nproc, "Processes (ranks) to start")->check(CLI::Range(1, 4096));
      app.add_option("--master-addr", a->options.master_addr, "Rendezvous address (rank 0's host)");
      app.add_option("--master-port", a->options.master_port, "Rendezvous port (default: a free one)")
          ->check(CLI::Range(0, 65535));
      app.add_option("--grace", a->options.grace_seconds,
                     "Seconds between SIGTERM and SIGKILL when one process failed and the others are stopped")
          ->check(CLI::NonNegativeNumber);
      app.add_option("command", a->command, "The reckoning command each process runs, after --")->required();
      app.footer("Example: reckoning launch --nproc 2 -- train --config configs/main-job.yaml\n"
                 "Several machines: torchrun or srun start the processes (docs/DISTRIBUTED.md).");
      return [a] { return reckoning::launch(a->command, a->options); };
    });

}  // namespace
