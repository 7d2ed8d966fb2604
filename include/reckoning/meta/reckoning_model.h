// A RECKONING model: GPT-2 weights, the learned inner learning rates, the tokenizer, and the
// settings that define how it encodes knowledge and answers (inner loop, prompts).
//
// On disk a model directory is a Hugging Face GPT-2 directory (config.json, model.safetensors,
// tokenizer files) - loadable by the Python ecosystem unchanged - plus
//   inner_lrs.safetensors  the rate table "inner_lrs" (groups x steps), metadata mode/log_space
//   reckoning.json         the settings it encodes and answers with: the run configuration's
//                          model keys (run_config.h; no data paths, no outer-loop settings).
//                          Files of earlier versions, holding every key, load the same.
// A plain GPT-2 directory (without the two files) loads with static rates from the defaults.
#pragma once

#include <memory>
#include <string>

#include "reckoning/base/device.h"
#include "reckoning/model/decoder.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/meta/inner_lrs.h"
#include "reckoning/model/precision.h"
#include "reckoning/meta/prompts.h"
#include "reckoning/meta/run_config.h"
#include "reckoning/text/tokenizer.h"

namespace reckoning {

struct ReckoningModel {
  DecoderConfig config;
  DecoderWeights weights;
  InnerLrs lrs;
  std::shared_ptr<const Tokenizer> tokenizer;
  RunConfig run;  // inner-loop, prompt and generation settings

  InnerLoopConfig inner() const { return run.inner_loop(); }
  PromptOptions prompt() const { return run.prompt_options(); }
  MatmulDtype matmul_dtype() const { return run.matmul_dtype; }  // its matrix products' precision (precision.h)
  torch::Device device() const;  // where it runs: run.device, refused here if unusable (device.h)
};

// Moves the weights and the rate table to `device`, keeping which tensors are trainable leaves.
void reckoning_model_to(ReckoningModel& model, const torch::Device& device);

ReckoningModel reckoning_model_load(const std::string& dir);

// Caps a default thread count by the model's work (threads.h, fit_default_threads_to_work): its
// largest weight matrix, the MLP's C x 4C or the embedding's V x C. Call once the model is known.
void fit_default_threads(const DecoderConfig& config);
// Writes every file into a staging directory, then replaces `dir` as a whole (io.h).
void reckoning_model_save(const ReckoningModel& model, const std::string& dir);
// Writes the model's files into an existing directory (used for staging by the trainer).
void reckoning_model_write_files(const ReckoningModel& model, const std::string& dir);

}  // namespace reckoning
