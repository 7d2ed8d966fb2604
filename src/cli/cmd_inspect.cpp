// `reckoning inspect CHECKPOINT [--json]`: lists every tensor (name, dtype, shape), the parameter
// count and, for a model directory, its config and side tables such as inner_lrs.safetensors.
// Argument parsing only; the summary is built and formatted by report/inspect.h.
#include <iostream>

#include "command.h"
#include "reckoning/report/inspect.h"

namespace {

const reckoning::cli::RegisterCommand registered(
    "inspect",
    "List a checkpoint's tensors (name, shape, dtype) and parameter count; CHECKPOINT is a model "
    "directory, a .safetensors file or a sharded index .json",
    900, [](CLI::App& app) -> std::function<int()> {
      auto path = std::make_shared<std::string>();
      auto json = std::make_shared<bool>(false);
      app.add_option("CHECKPOINT", *path,
                     "Model directory (config.json + model.safetensors[.index.json]), .safetensors "
                     "file, or model.safetensors.index.json")
          ->required()
          ->check(CLI::ExistingPath);
      app.add_flag("--json", *json, "Print machine-readable JSON instead of the table");
      return [path, json] {
        reckoning::CheckpointSummary summary = reckoning::checkpoint_inspect(*path);
        if (*json) {
          std::cout << reckoning::checkpoint_summary_json(summary).dump(2) << "\n";
        } else {
          std::cout << reckoning::checkpoint_summary_text(summary);
        }
        return 0;
      };
    });

}  // namespace
