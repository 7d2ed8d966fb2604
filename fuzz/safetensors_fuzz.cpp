// A .safetensors file (base/safetensors.h): the header validated, then every tensor loaded (as
// stored, and converted to float32). Built only where LibTorch is found (fuzz/CMakeLists.txt).
#include "fuzz_support.h"
#include "reckoning/base/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".safetensors");
  reckoning::fuzz::refusing_clearly([&] {
    const reckoning::SafetensorsHeader header = reckoning::safetensors_read_header(path);
    (void)header.tensors.size();
    const reckoning::Safetensors loaded = reckoning::safetensors_load(path, torch::kFloat32);
    for (const auto& [name, tensor] : loaded.tensors) (void)tensor.sum().item<double>();
  });
  return 0;
}
