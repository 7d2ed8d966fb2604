// FOLIO JSON lines: data/folio.h.
#include "fuzz_support.h"
#include "reckoning/data/folio.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".jsonl");
  reckoning::fuzz::refusing_clearly([&] { reckoning::folio_read(path); });
  return 0;
}
