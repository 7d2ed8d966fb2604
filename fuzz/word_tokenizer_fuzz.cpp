// reckoning's word tokenizer file (word_tokenizer.json): text/word_tokenizer.h.
#include "fuzz_support.h"
#include "reckoning/text/word_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".json");
  reckoning::fuzz::refusing_clearly([&] {
    auto tokenizer = reckoning::word_tokenizer_load(path);
    tokenizer->decode(tokenizer->encode("B K daughter fact_0: How are A and B related ?"));
  });
  return 0;
}
