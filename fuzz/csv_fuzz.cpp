// CLUTRR's CSV (RFC 4180 quoting, embedded newlines): base/csv.h.
#include "fuzz_support.h"
#include "reckoning/base/csv.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reckoning::fuzz::refusing_clearly([&] { reckoning::csv_parse(reckoning::fuzz::text_of(data, size), "fuzz.csv"); });
  return 0;
}
