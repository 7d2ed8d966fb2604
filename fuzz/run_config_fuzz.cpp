// YAML run configurations (meta/run_config.h): the file as `reckoning train --config` reads it
// (bases included), then each of its lines once more as a `--set key=value` override, validated,
// and the resolved configuration written as JSON and read back. Built only where the main build's
// library is there to link the rest of reckoning from (fuzz/CMakeLists.txt).
#include <sstream>

#include "fuzz_support.h"
#include "reckoning/meta/run_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".yaml");
  reckoning::fuzz::refusing_clearly([&] {
    reckoning::RunConfig config = reckoning::run_config_load(path);
    reckoning::run_config_validate(config);
    const nlohmann::json json = reckoning::run_config_to_json(config);
    (void)reckoning::run_config_from_json(json, "round trip");
  });
  std::istringstream lines(reckoning::fuzz::text_of(data, size));
  reckoning::RunConfig config;
  for (std::string line; std::getline(lines, line);) {
    reckoning::fuzz::refusing_clearly([&] { reckoning::run_config_set(config, line, "--set"); });
  }
  reckoning::fuzz::refusing_clearly([&] { reckoning::run_config_validate(config); });
  return 0;
}
