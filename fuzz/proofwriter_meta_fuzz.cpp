// ProofWriter meta-*.jsonl files (theories, questions, proofs): data/proofwriter/proofwriter.h.
#include "fuzz_support.h"
#include "reckoning/data/proofwriter/proofwriter.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".jsonl");
  reckoning::fuzz::refusing_clearly([&] { reckoning::proofwriter_read(path); });
  reckoning::fuzz::refusing_clearly(
      [&] { reckoning::proofwriter_parse_proof(reckoning::fuzz::text_of(data, size), "fuzz: proofs"); });
  return 0;
}
