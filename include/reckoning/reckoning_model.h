// A RECKONING model: GPT-2 weights, the learned inner learning rates, the tokenizer, and the
// settings that define how it encodes knowledge and answers (inner loop, prompts).
//
// On disk a model directory is a Hugging Face GPT-2 directory (config.json, model.safetensors,
// tokenizer files) - loadable by the Python ecosystem unchanged - plus
//   inner_lrs.safetensors  the rate table "inner_lrs" (groups x steps), metadata mode/log_space
//   reckoning.json         the run configuration the model was trained with (run_config.h keys)
// A plain GPT-2 directory (without the two files) loads with static rates from the defaults.
#pragma once

#include <memory>
#include <string>

#include "reckoning/device.h"
#include "reckoning/gpt2.h"
#include "reckoning/inner_loop.h"
#include "reckoning/inner_lrs.h"
#include "reckoning/precision.h"
#include "reckoning/prompts.h"
#include "reckoning/run_config.h"
#include "reckoning/tokenizer.h"

namespace reckoning {

struct ReckoningModel {
  Gpt2Config config;
  Gpt2Weights weights;
  InnerLrs lrs;
  std::shared_ptr<const Tokenizer> tokenizer;
  RunConfig run;  // inner-loop, prompt and generation settings

  InnerLoopConfig inner() const;
  PromptOptions prompt() const;
  MatmulDtype matmul_dtype() const;  // the precision its matrix products run in (precision.h)
  torch::Device device() const;      // where it runs: run.device, checked (device.h)
};

// Moves the weights and the rate table to `device`, keeping which tensors are trainable leaves.
void reckoning_model_to(ReckoningModel& model, const torch::Device& device);

InnerLoopConfig inner_config_from_run(const RunConfig& run);
PromptOptions prompt_options_from_run(const RunConfig& run);
MatmulDtype matmul_dtype_from_run(const RunConfig& run);
torch::Device device_from_run(const RunConfig& run);

ReckoningModel reckoning_model_load(const std::string& dir);
// Writes every file into a staging directory, then replaces `dir` as a whole (io.h).
void reckoning_model_save(const ReckoningModel& model, const std::string& dir);
// Writes the model's files into an existing directory (used for staging by the trainer).
void reckoning_model_write_files(const ReckoningModel& model, const std::string& dir);

}  // namespace reckoning
