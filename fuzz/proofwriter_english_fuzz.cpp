// ProofWriter English theories (facts and rules as sentences): data/proofwriter/proofwriter_english.h.
#include "fuzz_support.h"
#include "reckoning/data/proofwriter/proofwriter_english.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reckoning::fuzz::refusing_clearly([&] { reckoning::english_parse_theory(reckoning::fuzz::text_of(data, size), "fuzz"); });
  return 0;
}
