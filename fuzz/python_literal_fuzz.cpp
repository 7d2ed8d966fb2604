// CLUTRR's Python-literal fields (lists, tuples, dicts, strings with escapes): base/python_literal.h.
#include "fuzz_support.h"
#include "reckoning/base/python_literal.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reckoning::fuzz::refusing_clearly([&] { reckoning::py_literal_parse(reckoning::fuzz::text_of(data, size), "fuzz"); });
  return 0;
}
