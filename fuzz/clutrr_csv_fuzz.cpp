// A CLUTRR CSV file end to end (columns, Python-literal fields, conversion to tasks): data/clutrr/clutrr.h.
#include "fuzz_support.h"
#include "reckoning/data/clutrr/clutrr.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".csv");
  reckoning::fuzz::refusing_clearly([&] {
    for (const reckoning::ClutrrRow& row : reckoning::clutrr_read(path)) reckoning::clutrr_to_task(row);
  });
  return 0;
}
