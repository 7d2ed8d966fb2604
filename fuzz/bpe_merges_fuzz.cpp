// merges.txt lines (GPT-2 and tokenizer.json BPE): text/bpe_tokenizer.h.
#include "fuzz_support.h"
#include "reckoning/text/bpe_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  reckoning::fuzz::refusing_clearly([&] {
    reckoning::bpe_merge_parse(std::string_view(reinterpret_cast<const char*>(data), size), "fuzz/merges.txt: line 2");
  });
  return 0;
}
