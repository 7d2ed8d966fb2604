// TEST-ONLY helpers shared by the GPT-2 tests: a minimal safetensors reader for the golden files,
// golden-checkpoint loading and the golden script's next-token loss.
//
// The reader handles only what the golden files use (F32, F64, I64, BOOL; little-endian host) and
// checks little beyond what the tests need. It is NOT the library's loader: once
// reckoning::safetensors_load (include/reckoning/safetensors.h) is merged, switch the tests to it
// and delete read_safetensors_for_test. Format: u64 LE header length, JSON header
// {name: {dtype, shape, data_offsets: [begin, end)}}, raw data (offsets relative to its start).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "reckoning/gpt2_config.h"
#include "reckoning/gpt2_weights.h"
#include "reckoning/io.h"

namespace reckoning::test {

inline std::map<std::string, torch::Tensor> read_safetensors_for_test(const std::string& path) {
  const std::string bytes = read_file(path);
  if (bytes.size() < 8) throw std::runtime_error(path + ": shorter than the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  if (8 + header_len > bytes.size()) throw std::runtime_error(path + ": header runs past the end");
  const nlohmann::json header = nlohmann::json::parse(bytes.substr(8, header_len));
  const char* data = bytes.data() + 8 + header_len;
  const size_t data_len = bytes.size() - 8 - header_len;
  std::map<std::string, torch::Tensor> out;
  for (const auto& [name, info] : header.items()) {
    if (name == "__metadata__") continue;
    const std::string dtype = info.at("dtype").get<std::string>();
    torch::Dtype torch_dtype;
    if (dtype == "F32") torch_dtype = torch::kFloat32;
    else if (dtype == "F64") torch_dtype = torch::kFloat64;
    else if (dtype == "I64") torch_dtype = torch::kInt64;
    else if (dtype == "BOOL") torch_dtype = torch::kBool;
    else throw std::runtime_error(path + ": tensor '" + name + "': unsupported dtype " + dtype);
    const std::vector<int64_t> shape = info.at("shape").get<std::vector<int64_t>>();
    const uint64_t begin = info.at("data_offsets")[0].get<uint64_t>();
    const uint64_t end = info.at("data_offsets")[1].get<uint64_t>();
    torch::Tensor t = torch::empty(shape, torch::dtype(torch_dtype));
    if (end < begin || end > data_len || end - begin != t.nbytes()) {
      throw std::runtime_error(path + ": tensor '" + name + "': bad data_offsets");
    }
    std::memcpy(t.data_ptr(), data + begin, end - begin);
    out.emplace(name, t);
  }
  return out;
}

// Weights from a Hugging Face GPT-2 safetensors file for the tests: strips an optional
// `transformer.` prefix and ignores the attn.bias / attn.masked_bias mask buffers.
inline Gpt2Weights gpt2_weights_from_map_for_test(const Gpt2Config& config,
                                                  const std::map<std::string, torch::Tensor>& tensors) {
  Gpt2Weights w;
  w.h.resize(static_cast<size_t>(config.n_layer));
  gpt2_visit(w, [&](const std::string& name, torch::Tensor& t) {
    auto it = tensors.find("transformer." + name);
    if (it == tensors.end()) it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("golden model: missing tensor " + name);
    t = it->second;
  });
  gpt2_check_shapes(config, w, "golden model");
  return w;
}

// Mean cross-entropy over every real next token: logits (B, T, V)[b, t] predicts ids[b, t + 1]
// where mask[b, t + 1] == 1 (right padding). The definition of scripts/golden/make_gpt2_golden.py.
inline torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& ids,
                                     const torch::Tensor& mask) {
  const int64_t T = ids.size(1);
  torch::Tensor logp = torch::log_softmax(logits.slice(1, 0, T - 1), -1);                 // (B, T-1, V)
  torch::Tensor target_logp = logp.gather(2, ids.slice(1, 1, T).unsqueeze(2)).squeeze(2);  // (B, T-1)
  torch::Tensor real = mask.slice(1, 1, T).to(logits.dtype());                            // (B, T-1)
  return -(target_logp * real).sum() / real.sum();
}

}  // namespace reckoning::test
