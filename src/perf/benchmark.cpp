// Meta-step and answering benchmarks; see benchmark.h.
#include "reckoning/perf/benchmark.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include <torch/torch.h>

#include "reckoning/base/cpu_allocator.h"
#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/eval/answer.h"
#include "reckoning/eval/evaluate.h"
#include "reckoning/eval/labels.h"
#include "reckoning/model/generate.h"
#include "reckoning/model/lora.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/model/precision.h"
#include "reckoning/meta/reckoning_model.h"
#include "reckoning/base/resources.h"
#include "reckoning/base/threads.h"
#include "reckoning/train/trainer.h"

namespace reckoning {

namespace {

// The caching CPU allocator's budget and counters (cpu_allocator.h), or null when not installed.
nlohmann::json cpu_allocator_json() {
  const CpuAllocatorStats a = cpu_allocator_stats();
  if (!a.installed) return nullptr;
  return {{"cache_budget_bytes", a.cache_budget_bytes}, {"large_allocations", a.large_allocations},
          {"cache_hits", a.cache_hits}, {"peak_cached_bytes", a.peak_cached_bytes}, {"fallbacks", a.fallbacks},
          {"peak_live_bytes", a.peak_live_bytes}};
}

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

torch::Dtype dtype_parse(const std::string& text) {
  if (text == "float32") return torch::kFloat32;
  if (text == "float64") return torch::kFloat64;
  if (text == "bfloat16") return torch::kBFloat16;
  throw_error("bench: dtype", "one of float32, float64, bfloat16", str("'", text, "'"));
}

// Forward matmul FLOPs over B sequences of T tokens with N logit positions: the projections of
// each layer, attention scores and mixing over all heads, the head at the N positions.
double forward_flops(const DecoderConfig& c, double B, double T, double N) {
  const double C = static_cast<double>(c.hidden_size()), I = static_cast<double>(c.mlp_size());
  double projections = 0, heads_width = C;  // per token: weights touched; q width of all heads
  if (c.is_gpt2()) {
    projections = 4 * C * C + 2 * C * I;  // c_attn (3C^2), c_proj (C^2), MLP (C x 4C twice)
  } else {
    const double q = static_cast<double>(c.llama().q_dim()), kv = static_cast<double>(c.llama().kv_dim());
    projections = C * (q + 2 * kv) + q * C + 3 * C * I;  // q, k, v, o; gate, up, down
    heads_width = q;
  }
  const double per_layer = 2 * B * T * projections + 4 * B * T * T * heads_width;
  return static_cast<double>(c.n_layer()) * per_layer + 2 * N * C * static_cast<double>(c.vocab_size());
}

DecoderConfig bench_gpt2_config(int64_t n_layer, int64_t n_embd, int64_t n_head, int64_t n_vocab, int64_t n_ctx) {
  Gpt2Config c;
  c.n_layer = n_layer;
  c.n_embd = n_embd;
  c.n_head = n_head;
  c.n_vocab = n_vocab;
  c.n_ctx = n_ctx;
  c.bos_token_id = c.eos_token_id = n_vocab - 1;
  c.validate("bench");
  return c;
}

// Random ids (B, T) with the first `key_len` positions as conditioning and the rest as targets.
LmBatch random_batch(const DecoderConfig& c, int64_t B, int64_t T, int64_t key_len) {
  LmBatch batch;
  batch.ids = torch::randint(c.vocab_size(), {B, T}, torch::dtype(torch::kLong));       // (B, T)
  batch.attn_mask = torch::ones({B, T}, torch::dtype(torch::kLong));               // (B, T)
  batch.target_mask = torch::zeros({B, T}, torch::dtype(torch::kBool));            // (B, T)
  batch.target_mask.slice(1, key_len).fill_(true);
  return batch;
}

void check_positive(int64_t value, const char* field) {
  check(value > 0, str("bench: ", field), "a positive number", std::to_string(value));
}

}  // namespace

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void meta_step_shape(MetaStepBenchConfig& b, const std::string& shape) {
  struct Shape {
    const char* name;
    const char* arch;
    int64_t layers, width, heads, kv_heads, inner, vocab;
  };
  // From the published config.json files (all three tie the head to the embedding).
  static const Shape shapes[] = {
      {"smollm-135m", "llama", 30, 576, 9, 3, 1536, 49152},
      {"qwen2.5-0.5b", "qwen2", 24, 896, 14, 2, 4864, 151936},
      {"llama-3.2-1b", "llama", 16, 2048, 32, 8, 8192, 128256},
  };
  for (const Shape& s : shapes) {
    if (shape != s.name) continue;
    b.arch = s.arch;
    b.n_layer = s.layers;
    b.n_embd = s.width;
    b.n_head = s.heads;
    b.n_kv_head = s.kv_heads;
    b.n_inner = s.inner;
    b.n_vocab = s.vocab;
    b.tied_head = true;
    return;
  }
  throw_error("bench: --shape", "smollm-135m, qwen2.5-0.5b or llama-3.2-1b", str("'", shape, "'"));
}

DecoderConfig meta_step_model_config(const MetaStepBenchConfig& b, int64_t n_ctx) {
  if (b.arch == "gpt2") return bench_gpt2_config(b.n_layer, b.n_embd, b.n_head, b.n_vocab, n_ctx);
  check(llama_family_model_type(b.arch), "bench: --arch", "gpt2, llama, mistral, qwen2 or qwen3", str("'", b.arch, "'"));
  LlamaConfig c = llama_config_for(b.arch, b.n_layer, b.n_embd, b.n_head, b.n_kv_head > 0 ? b.n_kv_head : b.n_head,
                                   b.n_inner > 0 ? b.n_inner : 4 * b.n_embd, b.n_vocab, n_ctx);
  c.tie_word_embeddings = b.tied_head;
  c.eos_token_id = b.n_vocab - 1;
  c.validate("bench");
  return c;
}

MetaStepFlops meta_step_flops(const MetaStepBenchConfig& b) {
  const DecoderConfig c = meta_step_model_config(b, std::max<int64_t>(1024, std::max(b.fact_len, b.question_len + b.answer_len)));
  MetaStepFlops f;
  f.fact_forward = forward_flops(c, static_cast<double>(b.facts), static_cast<double>(b.fact_len),
                                 static_cast<double>(b.facts * (b.fact_len - b.key_len)));
  f.question_forward = forward_flops(c, 1, static_cast<double>(b.question_len + b.answer_len),
                                     static_cast<double>(b.answer_len));
  const double per_inner = b.first_order ? 3 : 9;
  f.total = static_cast<double>(b.inner_steps) * per_inner * f.fact_forward + 3 * f.question_forward;
  return f;
}

double matmul_peak_gflops(const std::string& dtype, int64_t n, double seconds, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const torch::Dtype t = dtype_parse(dtype);
  const auto options = torch::dtype(t).device(device);
  torch::Tensor a = torch::randn({n, n}).to(options), b = torch::randn({n, n}).to(options);
  torch::Tensor out = torch::empty({n, n}, options);
  torch::mm_out(out, a, b);  // warm-up
  device_synchronize(device);
  double best = 0;
  const auto start = Clock::now();
  int reps = 0;
  // A GPU product of n = 1024 takes microseconds: time batches of them.
  const int batch = device.is_cpu() ? 1 : 50;
  while (reps < 3 || seconds_since(start) < seconds) {
    const auto t0 = Clock::now();
    for (int i = 0; i < batch; ++i) torch::mm_out(out, a, b);
    device_synchronize(device);
    best = std::max(best, batch * 2.0 * n * n * n / seconds_since(t0) / 1e9);
    ++reps;
  }
  return best;
}

nlohmann::json bench_meta_step(const MetaStepBenchConfig& b) {
  check_positive(b.facts, "facts");
  check_positive(b.question_len, "question length");
  check_positive(b.answer_len, "answer length");
  check_positive(b.steps, "measured steps");
  check(b.warmup >= 0, "bench: warm-up steps", "a non-negative number", std::to_string(b.warmup));
  check(b.inner_steps >= 0, "bench: inner steps", "a non-negative number", std::to_string(b.inner_steps));
  check(b.key_len >= 1 && b.key_len < b.fact_len, "bench: key length",
        str("between 1 and fact length - 1 = ", b.fact_len - 1), std::to_string(b.key_len));
  if (b.threads > 0) configure_threads(b.threads);  // else what the command line's start chose
  const torch::Device device = device_parse(b.device, "bench: device");
  const torch::Dtype dtype = dtype_parse(b.dtype);
  const MatmulDtype matmul_dtype = b.matmul_dtype;
  const MatmulDtypeScope matmul_scope(matmul_dtype);
  torch::manual_seed(b.seed);

  ReckoningModel model;
  model.config = meta_step_model_config(b, std::max<int64_t>(1024, std::max(b.fact_len, b.question_len + b.answer_len)));
  fit_default_threads(model.config);
  const int threads = at::get_num_threads();
  model.run.inner_optimizer = b.inner_optimizer;
  model.run.inner_first_order = b.first_order;
  model.run.inner_fused = b.fused;
  model.run.inner_eps_root = b.eps_root;
  model.run.inner_float64_update = b.float64_update;
  model.run.inner_dropout = b.dropout;
  model.run.inner_adapt = b.adapt;
  model.run.inner_unroll_from = b.unroll_from;
  model.run.inner_fact_batch = b.fact_batch;
  model.run.outer_train_base = b.train_base;
  const bool lora = inner_adapts_lora(model.inner());
  check(lora || b.train_base, "bench: --frozen-base", "--adapt lora (nothing else would be trained)", b.adapt);
  model.weights = decoder_init(model.config, b.seed, dtype);
  if (lora) {
    LoraConfig adapters;
    adapters.rank = b.lora_rank;
    adapters.alpha = b.lora_alpha;
    adapters.targets = lora_targets_parse(b.lora_targets, "bench: --lora-targets");
    lora_attach(model.weights, adapters, b.seed + 1);
    // As the adapters' initial values after meta-training: b nonzero, so every adapter tensor has
    // an inner gradient from the first step (b = 0 would make a's first gradient zero).
    lora_visit(model.weights, [](const std::string&, torch::Tensor& t) {
      if (t.abs().max().item<double>() == 0) t = torch::randn_like(t) * 0.01;
    });
  }
  model.weights = decoder_map(model.weights, [](const torch::Tensor& t) { return t.detach().requires_grad_(true); });
  if (!b.train_base) decoder_visit(model.weights, [](const std::string&, torch::Tensor& t) { t = t.detach(); });
  model.lrs = inner_lrs_init(inner_rate_specs(model.config, model.inner(), model.weights), model.config.n_layer(),
                             b.lr_mode, b.inner_steps, 1e-5, false, dtype);
  reckoning_model_to(model, device);

  std::vector<torch::Tensor> params;
  if (b.train_base) params = decoder_flatten(model.weights);
  for (const torch::Tensor& t : lora_flatten(model.weights)) params.push_back(t);
  if (model.lrs.learned()) params.push_back(model.lrs.values);
  torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-5).weight_decay(0.01));

  check_positive(b.tasks, "tasks");
  check(!b.task_grads || b.batched, "bench: --task-grads", "the batched path (not with --sequential)", "--sequential");
  std::vector<EncodedTask> tasks(static_cast<size_t>(b.tasks));
  for (EncodedTask& t : tasks) {
    t.facts = random_batch(model.config, b.facts, b.fact_len, b.key_len);
    t.question = random_batch(model.config, 1, b.question_len + b.answer_len, b.question_len);
  }
  const EncodedTask& task = tasks.front();
  std::vector<const EncodedTask*> all;
  for (const EncodedTask& t : tasks) all.push_back(&t);
  const InnerMode mode = b.first_order ? InnerMode::FirstOrder : InnerMode::SecondOrder;
  const double per_task = 1.0 / static_cast<double>(b.tasks);

  const int64_t rss_before = resident_memory_bytes();
  device_reset_peak_memory(device);
  std::vector<double> times;
  std::vector<int64_t> rss_after;
  double last_loss = 0;
  for (int64_t s = 0; s < b.warmup + b.steps; ++s) {
    const auto start = Clock::now();
    release_gradients(optimizer);
    // The step's loss: the tasks' mean, as the trainer averages them (one graph at a time when
    // they go one after another).
    torch::Tensor loss;
    if (b.batched && b.tasks > 1 && b.task_grads) {
      // As the trainer takes them for outer.task_clip: one replica per task, one backward, each
      // task's rows (here unclipped: the mean's gradient, scale 1) summed into the gradients.
      const TaskReplicas replicas = task_replicas(model, b.tasks);
      loss = tasks_loss(replicas.model, all, mode, b.dropout).mean();
      add_task_gradients(replicas, task_replica_gradients(replicas, loss), std::vector<double>(static_cast<size_t>(b.tasks), 1.0));
    } else if (b.batched && b.tasks > 1) {
      loss = tasks_loss(model, all, mode, b.dropout).mean();
      loss.backward();
    } else {
      for (const EncodedTask& t : tasks) {
        torch::Tensor one = task_loss(model, t, mode, b.dropout) * per_task;
        one.backward();
        loss = loss.defined() ? loss.detach() + one.detach() : one.detach();
      }
    }
    if (b.outer_clip > 0) torch::nn::utils::clip_grad_norm_(params, b.outer_clip);
    optimizer.step();
    last_loss = loss.item<double>();
    device_synchronize(device);
    const double elapsed = seconds_since(start);
    check(std::isfinite(last_loss), "bench: outer loss", "a finite number", std::to_string(last_loss));
    if (s >= b.warmup) {
      times.push_back(elapsed);
      rss_after.push_back(resident_memory_bytes());
    }
  }
  // The knowledge file this model writes for one task's facts (`reckoning answer --save-knowledge`):
  // what the inner loop changed - every adapted weight, or only the adapters.
  int64_t knowledge_bytes = 0;
  {
    Knowledge knowledge;
    knowledge.weights = inner_loop(model.config, model.weights, model.lrs, model.inner(), task.facts,
                                   InnerMode::Evaluate, false).weights;
    knowledge.facts = {"(random tokens)"};
    char pattern[] = "/tmp/reckoning-bench-knowledge.XXXXXX";
    const int fd = ::mkstemp(pattern);
    check(fd >= 0, pattern, "a temporary file", "mkstemp failed");
    ::close(fd);
    knowledge_save(model, knowledge, pattern);
    struct stat written {};
    check(::stat(pattern, &written) == 0, pattern, "the knowledge file just written", "no such file");
    knowledge_bytes = static_cast<int64_t>(written.st_size);
    remove_file(pattern);
  }
  const MetaStepFlops flops = meta_step_flops(b);
  const double t_median = median(times);
  const double achieved = flops.total * static_cast<double>(b.tasks) / t_median / 1e9;
  // The peak of the dtype the products actually run in.
  const double peak =
      b.measure_peak ? matmul_peak_gflops(matmul_dtype == MatmulDtype::BFloat16 ? "bfloat16" : b.dtype,
                                          device.is_cpu() ? 1024 : 8192, 1.0, device)
                     : 0.0;
  const int64_t device_peak = device_peak_memory_bytes(device);
  nlohmann::json config = {
      {"arch", b.arch}, {"n_layer", b.n_layer}, {"n_embd", b.n_embd}, {"n_head", b.n_head}, {"n_vocab", b.n_vocab},
      {"n_kv_head", model.config.is_gpt2() ? nlohmann::json(nullptr) : nlohmann::json(model.config.llama().num_key_value_heads)},
      {"n_inner", model.config.mlp_size()}, {"tasks", b.tasks}, {"batched", b.batched}, {"task_grads", b.task_grads}, {"facts", b.facts}, {"fact_len", b.fact_len}, {"key_len", b.key_len},
      {"question_len", b.question_len}, {"answer_len", b.answer_len}, {"inner_steps", b.inner_steps},
      {"inner_optimizer", enum_name(b.inner_optimizer)}, {"lr_mode", enum_name(b.lr_mode)}, {"first_order", b.first_order}, {"fused", b.fused},
      {"eps_root", b.eps_root}, {"float64_update", b.float64_update}, {"adapt", b.adapt},
      {"lora_rank", lora ? nlohmann::json(b.lora_rank) : nlohmann::json(nullptr)},
      {"lora_alpha", lora ? nlohmann::json(b.lora_alpha) : nlohmann::json(nullptr)},
      {"lora_targets", lora ? nlohmann::json(b.lora_targets) : nlohmann::json(nullptr)},
      {"train_base", b.train_base}, {"unroll_from", b.unroll_from}, {"fact_batch", b.fact_batch},
      {"dtype", b.dtype}, {"matmul_dtype", enum_name(b.matmul_dtype)}, {"threads", threads}, {"threads_why", thread_summary()}, {"warmup", b.warmup}, {"steps", b.steps},
      {"dropout", b.dropout}, {"outer_clip", b.outer_clip}, {"seed", b.seed}, {"device", device_name(device)}};
  nlohmann::json out = {
      {"benchmark", "meta-step"},
      {"config", config},
      {"parameters", decoder_parameter_count(model.weights)},
      {"adapter_parameters", lora_parameter_count(model.weights)},
      {"knowledge_bytes", knowledge_bytes},
      {"outer_parameters", [&] {
         int64_t n = 0;
         for (const torch::Tensor& p : params) n += p.numel();
         return n;
       }()},
      {"seconds_median", t_median},
      {"seconds_min", *std::min_element(times.begin(), times.end())},
      {"tasks_per_second", static_cast<double>(b.tasks) / t_median},
      {"peak_rss_bytes", peak_resident_memory_bytes()},
      {"device_peak_bytes", device_peak >= 0 ? nlohmann::json(device_peak) : nlohmann::json(nullptr)},
      {"rss_before_bytes", rss_before},
      {"rss_growth_bytes", rss_after.back() - rss_after.front()},
      // The analytic count is the full inner loop's (every weight's gradient); with adapters the
      // work differs, so no count is claimed for them.
      {"flops", lora ? nlohmann::json(nullptr) : nlohmann::json(flops.total * static_cast<double>(b.tasks))},
      {"gflops_per_s", lora ? nlohmann::json(nullptr) : nlohmann::json(achieved)},
      {"matmul_peak_gflops", peak},
      {"peak_fraction", peak > 0 && !lora ? achieved / peak : 0.0},
      {"loss", last_loss},
      {"cpu_allocator", cpu_allocator_json()}};
  return out;
}

nlohmann::json bench_answer(const AnswerBenchConfig& b) {
  check(!b.questions.empty(), "bench answer: questions", "at least one count", "none");
  for (int64_t q : b.questions) check_positive(q, "question count");
  check_positive(b.facts, "facts");
  check_positive(b.answer_len, "answer length");
  check(b.key_len >= 1 && b.key_len < b.fact_len, "bench answer: key length",
        str("between 1 and fact length - 1 = ", b.fact_len - 1), std::to_string(b.key_len));
  const int64_t context_len = b.facts * b.fact_len + b.question_len + b.answer_len;
  check(context_len <= b.n_ctx, "bench answer: facts x fact length + question + answer",
        str("at most n_ctx = ", b.n_ctx, " tokens (in-context reading must fit)"), std::to_string(context_len));
  if (b.threads > 0) configure_threads(b.threads);  // else what the command line's start chose
  torch::manual_seed(b.seed);
  const DecoderConfig config = bench_gpt2_config(b.n_layer, b.n_embd, b.n_head, b.n_vocab, b.n_ctx);
  fit_default_threads(config);
  const int threads = at::get_num_threads();
  const DecoderWeights weights = decoder_init(config, b.seed);
  const InnerLrs lrs = inner_lrs_init(config, LrMode::PerTensor, b.inner_steps, 1e-5, false);
  const LmBatch facts = random_batch(config, b.facts, b.fact_len, b.key_len);
  const int64_t q_max = *std::max_element(b.questions.begin(), b.questions.end());
  const torch::Tensor questions = torch::randint(config.vocab_size(), {q_max, b.question_len}, torch::dtype(torch::kLong));
  GenerateOptions generate;
  generate.max_new_tokens = b.answer_len;
  generate.stop_at_eos = false;
  auto to_vector = [](const torch::Tensor& t) {
    return std::vector<int64_t>(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + t.numel());
  };

  // RECKONING: encode once, then each question alone with the adapted weights.
  auto start = Clock::now();
  const DecoderWeights adapted =
      inner_loop(config, weights, lrs, InnerLoopConfig{}, facts, InnerMode::Evaluate, false).weights;
  const double encode = seconds_since(start);
  std::vector<double> reckoning_each, icr_each;
  for (int64_t q = 0; q < q_max; ++q) {
    start = Clock::now();
    decoder_generate(config, adapted, {to_vector(questions[q].contiguous())}, generate);
    reckoning_each.push_back(seconds_since(start));
  }
  // In context: every fact (keys included, as the facts are laid out) then the question.
  const torch::Tensor context = facts.ids.reshape({-1});  // (facts * fact_len)
  for (int64_t q = 0; q < q_max; ++q) {
    start = Clock::now();
    decoder_generate(config, weights, {to_vector(torch::cat({context, questions[q]}).contiguous())}, generate);
    icr_each.push_back(seconds_since(start));
  }

  nlohmann::json rows = nlohmann::json::array();
  for (int64_t q : b.questions) {
    double reckoning = encode, icr = 0;
    for (int64_t i = 0; i < q; ++i) {
      reckoning += reckoning_each[static_cast<size_t>(i)];
      icr += icr_each[static_cast<size_t>(i)];
    }
    rows.push_back({{"questions", q}, {"reckoning_seconds", reckoning}, {"icr_seconds", icr},
                    {"speedup", icr / reckoning}});
  }
  const double per_reckoning = median(reckoning_each), per_icr = median(icr_each);
  const double break_even = per_icr > per_reckoning ? encode / (per_icr - per_reckoning) : -1.0;
  nlohmann::json cfg = {{"n_layer", b.n_layer}, {"n_embd", b.n_embd}, {"n_head", b.n_head},
                        {"n_vocab", b.n_vocab}, {"n_ctx", b.n_ctx}, {"facts", b.facts},
                        {"fact_len", b.fact_len}, {"key_len", b.key_len}, {"question_len", b.question_len},
                        {"answer_len", b.answer_len}, {"inner_steps", b.inner_steps}, {"threads", threads},
                        {"seed", b.seed}};
  return {{"benchmark", "answer"},
          {"config", cfg},
          {"context_tokens", context_len - b.answer_len},
          {"encode_seconds", encode},
          {"reckoning_per_question_seconds", per_reckoning},
          {"icr_per_question_seconds", per_icr},
          {"by_questions", rows},
          {"break_even_questions", break_even},
          {"peak_rss_bytes", peak_resident_memory_bytes()}};
}

nlohmann::json bench_eval(const EvalBenchConfig& b) {
  check(!b.batch_tasks.empty(), "bench eval: --batch-tasks", "at least one setting", "none");
  for (int64_t n : b.batch_tasks) check_positive(n, "batch_tasks");
  check_positive(b.repeat, "repeat");
  if (b.threads > 0) configure_threads(b.threads);
  ReckoningModel model = reckoning_model_load(b.model);
  fit_default_threads(model.config);
  reckoning_model_to(model, model.device());
  const MatmulDtypeScope matmul_scope(model.matmul_dtype());
  const std::vector<Task> tasks = tasks_subsample(tasks_load(b.data), b.max_tasks);
  check(!tasks.empty(), b.data, "at least one task", "none");
  EvalOptions options;
  options.max_new_tokens = eval_generation_budget(model, 0);
  options.labels = labels_resolve(model.run.eval_labels, tasks, model.prompt(), "eval.labels");
  const std::vector<std::string> pool = fact_pool_of(tasks);
  std::vector<std::vector<double>> seconds(b.batch_tasks.size());
  std::vector<EvalReport> reports(b.batch_tasks.size());
  for (int64_t r = 0; r < b.repeat; ++r) {
    for (size_t i = 0; i < b.batch_tasks.size(); ++i) {
      options.batch_tasks = b.batch_tasks[i];
      const auto start = Clock::now();
      reports[i] = evaluate(model, tasks, options, pool);
      seconds[i].push_back(seconds_since(start));
    }
  }
  nlohmann::json rows = nlohmann::json::array();
  double best = 0, first = 0;
  for (size_t i = 0; i < b.batch_tasks.size(); ++i) {
    const double t = median(seconds[i]);
    const double rate = static_cast<double>(tasks.size()) / t;
    bool same = reports[i].tasks.size() == reports[0].tasks.size();
    for (size_t k = 0; same && k < reports[i].tasks.size(); ++k) {
      same = reports[i].tasks[k].prediction == reports[0].tasks[k].prediction;
    }
    // The phases of the last repeat: the inner loops on the facts, and answering.
    rows.push_back({{"batch_tasks", b.batch_tasks[i]}, {"seconds", t}, {"tasks_per_second", rate},
                    {"encode_seconds", reports[i].encode_seconds}, {"answer_seconds", reports[i].answer_seconds},
                    {"label_accuracy", reports[i].overall.label_accuracy()}, {"same_predictions", same}});
    if (i == 0) first = rate;
    best = std::max(best, rate);
  }
  return {{"benchmark", "eval"},
          {"config", {{"model", b.model}, {"data", b.data}, {"max_tasks", b.max_tasks}, {"repeat", b.repeat},
                      {"threads", at::get_num_threads()}, {"threads_why", thread_summary()}}},
          {"tasks", tasks.size()},
          {"by_batch", rows},
          {"speedup", first > 0 ? best / first : 0.0},
          {"cpu_allocator", cpu_allocator_json()}};
}

}  // namespace reckoning
