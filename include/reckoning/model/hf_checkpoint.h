// Hugging Face GPT-2 model directories: `config.json` + `model.safetensors` (or sharded,
// `model.safetensors.index.json` + shards), loaded as published and saved in a layout that
// transformers' GPT2LMHeadModel.from_pretrained accepts unchanged.
//
// GPT-2 checkpoint facts handled here (each has a test in tests/model/hf_checkpoint_test.cpp):
// - Conv1D layout: linear weights are stored [in, out], as our Gpt2Weights holds them; shapes are
//   checked against the config, never transposed silently.
// - Key prefix: GPT2LMHeadModel saves `transformer.h.0...`, GPT2Model saves `h.0...`; both load.
// - Mask buffers `h.{i}.attn.bias` (causal mask) and `h.{i}.attn.masked_bias` are not weights and
//   are ignored.
// - The output head is tied: `lm_head.weight` may be absent or equal to `wte.weight`; a different
//   one is an error (this model cannot represent it).
// Not here: the file format itself (safetensors.h), tokenizer files (owned by the tokenizer),
// optimizer or trainer state.
#pragma once

#include <string>

#include <torch/torch.h>

#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/gpt2_weights.h"
#include "reckoning/base/safetensors.h"

namespace reckoning {

struct Gpt2Model {
  Gpt2Config config;
  Gpt2Weights weights;
};

// What a checkpoint key is to GPT-2 (after removing an optional `transformer.` prefix).
enum class Gpt2KeyRole {
  kWeight,      // a name of gpt2_visit (or a name that looks like one; shape checks decide)
  kMaskBuffer,  // h.{i}.attn.bias / h.{i}.attn.masked_bias: attention mask buffers, ignored
  kTiedHead,    // lm_head.weight: must equal wte.weight
};
// `name` with a leading "transformer." removed.
std::string gpt2_strip_prefix(const std::string& name);
Gpt2KeyRole gpt2_key_role(const std::string& name);

// The weights file of a model directory: `model.safetensors` if present (preferred, as
// transformers does), else `model.safetensors.index.json`. Throws naming the directory otherwise.
std::string checkpoint_weights_path(const std::string& dir);

// Loads .safetensors or a .index.json (sharded) by file name; floats converted to `float_dtype`.
Safetensors checkpoint_read_tensors(const std::string& path,
                                    std::optional<torch::Dtype> float_dtype = std::nullopt);

// Maps checkpoint tensors onto GPT-2 weights under `config`: strips the prefix, ignores mask
// buffers, checks the tied head, and refuses missing, extra, duplicate, non-float or misshapen
// tensors. Errors name `where` (the file) and the tensor. Tensors are converted to `dtype`.
Gpt2Weights gpt2_weights_from_tensors(const Gpt2Config& config, const Safetensors& tensors,
                                      const std::string& where, torch::Dtype dtype);

// Loads a Hugging Face GPT-2 directory (config.json + weights); tensors in `dtype`, contiguous,
// not requiring grad.
Gpt2Model gpt2_load_dir(const std::string& dir, torch::Dtype dtype = torch::kFloat32);

// Writes `dir`/config.json and `dir`/model.safetensors (F32, GPT2Model names without prefix, no
// mask buffers, no lm_head, metadata {"format": "pt"}), each atomically; creates `dir`. Other
// files in `dir` (tokenizer, inner_lrs.safetensors, ...) are left untouched.
void gpt2_save_dir(const Gpt2Model& model, const std::string& dir);

}  // namespace reckoning
