// Performance benchmarks of the two costs that matter to RECKONING's users (docs/PERFORMANCE.md):
//
// - meta step: one outer training step of one or more tasks on random tokens, built from the real
//   trainer pieces (trainer.h's task_loss = inner_loop + masked_lm_loss, or tasks_loss for a
//   task-batched step), then a torch::optim::AdamW step with
//   global gradient-norm clipping); reports seconds per step, peak resident memory, an analytic
//   matmul FLOP count and the achieved rate next to this machine's matmul peak measured in the
//   same process.
// - answer: the paper's run-time comparison (RECKONING.md section 7): answering Q questions about
//   one knowledge set by encoding it once into the weights (inner loop, then a short question per
//   answer) versus reading the whole knowledge in context for every question.
// Not here: accuracy (evaluate.h), real data (the benchmarks use random tokens and random weights:
// speed and memory do not depend on what the tokens mean).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/meta/inner_loop.h"
#include "reckoning/meta/inner_lrs.h"
#include "reckoning/model/decoder.h"
#include "reckoning/model/precision.h"

namespace reckoning {

struct MetaStepBenchConfig {
  std::string arch = "gpt2";   // model family: gpt2 | llama | mistral | qwen2 | qwen3
  int64_t n_kv_head = 0;       // Llama family: key/value heads (0 = n_head)
  int64_t n_inner = 0;         // Llama family: MLP width (0 = 4 n_embd)
  bool tied_head = true;       // Llama family: output head tied to the embedding
  int64_t n_layer = 2;
  int64_t n_embd = 128;
  int64_t n_head = 4;
  int64_t n_vocab = 50257;
  int64_t tasks = 1;           // tasks per step (each its own random facts and question)
  bool batched = true;         // the tasks through one task-batched inner loop (false: one after another)
  bool task_grads = false;     // batched: each task's meta-gradient apart, as outer.task_clip takes them
                               // (per-task replicas of the outer tensors, task_replicas), then summed
  int64_t facts = 8;           // fact sequences per task (the inner batch)
  int64_t fact_len = 24;       // tokens per fact, key included
  int64_t key_len = 4;         // leading conditioning tokens of a fact ("fact_i: "), not targets
  int64_t question_len = 32;   // question prompt tokens
  int64_t answer_len = 2;      // answer tokens appended to the prompt (the outer targets)
  int64_t inner_steps = 4;
  InnerOptimizer inner_optimizer = InnerOptimizer::AdamW;
  LrMode lr_mode = LrMode::PerTensor;
  bool first_order = false;
  bool fused = true;                      // the fused AdamW node (false: plain ops, the reference)
  double eps_root = 0;                    // inner.eps_root
  bool float64_update = false;            // inner.float64_update
  std::string adapt = "full";             // inner.adapt: full | lora | a regex of weight names
  int64_t lora_rank = 16;                 // with lora: rank, alpha, modules (lora.h)
  double lora_alpha = 32;
  std::string lora_targets = "all";
  bool train_base = true;                 // outer.train_base (false: a frozen base, lora only)
  int64_t unroll_from = 0;                // inner.unroll_from (truncated unrolling)
  int64_t fact_batch = 0;                 // inner.fact_batch (facts per inner-gradient chunk)
  std::string dtype = "float32";          // float32 | float64 | bfloat16 (weights and compute)
  MatmulDtype matmul_dtype = MatmulDtype::Float32;  // matrix products only (precision.h)
  int threads = 0;                        // 0 = as configured at the start (reckoning --threads, threads.h policy)
  int64_t warmup = 1;                     // unmeasured steps
  int64_t steps = 3;                      // measured steps
  bool dropout = true;                    // training mode (GPT-2's p = 0.1), as in meta-training
  double outer_clip = 1.0;
  uint64_t seed = 0;
  bool measure_peak = true;               // also time this machine's matmul peak
  std::string device = "cpu";             // cpu | cuda | cuda:N (device.h)
};

// The shapes of published models for `bench meta-step --shape` (random weights): smollm-135m,
// qwen2.5-0.5b, llama-3.2-1b (their config.json: layers, width, heads, key/value heads, MLP width,
// vocabulary, tied head), set into `b`. Throws naming the shape for an unknown one.
void meta_step_shape(MetaStepBenchConfig& b, const std::string& shape);

// The model a meta-step benchmark runs, with room for `n_ctx` positions.
DecoderConfig meta_step_model_config(const MetaStepBenchConfig& b, int64_t n_ctx);

// Analytic matmul FLOPs of one meta step (only matrix products: projections, attention scores
// and mixing, the tied head at target positions). Per inner step with F the forward FLOPs of the
// facts: forward F, inner backward 2F, and in second order the outer backward through both, 6F
// (9F in all); first order and evaluation 3F. The question: forward and backward, 3F_q.
struct MetaStepFlops {
  double fact_forward = 0;      // F of one inner forward over the facts
  double question_forward = 0;  // F_q
  double total = 0;             // one meta step
};
MetaStepFlops meta_step_flops(const MetaStepBenchConfig& config);

// Runs the benchmark; returns the JSON object that `reckoning bench meta-step` prints: the
// configuration, seconds_median, seconds_min, tasks_per_second (tasks / seconds_median), peak_rss_bytes (VmHWM of the whole process),
// rss_before_bytes (after the model is built), rss_growth_bytes (resident memory after the last
// measured step minus after the first), flops, gflops_per_s (flops / seconds_median),
// matmul_peak_gflops and peak_fraction. Throws reckoning::Error for bad settings.
nlohmann::json bench_meta_step(const MetaStepBenchConfig& config);

// The median of `values` (the mean of the two middle ones for an even count; 0 for none).
double median(std::vector<double> values);

// The best of a few timed (n x n) @ (n x n) products in `dtype` on the current threads, GFLOP/s.
double matmul_peak_gflops(const std::string& dtype, int64_t n = 1024, double seconds = 1.0,
                          const torch::Device& device = torch::Device(torch::kCPU));

struct AnswerBenchConfig {
  int64_t n_layer = 12;
  int64_t n_embd = 768;
  int64_t n_head = 12;
  int64_t n_vocab = 50257;
  int64_t n_ctx = 1024;
  int64_t facts = 8;
  int64_t fact_len = 127;
  int64_t key_len = 4;
  int64_t question_len = 7;
  int64_t answer_len = 1;       // generated tokens per question
  int64_t inner_steps = 1;      // the paper's timing: one inner step, then the question
  std::vector<int64_t> questions = {1, 4, 18};
  int threads = 0;
  uint64_t seed = 0;
};

// Returns {config, encode_seconds, reckoning_per_question_seconds, icr_per_question_seconds,
// by_questions: [{questions, reckoning_seconds, icr_seconds, speedup}], break_even_questions}.
// The totals for Q questions are measured cumulatively over one pass of max(Q) questions.
nlohmann::json bench_answer(const AnswerBenchConfig& config);

// Evaluation throughput of a trained model on real tasks: `reckoning eval` (evaluate.h) with each
// eval.batch_tasks setting, the settings alternated `repeat` times in one process.
struct EvalBenchConfig {
  std::string model;                         // model directory
  std::string data;                          // canonical task JSONL
  std::vector<int64_t> batch_tasks = {1, 8};
  int64_t max_tasks = 64;                    // an even-stride subsample (0 = all)
  int64_t repeat = 1;
  int threads = 0;
};

// Returns {config, tasks, by_batch: [{batch_tasks, seconds (median), tasks_per_second,
// label_accuracy, same_predictions (as the first setting's)}], speedup (best over the first)}.
nlohmann::json bench_eval(const EvalBenchConfig& config);

}  // namespace reckoning
