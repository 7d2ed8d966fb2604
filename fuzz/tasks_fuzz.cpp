// Canonical task JSON lines: data/task.h.
#include "fuzz_support.h"
#include "reckoning/data/task.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".jsonl");
  reckoning::fuzz::refusing_clearly([&] { reckoning::tasks_load(path); });
  return 0;
}
