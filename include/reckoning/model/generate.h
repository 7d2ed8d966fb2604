// Text generation with any model family (decoder.h) over explicit weights (so it runs on the inner loop's adapted fast
// weights as well as on base weights): greedy decoding for batches of prompts of different lengths
// (left padding + mask) and beam search. Both feed one new position per step through the KvCache,
// run under torch::NoGradGuard with dropout off, and are deterministic.
//
// Beam search follows Hugging Face's BeamSearchScorer (early_stopping=False): 2k candidates per
// step, an EOS candidate ranked among the top k finishes a hypothesis scored
// sum(log p) / length^length_penalty, and the search stops once k hypotheses are finished and the
// best running beam, normalised at its current length, cannot beat the worst of them.
// Not here: sampling (temperature, top-k/p), repetition penalties, tokenisation.
#pragma once

#include <cstdint>
#include <vector>

#include "reckoning/model/decoder.h"

namespace reckoning {

struct GenerateOptions {
  int64_t max_new_tokens = 32;  // at most this many new tokens per prompt (EOS included)
  int64_t num_beams = 1;        // 1 = greedy; k > 1 = beam search with k beams
  double length_penalty = 1.0;  // beam score = sum log p / length^length_penalty (0 = raw sum)
  int64_t eos_id = -1;          // end-of-sequence id; < 0 means config.eos_token_id()
  bool stop_at_eos = true;      // false: EOS is an ordinary token, always max_new_tokens tokens
  // One budget per prompt (replaces max_new_tokens) when not empty, so that in a batch each prompt
  // gets what it would get alone (generation_budgets: generation_budget of its own length).
  std::vector<int64_t> max_new_tokens_each;
};

// The largest budget <= `wanted` that fits after a prompt of `prompt_length` tokens into n_ctx
// (at least 0; a prompt that does not fit is decoder_generate's error to report); `wanted` itself
// where n_ctx is no hard end (the Llama family: rotary positions go on).
int64_t generation_budget(const DecoderConfig& config, size_t prompt_length, int64_t wanted);
// generation_budget of each prompt's own length: GenerateOptions::max_new_tokens_each for a batch.
std::vector<int64_t> generation_budgets(const DecoderConfig& config, const std::vector<std::vector<int64_t>>& prompts,
                                        int64_t wanted);

// Generates a continuation of every prompt (token ids, at least one each). Returns per prompt the
// new ids only: without the prompt and without the final EOS (a continuation that stopped at EOS
// is simply shorter than max_new_tokens). num_beams == 1 decodes all prompts as one left-padded
// batch; beam search decodes one prompt at a time with its k beams as the batch. The weights are
// shared by all prompts, or task-batched over N tasks (task_batch.h) with B / N consecutive prompts
// per task, each continued with its own task's weights (a batched evaluation answers every task
// with its adapted weights in one pass; beam search takes each prompt's task out of them). Throws reckoning::Error for an empty
// prompt, an id outside [0, n_vocab), a prompt that with its budget does not fit into a hard n_ctx
// (GPT-2's), weights batched over another number of tasks, or bad options.
std::vector<std::vector<int64_t>> decoder_generate(const DecoderConfig& config, const DecoderWeights& weights,
                                                const std::vector<std::vector<int64_t>>& prompts,
                                                const GenerateOptions& options);

// Greedy decoding of all prompts as one left-padded batch (what decoder_generate does for 1 beam).
std::vector<std::vector<int64_t>> decoder_generate_greedy(const DecoderConfig& config,
                                                       const DecoderWeights& weights,
                                                       const std::vector<std::vector<int64_t>>& prompts,
                                                       const GenerateOptions& options);

// Beam search with options.num_beams beams (1 allowed: then it equals greedy decoding) for one
// prompt; returns the best finished hypothesis without prompt and EOS.
std::vector<int64_t> decoder_beam_search(const DecoderConfig& config, const DecoderWeights& weights,
                                      const std::vector<int64_t>& prompt,
                                      const GenerateOptions& options);

}  // namespace reckoning
