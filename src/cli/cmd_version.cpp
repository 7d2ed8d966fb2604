// `reckoning version`: library, LibTorch and thread configuration, as JSON.
#include <iostream>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "command.h"

namespace {

const reckoning::cli::RegisterCommand registered(
    "version", "Print the reckoning and LibTorch versions and the thread count as JSON", 1000,
    [](CLI::App&) -> std::function<int()> {
      return [] {
        nlohmann::json out = {{"reckoning", RECKONING_VERSION},
                              {"libtorch", TORCH_VERSION},
                              {"threads", at::get_num_threads()},
                              {"parallel", at::get_parallel_info()}};
        std::cout << out.dump() << "\n";
        return 0;
      };
    });

}  // namespace
