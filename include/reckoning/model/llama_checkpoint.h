// Hugging Face Llama-family model directories (model_type llama, mistral, qwen2, qwen3):
// `config.json` + `model.safetensors` or a sharded `model.safetensors.index.json`, float32,
// float16 or bfloat16 weights, loaded as published and saved in the layout
// transformers' AutoModelForCausalLM.from_pretrained accepts unchanged.
//
// Loading refuses, naming the file and the tensor: a missing, unexpected or misshapen tensor, a
// non-float one, and a tied head (tie_word_embeddings) whose lm_head.weight differs from the
// embedding. Rotary inv_freq buffers of older checkpoints are ignored.
// Not here: the tokenizer (hf_tokenizer.h), what a directory's family is for the rest of the
// system (meta/reckoning_model.h).
#pragma once

#include <string>

#include <torch/torch.h>

#include "reckoning/model/llama_config.h"
#include "reckoning/model/llama_weights.h"

namespace reckoning {

struct LlamaModel {
  LlamaConfig config;
  LlamaWeights weights;
};

// The "model_type" of `dir`/config.json ("" when the file has none); throws naming the file when
// it cannot be read.
std::string checkpoint_model_type(const std::string& dir);

// Loads a directory; tensors in `dtype`, contiguous, not requiring grad.
LlamaModel llama_load_dir(const std::string& dir, torch::Dtype dtype = torch::kFloat32);

// Writes `dir`/config.json (torch_dtype float32) and `dir`/model.safetensors (F32, the names of
// llama_visit, no lm_head when tied, metadata {"format": "pt"}), each atomically; creates `dir`.
// Other files in `dir` are left untouched.
void llama_save_dir(const LlamaModel& model, const std::string& dir);

}  // namespace reckoning
