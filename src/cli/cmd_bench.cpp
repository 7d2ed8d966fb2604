// `reckoning bench meta-step` and `reckoning bench answer`: thin wrappers over benchmark.h, one
// JSON line each on stdout.
#include <iostream>

#include "command.h"
#include "reckoning/perf/benchmark.h"

namespace {

using namespace reckoning;

void add_model_options(CLI::App& app, int64_t& n_layer, int64_t& n_embd, int64_t& n_head, int64_t& n_vocab) {
  app.add_option("--layers", n_layer, "Transformer blocks (n_layer)")->check(CLI::PositiveNumber);
  app.add_option("--width", n_embd, "Model width (n_embd)")->check(CLI::PositiveNumber);
  app.add_option("--heads", n_head, "Attention heads (n_head)")->check(CLI::PositiveNumber);
  app.add_option("--vocab", n_vocab, "Vocabulary size (n_vocab)")->check(CLI::PositiveNumber);
}

const cli::RegisterCommand meta_step_command(
    "bench meta-step",
    "Time one meta-training step (inner loop + outer AdamW) on random tokens; one JSON line", 900,
    [](CLI::App& app) -> std::function<int()> {
      auto c = std::make_shared<MetaStepBenchConfig>();
      add_model_options(app, c->n_layer, c->n_embd, c->n_head, c->n_vocab);
      app.add_option("--facts", c->facts, "Fact sequences per task")->check(CLI::PositiveNumber);
      app.add_option("--fact-len", c->fact_len, "Tokens per fact (key included)")->check(CLI::PositiveNumber);
      app.add_option("--key-len", c->key_len, "Leading key tokens per fact (not targets)")->check(CLI::PositiveNumber);
      app.add_option("--question-len", c->question_len, "Question prompt tokens")->check(CLI::PositiveNumber);
      app.add_option("--answer-len", c->answer_len, "Answer tokens (outer targets)")->check(CLI::PositiveNumber);
      app.add_option("--inner-steps", c->inner_steps, "Inner steps")->check(CLI::NonNegativeNumber);
      cli::add_enum_option(app, "--inner-optimizer", c->inner_optimizer, "Inner optimizer");
      cli::add_enum_option(app, "--lr-mode", c->lr_mode, "Learned-rate mode");
      app.add_flag("--first-order", c->first_order, "First-order meta-gradient (default: second order)");
      app.add_flag("--no-fused{false}", c->fused, "Inner AdamW as plain ops (the reference) instead of the fused node");
      app.add_option("--dtype", c->dtype, "Weights and compute dtype")
          ->check(CLI::IsMember({"float32", "float64", "bfloat16"}));
      app.add_option("--device", c->device, "cpu, cuda or cuda:N (a CUDA LibTorch build)");
      cli::add_enum_option(app, "--matmul-dtype", c->matmul_dtype,
                           "Matrix products only: bfloat16 = mixed precision (float32 weights, states, norms, losses)");
      app.add_option("--threads", c->threads, "Intra-op threads (default: RECKONING_THREADS or all cores)")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--warmup", c->warmup, "Unmeasured warm-up steps")->check(CLI::NonNegativeNumber);
      app.add_option("--steps", c->steps, "Measured steps")->check(CLI::PositiveNumber);
      app.add_option("--outer-clip", c->outer_clip, "Outer gradient-norm clip (0 = off)")->check(CLI::NonNegativeNumber);
      app.add_option("--seed", c->seed, "Seed for weights, tokens and dropout");
      bool no_dropout = false, no_peak = false;
      auto flags = std::make_shared<std::pair<bool, bool>>(no_dropout, no_peak);
      app.add_flag("--no-dropout", flags->first, "Dropout off (default: on, as in meta-training)");
      app.add_flag("--no-peak", flags->second, "Skip measuring the matmul peak");
      return [c, flags] {
        c->dropout = !flags->first;
        c->measure_peak = !flags->second;
        std::cout << bench_meta_step(*c).dump() << std::endl;
        return 0;
      };
    });

const cli::RegisterCommand answer_command(
    "bench answer",
    "Time answering Q questions by encoding knowledge once vs reading it in context; one JSON line", 901,
    [](CLI::App& app) -> std::function<int()> {
      auto c = std::make_shared<AnswerBenchConfig>();
      add_model_options(app, c->n_layer, c->n_embd, c->n_head, c->n_vocab);
      app.add_option("--ctx", c->n_ctx, "Context length (n_ctx)")->check(CLI::PositiveNumber);
      app.add_option("--facts", c->facts, "Facts in the knowledge set")->check(CLI::PositiveNumber);
      app.add_option("--fact-len", c->fact_len, "Tokens per fact")->check(CLI::PositiveNumber);
      app.add_option("--key-len", c->key_len, "Leading key tokens per fact")->check(CLI::PositiveNumber);
      app.add_option("--question-len", c->question_len, "Question tokens")->check(CLI::PositiveNumber);
      app.add_option("--answer-len", c->answer_len, "Generated answer tokens")->check(CLI::PositiveNumber);
      app.add_option("--inner-steps", c->inner_steps, "Inner steps of the encoding")->check(CLI::NonNegativeNumber);
      app.add_option("--questions", c->questions, "Question counts Q to report (e.g. 1 4 18)")
          ->check(CLI::PositiveNumber);
      app.add_option("--threads", c->threads, "Intra-op threads")->check(CLI::NonNegativeNumber);
      app.add_option("--seed", c->seed, "Seed");
      return [c] {
        std::cout << bench_answer(*c).dump() << std::endl;
        return 0;
      };
    });

}  // namespace
