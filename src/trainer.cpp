// The outer loop; see trainer.h.
#include "reckoning/trainer.h"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include "reckoning/device.h"
#include "reckoning/error.h"
#include "reckoning/io.h"
#include "reckoning/resources.h"
#include "reckoning/safetensors.h"
#include "reckoning/threads.h"
#include "reckoning/word_tokenizer.h"

namespace reckoning {

double lr_schedule(int64_t step, int64_t total_steps, double warmup_fraction) {
  const int64_t warmup = static_cast<int64_t>(std::floor(warmup_fraction * static_cast<double>(total_steps)));
  if (step < warmup) return static_cast<double>(step + 1) / static_cast<double>(warmup);
  const int64_t decay = total_steps - warmup;
  if (decay <= 0) return 1.0;
  return std::max(0.0, static_cast<double>(total_steps - step) / static_cast<double>(decay));
}

torch::Tensor task_loss(const ReckoningModel& model, const EncodedTask& task, InnerMode mode,
                        bool dropout, std::vector<InnerStepTrace>* trace) {
  if (!task.facts.ids.defined()) return masked_lm_loss(model.config, model.weights, task.question, dropout);
  InnerResult adapted = inner_loop(model.config, model.weights, model.lrs, model.inner(), task.facts, mode,
                                   dropout && model.run.inner_dropout);
  if (trace != nullptr) trace->insert(trace->end(), adapted.trace.begin(), adapted.trace.end());
  return masked_lm_loss(model.config, adapted.weights, task.question, dropout);
}

void release_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) p.mutable_grad() = torch::Tensor();
  }
}

namespace {

void make_trainable(ReckoningModel& model) {
  model.weights = gpt2_map(model.weights, [](const torch::Tensor& t) {
    return t.detach().clone().requires_grad_(true);
  });
}

InnerLrs rates_for(const RunConfig& config, const Gpt2Config& gpt2) {
  return inner_lrs_init(gpt2, lr_mode_parse(config.inner_lr_mode, "inner.lr_mode"), config.inner_steps,
                        config.inner_lr, config.inner_log_space);
}

}  // namespace

nlohmann::json inner_lrs_snapshot(const InnerLrs& lrs) {
  torch::Tensor rates = lrs.rates().to(torch::kCPU, torch::kFloat64).contiguous();  // (G, N), host
  nlohmann::json values = nlohmann::json::array();
  for (int64_t g = 0; g < rates.size(0); ++g) {
    torch::Tensor row = rates[g];
    values.push_back(std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel()));
  }
  return {{"mode", lr_mode_name(lrs.mode)}, {"log_space", lrs.log_space}, {"rows", lrs.group_names},
          {"values", values}};
}

ReckoningModel model_for_training(const RunConfig& config, const std::vector<Task>& corpus_tasks) {
  ReckoningModel model;
  if (!config.model_init.empty()) {
    model = reckoning_model_load(config.model_init);
    const bool same_rates = model.lrs.mode == lr_mode_parse(config.inner_lr_mode, "inner.lr_mode") &&
                            model.lrs.steps() == config.inner_steps && model.lrs.log_space == config.inner_log_space &&
                            model.lrs.learned();
    model.run = config;
    if (same_rates) {
      model.lrs.values = model.lrs.values.detach().clone().requires_grad_(true);
    } else {
      model.lrs = rates_for(config, model.config);
    }
    make_trainable(model);
    return model;
  }
  model.run = config;
  if (config.model_tokenizer == "word") {
    size_t max_facts = 1;
    for (const Task& t : corpus_tasks) max_facts = std::max(max_facts, t.facts.size() + t.distractors.size());
    model.tokenizer = word_tokenizer_build(
        prompt_corpus(corpus_tasks, prompt_options_from_run(config), static_cast<int64_t>(max_facts)), 1, 0);
  } else {
    model.tokenizer = tokenizer_load(config.model_tokenizer);
  }
  Gpt2Config& c = model.config;
  c.n_vocab = model.tokenizer->vocab_size();
  c.n_ctx = config.model_n_ctx;
  c.n_embd = config.model_n_embd;
  c.n_head = config.model_n_head;
  c.n_layer = config.model_n_layer;
  c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = config.model_dropout;
  c.bos_token_id = c.eos_token_id = model.tokenizer->eos_id();
  c.validate("model configuration");
  model.weights = gpt2_init(c, config.seed);
  model.lrs = rates_for(config, c);
  make_trainable(model);
  return model;
}

namespace {

struct TrainerState {
  int64_t step = 0, epoch = 0, position = 0;
  int64_t best_step = -1, bad_evals = 0, total_steps = 0;
  double best_accuracy = -1;
  nlohmann::json to_json() const {
    return {{"step", step}, {"epoch", epoch}, {"position", position}, {"best_step", best_step},
            {"bad_evals", bad_evals}, {"total_steps", total_steps}, {"best_accuracy", best_accuracy}};
  }
  static TrainerState from_json(const nlohmann::json& j, const std::string& where) {
    TrainerState s;
    try {
      s.step = j.at("step");
      s.epoch = j.at("epoch");
      s.position = j.at("position");
      s.best_step = j.at("best_step");
      s.bad_evals = j.at("bad_evals");
      s.total_steps = j.at("total_steps");
      s.best_accuracy = j.at("best_accuracy");
    } catch (const nlohmann::json::exception& e) {
      throw Error(str(where, ": expected a trainer state (step, epoch, position, ...), got ", e.what()));
    }
    return s;
  }
};

// The order of training tasks: a fresh seeded permutation per epoch.
class TaskOrder {
 public:
  TaskOrder(size_t n, uint64_t seed) : n_(n), seed_(seed) {}
  size_t next(TrainerState& s) {
    if (static_cast<size_t>(s.position) >= n_) {
      ++s.epoch;
      s.position = 0;
    }
    if (cached_epoch_ != s.epoch) {
      perm_.resize(n_);
      std::iota(perm_.begin(), perm_.end(), size_t{0});
      std::mt19937_64 rng(seed_ * 1000003ULL + static_cast<uint64_t>(s.epoch));
      std::shuffle(perm_.begin(), perm_.end(), rng);
      cached_epoch_ = s.epoch;
    }
    return perm_[static_cast<size_t>(s.position++)];
  }

 private:
  size_t n_;
  uint64_t seed_;
  int64_t cached_epoch_ = -1;
  std::vector<size_t> perm_;
};

std::vector<Task> load_split(const std::string& path, int64_t limit) {
  return tasks_subsample(tasks_load(path), limit);
}

void save_last(const ReckoningModel& model, const torch::optim::AdamW& optimizer, const TrainerState& state,
               const std::string& dir) {
  const std::string staging = staging_path(dir);
  reckoning_model_write_files(model, staging);
  torch::save(optimizer, path_join(staging, "optimizer.pt"));
  torch::Tensor rng = at::detail::getDefaultCPUGenerator().get_state();
  safetensors_save(path_join(staging, "rng.safetensors"), {{"cpu_generator", rng}});
  write_json_file_atomic(path_join(staging, "trainer_state.json"), state.to_json());
  replace_directory(staging, dir);
}

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char out[32];
  if (s >= 3600) std::snprintf(out, sizeof out, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else std::snprintf(out, sizeof out, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return out;
}

// Keeps the metrics lines of steps <= `step` (a resumed run rewrites what followed its checkpoint).
void truncate_metrics(const std::string& path, int64_t step) {
  if (!file_exists(path)) return;
  std::istringstream in(read_file(path));
  std::string kept;
  for (std::string line; std::getline(in, line);) {
    try {
      if (nlohmann::json::parse(line).at("step").get<int64_t>() <= step) kept += line + "\n";
    } catch (const std::exception&) {
      // a torn last line from an interrupted run: dropped
    }
  }
  write_file_atomic(path, kept);
}

}  // namespace

TrainSummary train(const RunConfig& config, const TrainOptions& options) {
  run_config_validate_training(config);
  check(!config.data_train.empty(), "configuration key 'data.train'", "a training file", "nothing");
  if (config.threads > 0) configure_threads(static_cast<int>(config.threads));
  const MatmulDtypeScope matmul_scope(matmul_dtype_from_run(config));
  device_from_run(config);  // a device this build cannot use is refused before any work
  const std::string run_dir = config.run_dir;
  const std::string last_dir = path_join(run_dir, "checkpoints/last");
  const std::string best_dir = path_join(run_dir, "checkpoints/best");
  const std::string metrics_path = path_join(run_dir, "metrics.jsonl");
  create_directories(run_dir);
  write_json_file_atomic(path_join(run_dir, "config.json"),
                         {{"config", run_config_to_json(config)},
                          {"reckoning_version", RECKONING_VERSION},
                          {"libtorch_version", TORCH_VERSION},
                          {"threads", at::get_num_threads()},
                          {"resumed", options.resume}});

  std::vector<Task> train_tasks = load_split(config.data_train, config.data_max_train);
  check(!train_tasks.empty(), config.data_train, "at least one training task", "none");
  RunConfig resolved = config;
  if (resolved.data_dataset.empty()) resolved.data_dataset = train_tasks.front().dataset();
  std::vector<Task> valid_tasks = config.data_valid.empty() ? std::vector<Task>{} : load_split(config.data_valid, config.data_max_eval);
  std::vector<std::string> train_pool = fact_pool_of(train_tasks);
  std::vector<std::string> valid_pool = fact_pool_of(valid_tasks);

  TrainerState state;
  ReckoningModel model;
  if (options.resume) {
    check(is_directory(last_dir), last_dir, "a checkpoint to resume from", "no such directory");
    model = reckoning_model_load(last_dir);
    model.run = resolved;
    make_trainable(model);
    if (model.lrs.learned()) model.lrs.values = model.lrs.values.detach().clone().requires_grad_(true);
    state = TrainerState::from_json(read_json_file(path_join(last_dir, "trainer_state.json")),
                                    path_join(last_dir, "trainer_state.json"));
    // A resume may lengthen (or shorten) the run: the schedule's warm-up and decay are recomputed
    // for the new length from the current step on. Below the steps already done it is refused.
    if (config.outer_max_steps > 0 && state.total_steps > 0 && config.outer_max_steps != state.total_steps) {
      check(config.outer_max_steps >= state.step, "configuration key 'outer.max_steps' on resume",
            str("at least ", state.step, ", the steps the resumed run has done"), str(config.outer_max_steps));
      if (options.progress) {
        std::cerr << "resuming with outer.max_steps " << config.outer_max_steps << " (the run was planned for "
                  << state.total_steps << "): the learning-rate schedule now ends there\n";
      }
      state.total_steps = config.outer_max_steps;
    }
    truncate_metrics(metrics_path, state.step);
  } else {
    torch::manual_seed(config.seed);
    std::vector<Task> corpus = train_tasks;
    corpus.insert(corpus.end(), valid_tasks.begin(), valid_tasks.end());
    model = model_for_training(resolved, corpus);
    if (file_exists(metrics_path)) remove_file(metrics_path);
  }

  const torch::Device device = model.device();
  reckoning_model_to(model, device);
  const PromptOptions prompt = model.prompt();
  std::vector<EncodedTask> encoded;
  encoded.reserve(train_tasks.size());
  size_t longest_target = 1;
  for (const Task& t : train_tasks) {
    encoded.push_back(encode_task(t, *model.tokenizer, prompt, train_pool));
    encoded_task_check_fits(encoded.back(), t, model.config.n_ctx, /*with_target=*/true, "data.train");
    longest_target = std::max(longest_target, model.tokenizer->encode(encoded.back().target_text).size());
  }
  const int64_t per_step = config.outer_batch_tasks * config.outer_grad_accum;
  if (state.total_steps == 0) {
    state.total_steps = config.outer_max_steps > 0
                            ? config.outer_max_steps
                            : (config.outer_epochs * static_cast<int64_t>(train_tasks.size()) + per_step - 1) / per_step;
  }
  EvalOptions eval_options;
  eval_options.num_beams = config.eval_num_beams;
  // Budget 0 = derived: a multi-task model stops at EOS or a full context (a longer test chain has
  // a longer fact list to recall); a single-task answer gets the longest training target + 4.
  eval_options.max_new_tokens = config.eval_max_new_tokens > 0 ? config.eval_max_new_tokens
                                : config.multi_task           ? model.config.n_ctx
                                                              : static_cast<int64_t>(longest_target) + 4;
  // Saved with every checkpoint, so that `reckoning eval` of this model uses the same budget.
  model.run.eval_max_new_tokens = eval_options.max_new_tokens;
  const int64_t eval_every = config.eval_every > 0
                                 ? config.eval_every
                                 : std::max<int64_t>(1, static_cast<int64_t>(train_tasks.size()) / per_step);

  // Outer AdamW: decayed weights, undecayed biases and norms, the rates (own lr, no decay).
  std::vector<torch::Tensor> decay, no_decay;
  {
    std::vector<WeightSpec> specs = gpt2_weight_specs(model.config);
    std::vector<torch::Tensor> flat = gpt2_flatten(model.weights);
    for (size_t i = 0; i < flat.size(); ++i) (specs[i].decays ? decay : no_decay).push_back(flat[i]);
  }
  auto group_options = [&](double lr, double wd) {
    auto o = std::make_unique<torch::optim::AdamWOptions>(lr);
    o->betas({config.outer_beta1, config.outer_beta2}).eps(config.outer_eps).weight_decay(wd);
    return o;
  };
  const double lr_rates = config.outer_lr_rates >= 0 ? config.outer_lr_rates : config.outer_lr;
  std::vector<torch::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, group_options(config.outer_lr, config.outer_weight_decay));
  groups.emplace_back(no_decay, group_options(config.outer_lr, 0.0));
  std::vector<double> base_lrs{config.outer_lr, config.outer_lr};
  if (model.lrs.learned()) {
    groups.emplace_back(std::vector<torch::Tensor>{model.lrs.values}, group_options(lr_rates, 0.0));
    base_lrs.push_back(lr_rates);
  }
  torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(config.outer_lr));
  std::vector<torch::Tensor> all_params;
  for (auto& g : optimizer.param_groups()) all_params.insert(all_params.end(), g.params().begin(), g.params().end());
  if (options.resume) {
    torch::load(optimizer, path_join(last_dir, "optimizer.pt"), device);
    Safetensors rng = safetensors_load(path_join(last_dir, "rng.safetensors"));
    const torch::Tensor* state_tensor = rng.find("cpu_generator");
    check(state_tensor != nullptr, path_join(last_dir, "rng.safetensors"), "tensor 'cpu_generator'", "none");
    at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global state
    generator.set_state(*state_tensor);
  }

  const InnerMode mode = config.inner_first_order ? InnerMode::FirstOrder : InnerMode::SecondOrder;
  TaskOrder order(train_tasks.size(), config.seed);
  TrainSummary summary;
  summary.eval_options = eval_options;
  summary.best_dir = best_dir;
  summary.last_dir = last_dir;
  summary.best_step = state.best_step;
  summary.best_valid_accuracy = state.best_accuracy;
  const bool tty = options.progress && ::isatty(2);
  const auto start = std::chrono::steady_clock::now();
  const int64_t first_step = state.step;
  std::ofstream metrics(metrics_path, std::ios::app);

  auto validate_and_checkpoint = [&]() -> bool {
    bool stop = false;
    if (!valid_tasks.empty()) {
      EvalReport report = evaluate(model, valid_tasks, eval_options, valid_pool);
      const double acc = report.overall.label_accuracy();
      nlohmann::json line = {{"step", state.step},
                             {"valid", eval_report_to_json(report, false)},
                             {"inner_lrs", inner_lrs_snapshot(model.lrs)}};
      std::ofstream(path_join(run_dir, "eval.jsonl"), std::ios::app) << line.dump() << "\n";
      if (acc > state.best_accuracy) {
        state.best_accuracy = acc;
        state.best_step = state.step;
        state.bad_evals = 0;
        reckoning_model_save(model, best_dir);
      } else {
        ++state.bad_evals;
      }
      std::fprintf(stderr, "%svalidation at step %lld: label accuracy %.1f%% (best %.1f%% at step %lld)\n",
                   tty ? "\n" : "", (long long)state.step, 100 * acc, 100 * state.best_accuracy,
                   (long long)state.best_step);
      stop = config.eval_patience > 0 && state.bad_evals >= config.eval_patience;
    }
    save_last(model, optimizer, state, last_dir);
    return stop;
  };

  while (state.step < state.total_steps) {
    const auto step_start = std::chrono::steady_clock::now();
    const double factor = lr_schedule(state.step, state.total_steps, config.outer_warmup);
    for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
      static_cast<torch::optim::AdamWOptions&>(optimizer.param_groups()[g].options()).lr(base_lrs[g] * factor);
    }
    release_gradients(optimizer);
    double loss_sum = 0;
    std::vector<InnerStepTrace> traces;
    for (int64_t i = 0; i < per_step; ++i) {
      const EncodedTask& task = encoded[order.next(state)];
      torch::Tensor loss = task_loss(model, task, mode, /*dropout=*/true, &traces) / static_cast<double>(per_step);
      loss.backward();
      loss_sum += loss.item<double>();
    }
    double grad_norm = 0;
    if (config.outer_clip > 0) {
      grad_norm = torch::nn::utils::clip_grad_norm_(all_params, config.outer_clip);
    } else {
      std::vector<torch::Tensor> grads;
      for (const auto& p : all_params) grads.push_back(p.grad());
      grad_norm = global_norm(grads);
    }
    optimizer.step();
    ++state.step;
    summary.losses.push_back(loss_sum);

    // Metrics: inner loss per inner step (mean over the step's tasks), rate statistics per step.
    const int64_t n_inner = model.lrs.steps();
    std::vector<double> inner_loss(static_cast<size_t>(n_inner), 0.0);
    for (size_t k = 0; k < traces.size(); ++k) inner_loss[k % static_cast<size_t>(n_inner)] += traces[k].loss;
    if (!traces.empty()) for (auto& v : inner_loss) v /= static_cast<double>(traces.size() / static_cast<size_t>(n_inner));
    torch::Tensor rates = model.lrs.rates().to(torch::kCPU, torch::kFloat64);  // read on the host
    nlohmann::json rate_stats = nlohmann::json::object();
    if (n_inner > 0) {
      auto as_vector = [](const torch::Tensor& t) {
        torch::Tensor c = t.contiguous();
        return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
      };
      rate_stats["mean"] = as_vector(rates.mean(0));
      rate_stats["min"] = as_vector(std::get<0>(rates.min(0)));
      rate_stats["max"] = as_vector(std::get<0>(rates.max(0)));
    }
    const double step_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    nlohmann::json line = {{"step", state.step},
                           {"epoch", state.epoch},
                           {"loss", loss_sum},
                           {"lr", config.outer_lr * factor},
                           {"grad_norm", grad_norm},
                           {"inner_loss", traces.empty() ? nlohmann::json::array() : nlohmann::json(inner_loss)},
                           {"rates", rate_stats},
                           {"tasks_per_s", static_cast<double>(per_step) / step_seconds},
                           {"elapsed_s", elapsed},
                           {"rss_mb", static_cast<double>(resident_memory_bytes()) / (1 << 20)}};
    metrics << line.dump() << "\n";
    metrics.flush();
    const double eta = elapsed / static_cast<double>(state.step - first_step) *
                       static_cast<double>(state.total_steps - state.step);
    if (tty || state.step % config.log_every == 0) {
      std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f  inner %.3f->%.3f  %.2f tasks/s  ETA %s%s",
                   tty ? "\r" : "", (long long)state.step, (long long)state.total_steps, loss_sum,
                   traces.empty() ? 0.0 : inner_loss.front(), traces.empty() ? 0.0 : inner_loss.back(),
                   static_cast<double>(per_step) / step_seconds, format_duration(eta).c_str(), tty ? "   " : "\n");
    }
    const bool eval_due = state.step % eval_every == 0 || state.step == state.total_steps;
    const bool stop_now = options.stop_after > 0 && state.step >= options.stop_after;
    if (eval_due) {
      if (validate_and_checkpoint()) {
        summary.early_stopped = true;
        break;
      }
    } else if ((config.checkpoint_every > 0 && state.step % config.checkpoint_every == 0) || stop_now) {
      save_last(model, optimizer, state, last_dir);
    }
    if (stop_now) break;
  }
  if (tty) std::fprintf(stderr, "\n");
  if (valid_tasks.empty() && state.step == state.total_steps) {
    reckoning_model_save(model, best_dir);  // without validation the final model is the one to use
    state.best_step = state.step;
  }
  summary.steps = state.step;
  summary.best_step = state.best_step;
  summary.best_valid_accuracy = state.best_accuracy;
  return summary;
}

}  // namespace reckoning
