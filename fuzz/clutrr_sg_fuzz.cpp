// CLUTRR-SG lines: data/clutrr/clutrr_sg.h.
#include "fuzz_support.h"
#include "reckoning/data/clutrr/clutrr_sg.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reckoning::fuzz::refusing_clearly(
      [&] { reckoning::clutrr_sg_parse_line(reckoning::fuzz::text_of(data, size), "fuzz.txt: line 1"); });
  return 0;
}
