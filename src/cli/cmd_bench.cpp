// `reckoning bench meta-step`, `reckoning bench answer` and `reckoning bench meta-grad`: thin
// wrappers over benchmark.h and meta_grad.h, one JSON line each on stdout.
#include <iostream>

#include "command.h"
#include "reckoning/base/io.h"
#include "reckoning/perf/benchmark.h"
#include "reckoning/perf/meta_grad.h"

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
      app.add_option("--arch", c->arch, "Model family: gpt2, llama, mistral, qwen2 or qwen3")
          ->check(CLI::IsMember({"gpt2", "llama", "mistral", "qwen2", "qwen3"}));
      app.add_option("--kv-heads", c->n_kv_head, "Llama family: key/value heads (default: --heads)")
          ->check(CLI::PositiveNumber);
      app.add_option("--inner", c->n_inner, "Llama family: MLP width (default: 4 x --width)")->check(CLI::PositiveNumber);
      app.add_flag("--untied-head{false}", c->tied_head, "Llama family: a separate lm_head (default: tied)");
      auto shape = std::make_shared<std::string>();
      app.add_option("--shape", *shape,
                     "A published model's shape, random weights: smollm-135m, qwen2.5-0.5b or llama-3.2-1b "
                     "(sets --arch, --layers unless given, --width, --heads, --kv-heads, --inner, --vocab)");
      CLI::App* self = &app;
      app.parse_complete_callback([c, shape, self] {
        if (shape->empty()) return;
        const int64_t layers = c->n_layer;  // --layers given with --shape keeps its value (a shallower model)
        meta_step_shape(*c, *shape);
        if (self->count("--layers") > 0) c->n_layer = layers;
      });
      app.add_option("--tasks", c->tasks, "Tasks per step (one task-batched inner loop; see --sequential)")
          ->check(CLI::PositiveNumber);
      app.add_flag("--sequential{false}", c->batched, "With --tasks: one task after another (outer.batched false)");
      app.add_flag("--task-grads", c->task_grads,
                   "With --tasks, batched: each task's meta-gradient apart, as outer.task_clip needs them (per-task "
                   "replicas of the outer tensors), then summed");
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
      app.add_option("--eps-root", c->eps_root, "Inner AdamW epsilon inside the square root (inner.eps_root)")
          ->check(CLI::NonNegativeNumber);
      app.add_flag("--float64-update", c->float64_update,
                   "Inner AdamW update and its derivatives in float64 (inner.float64_update)");
      app.add_option("--adapt", c->adapt, "What the inner loop adapts: full, lora, or a regex of weight names (inner.adapt)");
      app.add_option("--lora-rank", c->lora_rank, "LoRA rank (with --adapt lora)")->check(CLI::PositiveNumber);
      app.add_option("--lora-alpha", c->lora_alpha, "LoRA alpha (update scale alpha / rank)")->check(CLI::PositiveNumber);
      app.add_option("--lora-targets", c->lora_targets,
                     "Modules with adapters: attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, c_proj (GPT-2), q_proj, "
                     "k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj (Llama family) or all");
      app.add_flag("--frozen-base{false}", c->train_base, "With --adapt lora: the base weights get no outer gradient");
      app.add_option("--unroll-from", c->unroll_from, "Truncated unrolling: the first K inner steps first order")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--fact-batch", c->fact_batch, "Facts per inner-gradient chunk (0 = all)")->check(CLI::NonNegativeNumber);
      app.add_option("--dtype", c->dtype, "Weights and compute dtype")
          ->check(CLI::IsMember({"float32", "float64", "bfloat16"}));
      app.add_option("--device", c->device, "cpu, cuda or cuda:N (a CUDA LibTorch build)");
      cli::add_enum_option(app, "--matmul-dtype", c->matmul_dtype,
                           "Matrix products only: bfloat16 = mixed precision (float32 weights, states, norms, losses)");
      app.add_option("--threads", c->threads, "Intra-op threads (default: RECKONING_THREADS or the CPUs this process may use)")
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

const cli::RegisterCommand eval_command(
    "bench eval",
    "Evaluation throughput of a trained model on real tasks for each --batch-tasks setting, side by side; one JSON line",
    902, [](CLI::App& app) -> std::function<int()> {
      auto c = std::make_shared<EvalBenchConfig>();
      app.add_option("--model", c->model, "Model directory")->required()->check(CLI::ExistingDirectory);
      app.add_option("--data", c->data, "Tasks (canonical JSONL)")->required()->check(CLI::ExistingFile);
      app.add_option("--batch-tasks", c->batch_tasks, "eval.batch_tasks settings to compare (e.g. 1 8 16)")
          ->check(CLI::PositiveNumber);
      app.add_option("--max-tasks", c->max_tasks, "Evaluate at most this many tasks (0 = all)")->check(CLI::NonNegativeNumber);
      app.add_option("--repeat", c->repeat, "Rounds over the settings (alternated; the median is reported)")
          ->check(CLI::PositiveNumber);
      app.add_option("--threads", c->threads, "Intra-op threads")->check(CLI::NonNegativeNumber);
      return [c] {
        std::cout << bench_eval(*c).dump() << std::endl;
        return 0;
      };
    });

struct MetaGradArgs {
  std::string config, out;
  std::vector<std::string> sets;
  int64_t steps = 100, top = 3;
};

const cli::RegisterCommand meta_grad_command(
    "bench meta-grad",
    "Train a recipe's first steps and compare every task's meta-gradient in float32 against float64; one JSON line",
    903, [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<MetaGradArgs>();
      app.add_option("--config", a->config, "YAML configuration of the run (keys: docs/TRAINING.md)")
          ->required()
          ->check(CLI::ExistingFile);
      app.add_option("--set", a->sets, "Override a key: --set inner.float64_update=true (repeatable)");
      app.add_option("--steps", a->steps, "Optimizer steps to train and diagnose")->check(CLI::PositiveNumber);
      app.add_option("--top", a->top, "Tensors listed per task (largest shares)")->check(CLI::NonNegativeNumber);
      app.add_option("--out", a->out, "Also write one JSON line per step (every task's comparison) to this file");
      return [a] {
        MetaGradBenchConfig c;
        c.run = run_config_load(a->config);
        for (const auto& s : a->sets) run_config_set(c.run, s, "--set");
        c.steps = a->steps;
        c.top = a->top;
        std::string lines;
        const nlohmann::json summary = bench_meta_grad(c, [&](const nlohmann::json& line) {
          lines += line.dump() + "\n";
          std::cerr << "step " << line.at("step").get<int64_t>() << "  max float32 error "
                    << 100 * line.at("max_rel_error").get<double>() << " %\n";
        });
        if (!a->out.empty()) write_file_atomic(a->out, lines);
        std::cout << summary.dump() << std::endl;
        return 0;
      };
    });

}  // namespace
