// The outer loop; see trainer.h.
#include "reckoning/train/trainer.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <numeric>
#include <random>
#include <sstream>

#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/resources.h"
#include "reckoning/base/run_lock.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/base/threads.h"
#include "reckoning/dist/process_group.h"
#include "reckoning/eval/labels.h"
#include "reckoning/model/lora.h"
#include "reckoning/model/task_batch.h"
#include "reckoning/train/outer_optimizer.h"
#include "reckoning/text/word_tokenizer.h"

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

torch::Tensor tasks_loss(const ReckoningModel& model, const std::vector<const EncodedTask*>& tasks, InnerMode mode,
                         bool dropout, std::vector<std::vector<InnerStepTrace>>* traces) {
  TORCH_CHECK(!tasks.empty(), "tasks_loss: no tasks");
  const int64_t n = static_cast<int64_t>(tasks.size());
  const bool with_facts = tasks.front()->facts.ids.defined();
  std::vector<LmBatch> facts, questions;
  for (const EncodedTask* t : tasks) {
    TORCH_CHECK(t->facts.ids.defined() == with_facts, "tasks_loss: tasks with and without facts in one batch");
    facts.push_back(t->facts);
    questions.push_back(t->question);
  }
  if (traces != nullptr) traces->assign(tasks.size(), {});
  if (!with_facts) return masked_lm_loss_per_task(model.config, model.weights, lm_batch_stack(questions), n, dropout);
  InnerBatchResult adapted = inner_loop_tasks(model.config, model.weights, model.lrs, model.inner(), facts, mode,
                                              dropout && model.run.inner_dropout);
  if (traces != nullptr) *traces = std::move(adapted.traces);
  return masked_lm_loss_per_task(model.config, adapted.weights, lm_batch_stack(questions), n, dropout);
}

TaskReplicas task_replicas(const ReckoningModel& model, int64_t tasks) {
  TORCH_CHECK(tasks > 0, "task_replicas: tasks > 0");
  TaskReplicas r;
  r.model = model;
  auto replicate = [&](const torch::Tensor& t) {
    if (!t.defined() || !t.requires_grad()) return t;  // frozen: shared by every task
    std::vector<int64_t> shape{tasks};
    for (int64_t d : t.sizes()) shape.push_back(d);
    torch::Tensor copy = t.detach().unsqueeze(0).expand(shape).contiguous().requires_grad_(true);
    r.leaves.emplace_back(t, copy);
    return copy;
  };
  std::vector<torch::Tensor> flat = decoder_flatten(model.weights);
  for (torch::Tensor& t : flat) t = replicate(t);
  r.model.weights = decoder_with(model.weights, flat);
  if (lora_present(r.model.weights)) {
    std::vector<torch::Tensor> adapters = lora_flatten(r.model.weights);
    for (torch::Tensor& t : adapters) t = replicate(t);
    r.model.weights = lora_with(r.model.weights, adapters);
  }
  if (model.lrs.learned()) {
    r.model.lrs = inner_lrs_per_task(model.lrs, tasks);
    r.leaves.emplace_back(model.lrs.values, r.model.lrs.values);
  }
  return r;
}

std::vector<torch::Tensor> task_replica_gradients(const TaskReplicas& replicas, const torch::Tensor& loss) {
  std::vector<torch::Tensor> inputs;
  for (const auto& leaf : replicas.leaves) inputs.push_back(leaf.second);
  return torch::autograd::grad({loss}, inputs, {}, /*retain_graph=*/false, /*create_graph=*/false,
                               /*allow_unused=*/true);
}

void add_task_gradients(const TaskReplicas& replicas, const std::vector<torch::Tensor>& grads,
                        const std::vector<double>& scales) {
  TORCH_CHECK(grads.size() == replicas.leaves.size(), "add_task_gradients: one gradient per replica");
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < grads.size(); ++i) {
    if (!grads[i].defined()) continue;
    TORCH_CHECK(grads[i].size(0) == static_cast<int64_t>(scales.size()), "add_task_gradients: one scale per task");
    const torch::Tensor scale = task_broadcast(torch::tensor(scales, torch::kFloat64).to(grads[i].options()), grads[i].dim());
    // A left-out task's rows may hold NaN: chosen away, not multiplied by 0.
    const torch::Tensor sum = torch::where(scale != 0, grads[i] * scale, torch::zeros({}, grads[i].options())).sum(0);
    torch::Tensor owner = replicas.leaves[i].first;
    torch::Tensor& grad = owner.mutable_grad();
    grad = grad.defined() ? grad.add_(sum) : sum;
  }
}

void release_gradients(torch::optim::Optimizer& optimizer) {
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) p.mutable_grad() = torch::Tensor();
  }
}

namespace {

// Outer parameters: the base weights unless outer.train_base is off, and the LoRA adapters'
// initial values (meta-learned) when the model has adapters.
void make_trainable(ReckoningModel& model, bool train_base) {
  auto trainable = [](const torch::Tensor& t) { return t.detach().clone().requires_grad_(true); };
  auto frozen = [](const torch::Tensor& t) { return t.detach().requires_grad_(false); };
  DecoderWeights w = decoder_map(model.weights, trainable);
  if (!train_base) decoder_visit(w, [&](const std::string&, torch::Tensor& t) { t = frozen(t); });
  model.weights = std::move(w);
}

// With inner.adapt lora, the adapters the configuration asks for: fresh ones (seeded) on a model
// without, those of the model (e.g. model.init's) when they are the configured ones.
void attach_adapters(ReckoningModel& model, const RunConfig& config) {
  if (!inner_adapts_lora(config.inner_loop())) return;
  const LoraConfig wanted = config.lora();
  lora_targets_for(wanted, model.config, "configuration key 'inner.lora_targets'");  // names the key first
  if (lora_present(model.weights)) {
    const LoraConfig have = lora_config_of(model.weights);
    const std::vector<std::string> targets = lora_targets_for(wanted, model.config, "inner.lora_targets");
    if (have.rank == wanted.rank && have.targets == targets && have.alpha == wanted.alpha) {
      model.weights.set_lora(model.weights.lora_scale(), wanted.dropout);
      return;
    }
  }
  lora_attach(model.weights, wanted, config.seed + 7919);
}

// The model configuration.model_* describe, for `tokenizer`'s vocabulary.
DecoderConfig config_from_scratch(const RunConfig& config, const Tokenizer& tokenizer) {
  DecoderConfig out;
  if (config.model_arch == "gpt2") {
    Gpt2Config c;
    c.n_vocab = tokenizer.vocab_size();
    c.n_ctx = config.model_n_ctx;
    c.n_embd = config.model_n_embd;
    c.n_head = config.model_n_head;
    c.n_layer = config.model_n_layer;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = config.model_dropout;
    c.bos_token_id = c.eos_token_id = tokenizer.eos_id();
    out = c;
  } else {
    LlamaConfig c = llama_config_for(config.model_arch, config.model_n_layer, config.model_n_embd, config.model_n_head,
                                     config.model_n_kv_head > 0 ? config.model_n_kv_head : config.model_n_head,
                                     config.model_n_inner > 0 ? config.model_n_inner : 4 * config.model_n_embd,
                                     tokenizer.vocab_size(), config.model_n_ctx);
    c.attention_dropout = config.model_dropout;
    c.eos_token_id = tokenizer.eos_id();
    if (tokenizer.bos_id()) c.bos_token_id = *tokenizer.bos_id();
    out = c;
  }
  out.validate("model configuration");
  return out;
}

InnerLrs rates_for(const RunConfig& config, const ReckoningModel& model) {
  return inner_lrs_init(inner_rate_specs(model.config, config.inner_loop(), model.weights), model.config.n_layer(),
                        config.inner_lr_mode, config.inner_steps, config.inner_lr, config.inner_log_space);
}

// A resumed run continues its checkpoint's rates and outer-optimizer state: a changed method,
// inner optimizer, rate mode, step count or parametrisation would silently reinterpret (or
// reshape) them, so it is refused, naming the key.
void refuse_changed_rates(const RunConfig& saved, const RunConfig& now, const std::string& checkpoint) {
  const nlohmann::json a = run_config_to_json(saved), b = run_config_to_json(now);
  for (const char* key : {"method", "inner.optimizer", "inner.lr_mode", "inner.steps", "inner.log_space", "inner.adapt",
                          "inner.lora_rank", "inner.lora_targets"}) {
    check(a.at(key) == b.at(key), str("configuration key '", key, "' on resume"),
          str(a.at(key).dump(), " as in the checkpoint ", checkpoint,
              " (start a new run_dir to change it)"),
          b.at(key).dump());
  }
}

}  // namespace

nlohmann::json inner_lrs_snapshot(const InnerLrs& lrs) {
  torch::Tensor rates = lrs.rates().to(torch::kCPU, torch::kFloat64).contiguous();  // (G, N), host
  nlohmann::json values = nlohmann::json::array();
  for (int64_t g = 0; g < rates.size(0); ++g) {
    torch::Tensor row = rates[g];
    values.push_back(std::vector<double>(row.data_ptr<double>(), row.data_ptr<double>() + row.numel()));
  }
  return {{"mode", enum_name(lrs.mode)}, {"log_space", lrs.log_space}, {"rows", lrs.group_names},
          {"values", values}};
}

ReckoningModel model_for_training(const RunConfig& config, const std::vector<Task>& corpus_tasks) {
  ReckoningModel model;
  if (!config.model_init.empty()) {
    model = reckoning_model_load(config.model_init);
    const bool same_rates = model.lrs.mode == config.inner_lr_mode &&
                            model.lrs.steps() == config.inner_steps && model.lrs.log_space == config.inner_log_space &&
                            model.lrs.learned();
    const bool same_adapt = model.run.inner_adapt == config.inner_adapt;
    model.run = config;
    attach_adapters(model, config);
    if (same_rates && same_adapt && model.lrs.group_of_tensor.size() ==
                                        inner_rate_specs(model.config, config.inner_loop(), model.weights).size()) {
      model.lrs.values = model.lrs.values.detach().clone().requires_grad_(true);
    } else {
      model.lrs = rates_for(config, model);
    }
    make_trainable(model, config.outer_train_base);
    return model;
  }
  model.run = config;
  if (config.model_tokenizer == "word") {
    size_t max_facts = 1;
    for (const Task& t : corpus_tasks) max_facts = std::max(max_facts, t.facts.size() + t.distractors.size());
    model.tokenizer = word_tokenizer_build(
        prompt_corpus(corpus_tasks, config.prompt_options(), static_cast<int64_t>(max_facts)), 1, 0);
  } else {
    model.tokenizer = tokenizer_load(config.model_tokenizer);
  }
  model.config = config_from_scratch(config, *model.tokenizer);
  model.weights = decoder_init(model.config, config.seed);
  attach_adapters(model, config);
  model.lrs = rates_for(config, model);
  make_trainable(model, config.outer_train_base);
  return model;
}

namespace {

struct TrainerState {
  int64_t step = 0, epoch = 0, position = 0;
  int64_t best_step = -1, bad_evals = 0, total_steps = 0;
  double best_accuracy = -1;
  bool train_base = true;  // outer.train_base of the run (a run key, so not in the model's settings)
  nlohmann::json to_json() const {
    return {{"step", step}, {"epoch", epoch}, {"position", position}, {"best_step", best_step},
            {"bad_evals", bad_evals}, {"total_steps", total_steps}, {"best_accuracy", best_accuracy},
            {"train_base", train_base}};
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
      s.train_base = j.value("train_base", true);  // checkpoints before it always trained the base
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

std::string format_duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  char out[32];
  if (s >= 3600) std::snprintf(out, sizeof out, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
  else std::snprintf(out, sizeof out, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
  return out;
}

// Keeps the lines (metrics.jsonl, eval.jsonl) of steps <= `step` (a resumed run rewrites what
// followed its checkpoint).
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

namespace {

// Where a run writes (trainer.h).
struct RunPaths {
  std::string run_dir, last_dir, best_dir, metrics, evals;
  explicit RunPaths(const std::string& dir)
      : run_dir(dir),
        last_dir(path_join(dir, "checkpoints/last")),
        best_dir(path_join(dir, "checkpoints/best")),
        metrics(path_join(dir, "metrics.jsonl")),
        evals(path_join(dir, "eval.jsonl")) {}
};

// The tasks of a run and their fact pools (for the random-facts control).
struct RunData {
  std::vector<Task> train, valid;
  std::vector<std::string> train_pool, valid_pool;
};

// What one optimizer step produced, for the metrics line and the summary.
struct StepRecord {
  double loss = 0, grad_norm = 0, lr_factor = 0, seconds = 0;
  double task_grad_norm_max = -1;  // the longest task meta-gradient (outer.task_clip only)
  std::vector<InnerStepTrace> traces;
  std::vector<std::string> skipped;  // outer.nonfinite skip: what was left out and why
  bool update_skipped = false;       // the step's update was left out (a non-finite gradient)
  int64_t comm_bytes = -1;           // several processes: payload bytes this process all-reduced
};

// torch::save of an optimizer, atomically, through a writer that never fails inside LibTorch's zip
// writer: that writer throws from its destructor after a failed write, which ends the process
// (found by tests/train/disk_faults_test.cpp with a full disk). The first error is kept and
// reported after the archive is complete, naming the file.
void save_optimizer(const torch::optim::Optimizer& optimizer, const std::string& path) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  check(fd >= 0, tmp, "a file it can write", std::strerror(errno));
  int error = 0;
  torch::serialize::OutputArchive archive;
  optimizer.save(archive);
  archive.save_to([&](const void* data, size_t n) -> size_t {
    const char* p = static_cast<const char*>(data);
    size_t left = n;
    while (error == 0 && left > 0) {
      const ssize_t written = ::write(fd, p, left);
      if (written < 0) {
        if (errno != EINTR) error = errno;
        continue;
      }
      p += written;
      left -= static_cast<size_t>(written);
    }
    return n;  // (what could not be written is reported below)
  });
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  if (::close(fd) != 0 && error == 0) error = errno;
  if (error == 0 && std::rename(tmp.c_str(), path.c_str()) != 0) error = errno;
  if (error != 0) {
    ::unlink(tmp.c_str());
    throw Error(str(tmp, ": write failed (", std::strerror(error), ")"));
  }
}

// Every tensor the outer loop trains or a checkpoint holds, by name: the weights (and adapters) in
// canonical order, then the rate table "inner_lrs".
std::vector<std::pair<std::string, torch::Tensor>> named_tensors(const ReckoningModel& model) {
  std::vector<std::pair<std::string, torch::Tensor>> named;
  decoder_visit(model.weights, [&](const std::string& name, const torch::Tensor& t) { named.emplace_back(name, t); });
  lora_visit(model.weights, [&](const std::string& name, const torch::Tensor& t) { named.emplace_back(name, t); });
  if (model.lrs.values.defined()) named.emplace_back("inner_lrs", model.lrs.values);
  return named;
}

bool all_finite(const torch::Tensor& t) { return !t.defined() || torch::isfinite(t).all().item<bool>(); }

std::string number_text(double v) { return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }


// The metrics line of one step: inner loss per inner step (mean over the step's tasks), rate
// statistics per inner step (read on the host), throughput, time and memory.
nlohmann::json metrics_line(const TrainerState& state, const RunConfig& config, const InnerLrs& lrs,
                            const StepRecord& record, int64_t tasks, double elapsed) {
  const int64_t n_inner = lrs.steps();
  std::vector<double> inner_loss(static_cast<size_t>(n_inner), 0.0);
  for (size_t k = 0; k < record.traces.size(); ++k) inner_loss[k % static_cast<size_t>(n_inner)] += record.traces[k].loss;
  if (!record.traces.empty()) {
    for (auto& v : inner_loss) v /= static_cast<double>(record.traces.size() / static_cast<size_t>(n_inner));
  }
  torch::Tensor rates = lrs.rates().to(torch::kCPU, torch::kFloat64);
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
  nlohmann::json line{{"step", state.step},
          {"epoch", state.epoch},
          {"loss", record.loss},
          {"lr", config.outer_lr * record.lr_factor},
          {"grad_norm", record.grad_norm},
          {"inner_loss", record.traces.empty() ? nlohmann::json::array() : nlohmann::json(inner_loss)},
          {"rates", rate_stats},
          {"tasks_per_s", static_cast<double>(tasks) / record.seconds},
          {"elapsed_s", elapsed},
          {"rss_mb", static_cast<double>(resident_memory_bytes()) / (1 << 20)}};
  if (record.task_grad_norm_max >= 0) line["task_grad_norm_max"] = record.task_grad_norm_max;
  if (!record.skipped.empty()) line["skipped"] = record.skipped;
  if (record.update_skipped) line["update_skipped"] = true;
  if (record.comm_bytes >= 0) line["comm_bytes"] = record.comm_bytes;
  return line;
}

// One training run, as named steps: set_up -> start_or_resume -> prepare -> (step -> report ->
// validate / checkpoint)* -> finish.
class Trainer {
 public:
  Trainer(const RunConfig& config, const TrainOptions& options)
      : config_(config), options_(options), paths_(config.run_dir) {}

  TrainSummary run() {
    set_up();
    start_or_resume();
    record_run();
    prepare();
    const auto start = std::chrono::steady_clock::now();
    const int64_t first_step = state_.step;
    while (state_.step < state_.total_steps) {
      const StepRecord record = step();
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      report(record, elapsed, first_step);
      const bool eval_due = state_.step % eval_every_ == 0 || state_.step == state_.total_steps;
      const bool stop_now = options_.stop_after > 0 && state_.step >= options_.stop_after;
      if (eval_due) {
        if (validate_and_checkpoint()) {
          summary_.early_stopped = true;
          break;
        }
      } else if ((config_.checkpoint_every > 0 && state_.step % config_.checkpoint_every == 0) || stop_now) {
        save_last();
      }
      if (stop_now) break;
    }
    return finish();
  }

 private:
  // Validates the configuration, sets threads (an explicit or a resumed run's count), precision
  // and device, takes the run directory's lock and loads the data.
  void set_up() {
    run_config_validate_training(config_);
    check(!config_.data_train.empty(), "configuration key 'data.train'", "a training file", "nothing");
    // Several processes (dist/process_group.h): each adapts its own share of a step's tasks; the
    // gradients are summed; rank 0 alone writes the run directory.
    group_ = process_group(config_.dist_backend, config_.device, config_.dist_timeout);
    main_ = group_->main();
    if (config_.threads > 0) {
      configure_threads(static_cast<int>(config_.threads), "configuration key 'threads'");
    } else if (options_.resume && threads_are_default()) {
      // The default depends on the load when a process starts, and results on the thread count in
      // their last bits: a resumed run keeps the count its run started with.
      const std::string recorded = path_join(paths_.run_dir, "config.json");
      if (file_exists(recorded)) {
        const nlohmann::json before = read_json_file(recorded);
        if (before.contains("threads") && before.at("threads").is_number_integer() && before.at("threads").get<int>() > 0) {
          // (within this machine's budget: on another machine results differ in their last bits anyway)
          const int started = std::min(before.at("threads").get<int>(), cpu_budget().cpus);
          configure_threads(started, str("the count this run started with (", recorded, ")"));
        }
      }
    }
    matmul_scope_ = std::make_unique<MatmulDtypeScope>(config_.matmul_dtype);
    device_check_usable(config_.device, "configuration key 'device'");  // refused before any work
    create_directories(paths_.run_dir);
    if (main_) {
      lock_ = std::make_unique<RunLock>(paths_.run_dir);  // before anything in it is written
      clean_checkpoints_dir();
    }
    group_->barrier("start of the run (rank 0 holds the run directory's lock)");
    data_.train = tasks_subsample(tasks_load(config_.data_train), config_.data_max_train);
    check(!data_.train.empty(), config_.data_train, "at least one training task", "none");
    resolved_ = config_;
    if (resolved_.data_dataset.empty()) resolved_.data_dataset = data_.train.front().dataset();
    // One GPU per process: `device: cuda` (no index) with several processes is cuda:LOCAL_RANK.
    if (group_->size() > 1 && resolved_.device.is_cuda() && !resolved_.device.has_index()) {
      resolved_.device = torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(dist_env().local_rank));
    }
    if (!config_.data_valid.empty()) data_.valid = tasks_subsample(tasks_load(config_.data_valid), config_.data_max_eval);
    data_.train_pool = fact_pool_of(data_.train);
    data_.valid_pool = fact_pool_of(data_.valid);
  }

  // Once the model is known: a default thread count fitted to its work (a resumed run keeps the
  // count it started with, set in set_up), said at the start and recorded in config.json.
  void record_run() {
    fit_default_threads(model_.config);
    if (!main_) return;
    if (options_.progress) std::cerr << "threads: " << thread_summary() << "\n";
    if (options_.progress && group_->size() > 1) {
      std::cerr << "processes: " << group_->size() << " (" << dist_env().source << ", " << group_->backend()
                << "), each " << config_.outer_batch_tasks * config_.outer_grad_accum << " tasks per step\n";
    }
    write_json_file_atomic(path_join(paths_.run_dir, "config.json"),
                           {{"config", run_config_to_json(config_)},
                            {"reckoning_version", RECKONING_VERSION},
                            {"libtorch_version", TORCH_VERSION},
                            {"threads", at::get_num_threads()},
                            {"threads_why", thread_summary()},
                            {"processes", group_->size()},
                            {"resumed", options_.resume}});
  }

  // What killed runs left in checkpoints/: a checkpoint moved aside by the two-rename fallback goes
  // back (io.h recover_directory); half-written staging directories and leftovers are removed. With
  // the run directory's lock held, no other process can be writing them.
  void clean_checkpoints_dir() {
    recover_directory(paths_.last_dir);
    recover_directory(paths_.best_dir);
    const std::string dir = parent_path(paths_.last_dir);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    std::vector<std::string> stale;
    while (const dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name.find(".staging-") != std::string::npos || name.find(".old-") != std::string::npos)
        stale.push_back(path_join(dir, name));
    }
    ::closedir(d);
    for (const std::string& path : stale) remove_tree(path);
  }

  // A fresh model (seeded), or the last checkpoint's model and trainer state.
  void start_or_resume() {
    if (!options_.resume) {
      torch::manual_seed(config_.seed);
      std::vector<Task> corpus = data_.train;
      corpus.insert(corpus.end(), data_.valid.begin(), data_.valid.end());
      model_ = model_for_training(resolved_, corpus);
      // Every process builds the same model from the seed (checked: check_replicas); from here on
      // each has its own random stream (dropout).
      if (!main_) torch::manual_seed(rank_seed(config_.seed, group_->rank()));
      if (main_ && file_exists(paths_.metrics)) remove_file(paths_.metrics);
      if (main_ && file_exists(paths_.evals)) remove_file(paths_.evals);
      return;
    }
    check(is_directory(paths_.last_dir), paths_.last_dir, "a checkpoint to resume from", "no such directory");
    model_ = reckoning_model_load(paths_.last_dir);
    refuse_changed_rates(model_.run, resolved_, paths_.last_dir);
    model_.run = resolved_;
    model_.weights.set_lora(model_.weights.lora_scale(), resolved_.inner_lora_dropout);  // a training setting, not a stored one
    make_trainable(model_, resolved_.outer_train_base);
    if (model_.lrs.learned()) model_.lrs.values = model_.lrs.values.detach().clone().requires_grad_(true);
    const std::string state_path = path_join(paths_.last_dir, "trainer_state.json");
    state_ = TrainerState::from_json(read_json_file(state_path), state_path);
    check(state_.train_base == config_.outer_train_base, "configuration key 'outer.train_base' on resume",
          str(state_.train_base ? "true" : "false", " as in the checkpoint ", paths_.last_dir,
              " (start a new run_dir to change it)"),
          config_.outer_train_base ? "true" : "false");
    // A resume may lengthen (or shorten) the run: the schedule's warm-up and decay are recomputed
    // for the new length from the current step on. Below the steps already done it is refused.
    if (config_.outer_max_steps > 0 && state_.total_steps > 0 && config_.outer_max_steps != state_.total_steps) {
      check(config_.outer_max_steps >= state_.step, "configuration key 'outer.max_steps' on resume",
            str("at least ", state_.step, ", the steps the resumed run has done"), str(config_.outer_max_steps));
      if (options_.progress) {
        std::cerr << "resuming with outer.max_steps " << config_.outer_max_steps << " (the run was planned for "
                  << state_.total_steps << "): the learning-rate schedule now ends there\n";
      }
      state_.total_steps = config_.outer_max_steps;
    }
    if (main_) {
      truncate_metrics(paths_.metrics, state_.step);
      truncate_metrics(paths_.evals, state_.step);  // a validation after the checkpoint is run again
    }
  }

  // Moves the model to its device, encodes the training tasks, plans the run (steps, generation
  // budget, validation interval) and builds the outer optimizer (restoring its state and the RNG
  // on resume).
  void prepare() {
    reckoning_model_to(model_, model_.device());
    const PromptOptions prompt = model_.prompt();
    encoded_.reserve(data_.train.size());
    int64_t longest_target = 1;
    for (const Task& t : data_.train) {
      encoded_.push_back(encode_task(t, *model_.tokenizer, prompt, data_.train_pool));
      encoded_task_check_fits(encoded_.back(), t, model_.config.n_ctx(), /*with_target=*/true, "data.train");
      longest_target = std::max<int64_t>(
          longest_target, static_cast<int64_t>(model_.tokenizer->encode(encoded_.back().target_text).size()));
    }
    per_step_ = config_.outer_batch_tasks * config_.outer_grad_accum;
    all_per_step_ = per_step_ * group_->size();
    const auto n_train = static_cast<int64_t>(data_.train.size());
    state_.train_base = config_.outer_train_base;
    if (state_.total_steps == 0) {
      state_.total_steps = config_.outer_max_steps > 0 ? config_.outer_max_steps
                                                       : (config_.outer_epochs * n_train + all_per_step_ - 1) / all_per_step_;
    }
    eval_options_.num_beams = config_.eval_num_beams;
    eval_options_.batch_tasks = config_.eval_batch_tasks;
    eval_options_.max_new_tokens = eval_generation_budget(model_, config_.eval_max_new_tokens, longest_target);
    // Saved with every checkpoint, so that `reckoning eval` of this model uses the same budget.
    model_.run.eval_max_new_tokens = eval_options_.max_new_tokens;
    // Constrained answering: "auto" becomes the training answers, kept in the model directory.
    eval_options_.labels = labels_resolve(config_.eval_labels, data_.train, config_.prompt_options(), "configuration key 'eval.labels'");
    model_.run.eval_labels = labels_join(eval_options_.labels);
    eval_every_ = config_.eval_every > 0 ? config_.eval_every : std::max<int64_t>(1, n_train / all_per_step_);
    if (group_->size() > 1) {  // validation and the test set shared by the processes, gathered exactly
      eval_options_.shard.index = group_->rank();
      eval_options_.shard.count = group_->size();
      std::shared_ptr<ProcessGroup> group = group_;
      eval_options_.shard.all_gather = [group](const std::string& mine) {
        return group->all_gather_text(mine, "evaluation results");
      };
    }

    optimizer_ = outer_optimizer_for(model_, config_);
    if (options_.resume) {
      torch::load(*optimizer_.adamw, path_join(paths_.last_dir, "optimizer.pt"), model_.device());
      const std::string rng_path = path_join(paths_.last_dir, "rng.safetensors");
      Safetensors rng = safetensors_load(rng_path);
      // Each process's own stream; a process the checkpoint has none for (a run resumed on more
      // processes) starts a fresh one from the seed, its rank and the step.
      const std::string name = rng_tensor_name(group_->rank());
      const torch::Tensor* state_tensor = rng.find(name);
      check(state_tensor != nullptr || !main_, rng_path, str("tensor '", name, "'"), "none");
      if (state_tensor != nullptr) {
        at::Generator generator = at::detail::getDefaultCPUGenerator();  // shares the global state
        generator.set_state(*state_tensor);
      } else {
        torch::manual_seed(rank_seed(config_.seed, group_->rank()) + static_cast<uint64_t>(state_.step));
      }
    }
    order_ = std::make_unique<TaskOrder>(data_.train.size(), config_.seed);
    summary_.eval_options = eval_options_;
    summary_.best_dir = paths_.best_dir;
    summary_.last_dir = paths_.last_dir;
    tty_ = main_ && options_.progress && ::isatty(2);
    if (main_) metrics_.open(paths_.metrics, std::ios::app);
    check_replicas("the start of the run");
  }

  // outer.task_clip: adds the gradient of one task's share of the step's loss (its loss / tasks per
  // step) to the parameters' gradients, its norm clipped to outer.task_clip / tasks per step first,
  // so that no single task's meta-gradient can be longer than the clip; returns that task's
  // meta-gradient norm (of its own loss, before clipping).
  // A task whose meta-gradient is not finite is left out (outer.nonfinite skip; -1 returned) or
  // stops the run.
  double add_clipped_task_gradient(const torch::Tensor& share, const std::string& task, StepRecord& record) {
    std::vector<torch::Tensor> grads =
        torch::autograd::grad({share}, optimizer_.params, {}, /*retain_graph=*/false, /*create_graph=*/false,
                              /*allow_unused=*/true);
    const std::string bad = first_nonfinite(grads);
    if (!bad.empty()) {
      nonfinite(str(task, ": meta-gradient of ", bad), "NaN or Inf", "the task is left out of this step", record);
      return -1;
    }
    const double norm = global_norm(grads) * static_cast<double>(all_per_step_);
    const double scale = norm > config_.outer_task_clip ? config_.outer_task_clip / norm : 1.0;
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined()) continue;
      torch::Tensor& grad = optimizer_.params[i].mutable_grad();
      if (grad.defined()) {
        grad.add_(grads[i], scale);
      } else {
        grad = scale == 1.0 ? grads[i] : grads[i] * scale;
      }
    }
    return norm;
  }

  // The name a task goes by in messages: its guid, else its 1-based index in the training set.
  std::string task_name(size_t index) const {
    const Task& source = data_.train[index];
    return str("task ", source.guid.empty() ? str("#", index + 1) : source.guid);
  }

  // What is wrong with a task's losses ("" when they are finite): its first non-finite inner loss
  // (`traces`) or its outer loss `value`; `bad_value` gets the offending number.
  static std::string nonfinite_loss(const std::string& task, const std::vector<InnerStepTrace>& traces, double value,
                                    double& bad_value) {
    bad_value = value;
    for (size_t k = 0; k < traces.size(); ++k) {
      if (std::isfinite(traces[k].loss)) continue;
      bad_value = traces[k].loss;
      return str(task, ": inner loss at inner step ", k + 1);
    }
    return std::isfinite(value) ? "" : str(task, ": outer loss");
  }

  // One task's share of the step (its loss / tasks per step) through its own inner loop, its
  // gradient accumulated (or clipped first with outer.task_clip). A NaN or Inf loss: the task is
  // left out (its inner losses too) or the run stops.
  void add_task(size_t index, const EncodedTask& encoded, StepRecord& record) {
    const std::string task = task_name(index);
    std::vector<InnerStepTrace> traces;
    torch::Tensor loss =
        task_loss(model_, encoded, config_.inner_mode(), /*dropout=*/true, &traces) / static_cast<double>(all_per_step_);
    const double value = loss.item<double>();
    double bad_value = 0;
    if (const std::string bad = nonfinite_loss(task, traces, value, bad_value); !bad.empty()) {
      nonfinite(bad, number_text(bad_value), "the task is left out of this step", record);
      return;
    }
    record.traces.insert(record.traces.end(), traces.begin(), traces.end());
    if (config_.outer_task_clip > 0) {
      record.task_grad_norm_max = std::max(record.task_grad_norm_max, add_clipped_task_gradient(loss, task, record));
    } else {
      loss.backward();
    }
    record.loss += value;
  }

  // Tasks [first, last) of the step through one task-batched inner loop (tasks_loss), their shares'
  // gradients accumulated with one backward. Returns false, having added
  // nothing, when a task's loss is not finite: the caller then takes the tasks one at a time (a NaN
  // in one task's slice of a batched product would reach the shared gradient), where the policy
  // applies per task.
  // With outer.task_clip the outer tensors enter as one replica per task (task_replicas), so the one
  // backward leaves each task's meta-gradient apart: each is clipped as add_clipped_task_gradient
  // clips it (a non-finite one left out or stopping the run) and their sum added to the gradients.
  bool add_micro_batch(const std::vector<const EncodedTask*>& tasks, const std::vector<size_t>& picked, size_t first,
                       size_t last, StepRecord& record) {
    const std::vector<const EncodedTask*> part(tasks.begin() + static_cast<std::ptrdiff_t>(first),
                                               tasks.begin() + static_cast<std::ptrdiff_t>(last));
    for (const EncodedTask* t : part) {
      if (t->facts.ids.defined() != part.front()->facts.ids.defined()) return false;
    }
    const bool clip = config_.outer_task_clip > 0;
    const int64_t n = static_cast<int64_t>(part.size());
    TaskReplicas replicas;
    if (clip) replicas = task_replicas(model_, n);
    std::vector<std::vector<InnerStepTrace>> traces;
    torch::Tensor losses = tasks_loss(clip ? replicas.model : model_, part, config_.inner_mode(), /*dropout=*/true,
                                      &traces) /
                           static_cast<double>(all_per_step_);
    const torch::Tensor host = losses.detach().to(torch::kCPU, torch::kFloat64).contiguous();
    for (size_t t = 0; t < part.size(); ++t) {
      double bad_value = 0;
      if (!nonfinite_loss("", traces[t], host[static_cast<int64_t>(t)].item<double>(), bad_value).empty()) return false;
    }
    for (size_t t = 0; t < part.size(); ++t) {
      record.traces.insert(record.traces.end(), traces[t].begin(), traces[t].end());
      record.loss += host[static_cast<int64_t>(t)].item<double>();
    }
    if (!clip) {
      losses.sum().backward();
      return true;
    }
    std::vector<torch::Tensor> grads = task_replica_gradients(replicas, losses.sum());
    if (options_.task_gradients) options_.task_gradients(grads);
    // Each task's meta-gradient norm (of its own loss: the shares' times the tasks per step), its
    // clipping scale, and 0 for a task whose meta-gradient is not finite.
    const std::vector<double> norms = group_norms(grads, n);
    std::vector<double> scales(static_cast<size_t>(n));
    for (int64_t t = 0; t < n; ++t) {
      const double norm = norms[static_cast<size_t>(t)] * static_cast<double>(all_per_step_);
      if (!std::isfinite(norm)) {
        std::vector<torch::Tensor> own;
        for (const torch::Tensor& g : grads) own.push_back(g.defined() ? g[t] : g);
        std::vector<torch::Tensor> owners;
        for (const auto& leaf : replicas.leaves) owners.push_back(leaf.first);
        nonfinite(str(task_name(picked[first + static_cast<size_t>(t)]), ": meta-gradient of ", first_nonfinite(own, owners)),
                  "NaN or Inf", "the task is left out of this step", record);
        scales[static_cast<size_t>(t)] = 0;
        continue;
      }
      scales[static_cast<size_t>(t)] = norm > config_.outer_task_clip ? config_.outer_task_clip / norm : 1.0;
      record.task_grad_norm_max = std::max(record.task_grad_norm_max, norm);
    }
    add_task_gradients(replicas, grads, scales);
    return true;
  }

  // One optimizer step: the scheduled learning rate, the tasks' losses through the inner loop
  // (gradients accumulated), clipping, the update.
  StepRecord step() {
    const auto step_start = std::chrono::steady_clock::now();
    StepRecord record;
    record.lr_factor = lr_schedule(state_.step, state_.total_steps, config_.outer_warmup);
    optimizer_.set_lr_factor(record.lr_factor);
    release_gradients(*optimizer_.adamw);
    // The step's tasks in the run's order; with several processes, process r takes the r-th
    // share of them (so that N processes step through the data as one would with N times the tasks).
    std::vector<size_t> picked;
    std::vector<const EncodedTask*> tasks;
    const int64_t mine = per_step_ * group_->rank();
    for (int64_t i = 0; i < all_per_step_; ++i) {
      const size_t next = order_->next(state_);
      if (i < mine || i >= mine + per_step_) continue;
      picked.push_back(next);
      tasks.push_back(&encoded_[picked.back()]);
    }
    if (options_.before_step) options_.before_step(model_, tasks, state_.step);
    // One micro-batch at a time: its tasks through one task-batched inner loop (outer.batched; with
    // outer.task_clip through per-task replicas of the outer tensors), or one task after another.
    const size_t micro = static_cast<size_t>(config_.outer_batch_tasks);
    const bool batched = config_.outer_batched;
    for (size_t first = 0; first < tasks.size(); first += micro) {
      const size_t last = std::min(tasks.size(), first + micro);
      if (!batched || last - first == 1 || !add_micro_batch(tasks, picked, first, last, record)) {
        for (size_t t = first; t < last; ++t) add_task(picked[t], *tasks[t], record);
      }
    }
    if (group_->size() > 1) {
      const int64_t before = group_->bytes_communicated();
      sum_over_processes(record);
      record.comm_bytes = group_->bytes_communicated() - before;
    }
    // A NaN or Inf in the accumulated gradient (with finite losses): the update is left out or the
    // run stops - before clipping, which would spread it to every tensor.
    std::vector<torch::Tensor> grads;
    for (const auto& p : optimizer_.params) grads.push_back(p.grad());
    if (const std::string bad = first_nonfinite(grads); !bad.empty()) {
      nonfinite(str("gradient of ", bad), "NaN or Inf", "the step's update is left out", record);
      release_gradients(*optimizer_.adamw);
      record.update_skipped = true;
    } else if (config_.outer_clip > 0) {
      record.grad_norm = torch::nn::utils::clip_grad_norm_(optimizer_.params, config_.outer_clip);
    } else {
      record.grad_norm = global_norm(grads);
    }
    if (!record.update_skipped) optimizer_.adamw->step();
    // The rates come out of the update finite (the gradient was); an overflow of a log-space rate
    // cannot be left out any more - it stops the run whatever the policy.
    if (model_.lrs.learned()) {
      const torch::Tensor rates = model_.lrs.log_space ? model_.lrs.values.detach().exp() : model_.lrs.values.detach();
      check(all_finite(rates), str("step ", state_.step + 1, ": learned inner rates after the update"), "finite rates",
            "NaN or Inf (lower outer.lr_rates; the last checkpoint is intact)");
    }
    ++state_.step;
    if (config_.dist_check_every > 0 && state_.step % config_.dist_check_every == 0) {
      check_replicas(str("step ", state_.step));
    }
    summary_.losses.push_back(record.loss);
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
    return record;
  }

  // The step's metrics line, and the progress line on a terminal (or every log.every steps).
  void report(const StepRecord& record, double elapsed, int64_t first_step) {
    if (!main_) return;
    const nlohmann::json line = metrics_line(state_, config_, model_.lrs, record, all_per_step_, elapsed);
    metrics_ << line.dump() << "\n";
    metrics_.flush();
    if (!tty_ && state_.step % config_.log_every != 0) return;
    const double eta = elapsed / static_cast<double>(state_.step - first_step) *
                       static_cast<double>(state_.total_steps - state_.step);
    const auto& inner_loss = line.at("inner_loss");
    std::fprintf(stderr, "%sstep %lld/%lld  loss %.4f  inner %.3f->%.3f  %.2f tasks/s  ETA %s%s", tty_ ? "\r" : "",
                 (long long)state_.step, (long long)state_.total_steps, record.loss,
                 inner_loss.empty() ? 0.0 : inner_loss.front().get<double>(),
                 inner_loss.empty() ? 0.0 : inner_loss.back().get<double>(),
                 static_cast<double>(all_per_step_) / record.seconds, format_duration(eta).c_str(), tty_ ? "   " : "\n");
  }

  // Validation (eval.jsonl, checkpoints/best on improvement, patience) and checkpoints/last.
  // Returns whether to stop early.
  bool validate_and_checkpoint() {
    bool stop = false;
    if (!data_.valid.empty()) {
      EvalReport report = evaluate(model_, data_.valid, eval_options_, data_.valid_pool);
      const double acc = report.overall.label_accuracy();
      nlohmann::json line = {{"step", state_.step},
                             {"valid", eval_report_to_json(report, false)},
                             {"inner_lrs", inner_lrs_snapshot(model_.lrs)}};
      if (main_) std::ofstream(paths_.evals, std::ios::app) << line.dump() << "\n";
      if (acc > state_.best_accuracy) {
        state_.best_accuracy = acc;
        state_.best_step = state_.step;
        state_.bad_evals = 0;
        refuse_nonfinite(paths_.best_dir);
        if (main_) reckoning_model_save(model_, paths_.best_dir);
      } else {
        ++state_.bad_evals;
      }
      if (main_) std::fprintf(stderr, "%svalidation at step %lld: label accuracy %.1f%% (best %.1f%% at step %lld)\n",
                   tty_ ? "\n" : "", (long long)state_.step, 100 * acc, 100 * state_.best_accuracy,
                   (long long)state_.best_step);
      stop = config_.eval_patience > 0 && state_.bad_evals >= config_.eval_patience;
    }
    save_last();
    return stop;
  }

  // outer.nonfinite: "stop" throws naming `what` (step, task, tensor) and its value; "skip" says it
  // on stderr, records it in the step's metrics line and goes on (`then` says what is left out).
  void nonfinite(const std::string& what, const std::string& value, const std::string& then, StepRecord& record) {
    const std::string where = str("step ", state_.step + 1, ", ", what);
    check(config_.outer_nonfinite == "skip", where,
          "a finite value (configuration key 'outer.nonfinite' is 'stop'; 'skip' would go on without it)", value);
    std::fprintf(stderr, "%swarning: %s is %s: %s (outer.nonfinite skip)\n", tty_ ? "\n" : "", where.c_str(),
                 value.c_str(), then.c_str());
    record.skipped.push_back(str(what, " is ", value));
  }

  // The name of the first outer tensor whose gradient in `grads` holds a NaN or Inf ("" when none
  // does); grads[i] belongs to owners[i] (by default optimizer_.params).
  std::string first_nonfinite(const std::vector<torch::Tensor>& grads, const std::vector<torch::Tensor>& owners = {}) const {
    const std::vector<torch::Tensor>& of = owners.empty() ? optimizer_.params : owners;
    for (size_t i = 0; i < grads.size(); ++i) {
      if (!grads[i].defined() || all_finite(grads[i])) continue;
      for (const auto& [name, t] : named_tensors(model_))
        if (t.unsafeGetTensorImpl() == of[i].unsafeGetTensorImpl()) return name;
      return str("parameter ", i);
    }
    return "";
  }

  // Nothing non-finite is ever written into a checkpoint.
  void refuse_nonfinite(const std::string& dir) const {
    for (const auto& [name, t] : named_tensors(model_))
      check(all_finite(t), str("checkpoint ", dir, ": tensor '", name, "'"), "finite values (nothing else is written)",
            "NaN or Inf");
  }

  // checkpoints/last: the model, the outer optimizer, the RNG and the trainer state, replaced whole.
  // With several processes every one takes part (their random streams are gathered, their weights
  // compared) and rank 0 writes.
  void save_last() {
    refuse_nonfinite(paths_.last_dir);
    const std::vector<torch::Tensor> streams = random_streams();
    if (config_.dist_check_every == 0) check_replicas(str("the checkpoint of step ", state_.step));
    if (!main_) return;
    const std::string staging = staging_path(paths_.last_dir);
    try {
      reckoning_model_write_files(model_, staging);
      save_optimizer(*optimizer_.adamw, path_join(staging, "optimizer.pt"));
      std::vector<std::pair<std::string, torch::Tensor>> rng;
      for (size_t r = 0; r < streams.size(); ++r) rng.emplace_back(rng_tensor_name(static_cast<int>(r)), streams[r]);
      safetensors_save(path_join(staging, "rng.safetensors"), rng);
      write_json_file_atomic(path_join(staging, "trainer_state.json"), state_.to_json());
      replace_directory(staging, paths_.last_dir);
    } catch (...) {
      // A checkpoint is written whole or not at all: the previous one stays, and nothing
      // half-written is left beside it (a full disk gets its space back).
      try {
        remove_tree(staging);
      } catch (const Error&) {
      }
      throw;
    }
  }

  TrainSummary finish() {
    if (tty_) std::fprintf(stderr, "\n");
    if (data_.valid.empty() && state_.step == state_.total_steps) {
      refuse_nonfinite(paths_.best_dir);
      if (main_) reckoning_model_save(model_, paths_.best_dir);  // without validation the final model is the one to use
      state_.best_step = state_.step;
    }
    group_->barrier("end of training (rank 0 has written the checkpoints)");
    summary_.steps = state_.step;
    summary_.best_step = state_.best_step;
    summary_.best_valid_accuracy = state_.best_accuracy;
    return summary_;
  }

  // Several processes: the step's gradients (of the parameters that have one on any process) and
  // its loss summed over them, in buckets of dist.bucket_mb. Each process's tasks were already
  // divided by the tasks of all processes, so the sum is the mean over every task of the step:
  // N processes of b tasks give what one process of N b tasks would.
  void sum_over_processes(StepRecord& record) {
    const std::string what = str("gradients of step ", state_.step + 1);
    const torch::Device device = model_.device();
    torch::Tensor has_grad = torch::zeros({static_cast<int64_t>(optimizer_.params.size())}, torch::kFloat64);
    for (size_t i = 0; i < optimizer_.params.size(); ++i) has_grad[static_cast<int64_t>(i)] = optimizer_.params[i].grad().defined() ? 1.0 : 0.0;
    torch::Tensor loss = torch::tensor({record.loss}, torch::kFloat64);
    std::vector<torch::Tensor> header{has_grad.to(device), loss.to(device)};
    group_->all_reduce_sum(header, what);
    const torch::Tensor anywhere = header[0].cpu();
    record.loss = header[1].cpu().item<double>();
    std::vector<torch::Tensor> grads;
    for (size_t i = 0; i < optimizer_.params.size(); ++i) {
      if (anywhere[static_cast<int64_t>(i)].item<double>() == 0) continue;  // no process: stays without (AdamW skips it)
      torch::Tensor& p = optimizer_.params[i];
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    group_->all_reduce_sum(grads, what, static_cast<size_t>(config_.dist_bucket_mb * (1 << 20)));
  }

  // Every process holds the same weights and rates (their bytes' fingerprint), or the run stops.
  void check_replicas(const std::string& when) {
    if (group_->size() == 1) return;
    std::vector<torch::Tensor> tensors;
    for (const auto& [name, t] : named_tensors(model_)) tensors.push_back(t);
    const std::vector<std::string> all = group_->all_gather_text(std::to_string(tensors_fingerprint(tensors)),
                                                                 str("weight fingerprints at ", when));
    for (size_t r = 1; r < all.size(); ++r) {
      check(all[r] == all[0], str("processes of the run at ", when),
            "identical weights and rates on every process",
            str("fingerprint ", all[r], " on rank ", r, " and ", all[0], " on rank 0 (the run stops; the last "
                "checkpoint is intact)"));
    }
  }

  // The random state of every process (CPU generator), in rank order.
  std::vector<torch::Tensor> random_streams() {
    const torch::Tensor mine = at::detail::getDefaultCPUGenerator().get_state();
    if (group_->size() == 1) return {mine};
    const std::string bytes(reinterpret_cast<const char*>(mine.data_ptr<uint8_t>()), static_cast<size_t>(mine.numel()));
    std::vector<torch::Tensor> out;
    for (const std::string& s : group_->all_gather_text(bytes, "random states for the checkpoint")) {
      torch::Tensor t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
      std::memcpy(t.data_ptr<uint8_t>(), s.data(), s.size());
      out.push_back(t);
    }
    return out;
  }

  // The checkpoint's name for process r's random state ("cpu_generator" for rank 0, as always).
  static std::string rng_tensor_name(int rank) { return rank == 0 ? "cpu_generator" : str("cpu_generator_rank", rank); }
  static uint64_t rank_seed(uint64_t seed, int rank) { return seed * 1000003ULL + 0x9E3779B97F4A7C15ULL * static_cast<uint64_t>(rank); }

  const RunConfig config_;
  const TrainOptions options_;
  const RunPaths paths_;
  RunConfig resolved_;  // config_ with what the data decide (data.dataset)
  std::unique_ptr<MatmulDtypeScope> matmul_scope_;
  std::unique_ptr<RunLock> lock_;  // held for the whole run (run_lock.h)
  RunData data_;
  TrainerState state_;
  ReckoningModel model_;
  std::vector<EncodedTask> encoded_;
  int64_t per_step_ = 1, eval_every_ = 1;
  int64_t all_per_step_ = 1;  // tasks per step of all processes together
  std::shared_ptr<ProcessGroup> group_;
  bool main_ = true;  // rank 0: writes the run directory, reports
  EvalOptions eval_options_;
  OuterOptimizer optimizer_;
  std::unique_ptr<TaskOrder> order_;
  TrainSummary summary_;
  bool tty_ = false;
  std::ofstream metrics_;
};

}  // namespace

TrainSummary train(const RunConfig& config, const TrainOptions& options) { return Trainer(config, options).run(); }

std::optional<EvalReport> evaluate_test_set(const RunConfig& config, const TrainSummary& summary,
                                            const TrainOptions& options) {
  if (config.data_test.empty() || !file_exists(path_join(summary.best_dir, "config.json"))) return std::nullopt;
  if (options.stop_after > 0 && summary.steps < options.stop_after) return std::nullopt;  // ended before it
  ReckoningModel model = reckoning_model_load(summary.best_dir);
  reckoning_model_to(model, model.device());
  const MatmulDtypeScope matmul_scope(model.matmul_dtype());
  std::vector<Task> test = tasks_subsample(tasks_load(config.data_test), config.data_max_eval);
  EvalReport report = evaluate(model, test, summary.eval_options, fact_pool_of(test));
  if (summary.eval_options.shard.index == 0) {  // rank 0 writes (the shard says which process this is)
    write_json_file_atomic(path_join(config.run_dir, "test_report.json"), eval_report_to_json(report, true));
  }
  return report;
}

}  // namespace reckoning
