// tokenizer.json in its general form (model, normalizers, pre-tokenizers, decoders, added tokens),
// then encoding and decoding with what it built: text/hf_tokenizer.h.
#include <nlohmann/json.hpp>

#include "fuzz_support.h"
#include "reckoning/text/hf_tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const nlohmann::json json = nlohmann::json::parse(data, data + size, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return 0;  // not JSON: the file reader's error, not this parser's
  reckoning::fuzz::refusing_clearly([&] {
    const reckoning::HfTokenizer tokenizer(json, nullptr, "fuzz/tokenizer.json");
    const std::vector<int64_t> ids = tokenizer.encode("Hello  world\n123 \xc3\xa9t\xc3\xa9 <s> \xf0\x9f\x98\x80");
    tokenizer.decode(ids);
  });
  return 0;
}
