// A Hugging Face config.json of either family (model/gpt2_config.h, model/llama_config.h): parsed by
// the family its model_type names (as decoder_load_dir picks it), validated, and written back.
#include "fuzz_support.h"
#include "reckoning/base/io.h"
#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/llama_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, "_config.json");
  reckoning::fuzz::refusing_clearly([&] {
    const nlohmann::json json = reckoning::read_json_file(path);
    const auto type = json.is_object() && json.contains("model_type") && json["model_type"].is_string()
                          ? json["model_type"].get<std::string>()
                          : std::string();
    if (reckoning::llama_family_model_type(type)) {
      const reckoning::LlamaConfig c = reckoning::llama_config_from_json(json, path);
      c.validate(path);
      (void)reckoning::llama_config_to_json(c).dump();
    } else {
      const reckoning::Gpt2Config c = reckoning::gpt2_config_from_json(json, path);
      c.validate(path);
      (void)reckoning::gpt2_config_to_json(c).dump();
    }
  });
  return 0;
}
