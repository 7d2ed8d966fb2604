// The configuration of a training / evaluation run: one flat table of dotted keys ("inner.steps",
// "outer.lr") read from a YAML file (nested maps are flattened), then overridden by --set
// key=value, validated before any work starts, and written as JSON into the run directory.
// Every key, its type, default and meaning is defined once, in run_config.cpp's field table.
// Enum-valued keys (method, control, inner.optimizer, inner.lr_mode, matmul_dtype) and the
// device are typed: parsed once, when a file, an override or a JSON record is read, through the
// enum's one name table (base/enum_table.h); nothing downstream parses them again.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include "reckoning/meta/inner_loop.h"
#include "reckoning/meta/inner_lrs.h"
#include "reckoning/meta/prompts.h"
#include "reckoning/model/lora.h"
#include "reckoning/model/precision.h"

namespace reckoning {

struct RunConfig {
  // data
  std::string data_train;          // canonical task JSONL (required for training)
  std::string data_valid;          // validation tasks (model selection / early stopping)
  std::string data_test;           // test tasks (evaluated once, with the best checkpoint)
  std::string data_dataset;        // prompt conventions (proofwriter, clutrr, ...); empty = from data.train
  int64_t data_distractors = -1;   // distractors encoded per task: -1 = all, 0 = none, k
  int64_t data_max_train = 0;      // use at most this many training tasks (0 = all)
  int64_t data_max_eval = 0;       // evaluate at most this many tasks per split (0 = all)
  // model
  std::string model_init;          // model directory to start from; empty = from scratch
  std::string model_arch = "gpt2";  // gpt2 | llama | mistral | qwen2 | qwen3 (from scratch)
  int64_t model_n_layer = 2;
  int64_t model_n_embd = 128;
  int64_t model_n_head = 4;
  int64_t model_n_ctx = 256;
  int64_t model_n_kv_head = 0;     // Llama family: key/value heads (0 = model.n_head)
  int64_t model_n_inner = 0;       // Llama family: MLP width (0 = 4 model.n_embd, GPT-2's)
  double model_dropout = 0.1;      // embd/attn/resid dropout of a model built from scratch
  std::string model_tokenizer = "word";  // "word": build from the training data; or a directory
  // method
  Method method = Method::Reckoning;
  Control control = Control::None;
  bool multi_task = false;               // target "{answer} because {relevant facts}"
  // inner loop
  int64_t inner_steps = 4;
  InnerOptimizer inner_optimizer = InnerOptimizer::AdamW;
  LrMode inner_lr_mode = LrMode::PerLayer;
  double inner_lr = 1e-5;                 // initial (or static) inner learning rate
  bool inner_log_space = true;            // rates parametrised as exp(value): always positive
  bool inner_first_order = false;
  double inner_weight_decay = -1;         // < 0: by optimizer (AdamW 0.01, SGD 0 as the authors')
  double inner_beta1 = 0.9;
  double inner_beta2 = 0.999;
  double inner_eps = 1e-8;
  double inner_eps_root = 0;              // AdamW denominator sqrt(v_hat + eps_root) + eps
  bool inner_float64_update = false;      // AdamW update and its derivatives computed in float64
  double inner_momentum = -1;             // SGD momentum; < 0: 0.9 (the authors')
  double inner_grad_clip = 0.0;
  // Prompt texts (prompts.h, PromptOptions): per model family if need be.
  std::string prompt_fact_key = "fact_{i}";
  std::string prompt_entailment_question = "Based on {keys}, can we conclude {question}?";
  std::string prompt_relation_question = "Based on {keys}, {question}";
  std::string prompt_bos = "auto";
  std::string prompt_entailment_answers = "";
  std::string inner_adapt = "";           // "" / "full" = all, "lora" = adapters, else a regex over names
  int64_t inner_lora_rank = 8;
  double inner_lora_alpha = 16;
  double inner_lora_dropout = 0;
  std::string inner_lora_targets = "all";  // the family's modules that the list names
  int64_t inner_unroll_from = 0;          // truncated unrolling: steps < K first order
  int64_t inner_fact_batch = 0;           // facts per inner-gradient chunk (0 = one batch)
  bool inner_fused = true;                // fused differentiable AdamW node (false = plain ops)
  bool inner_dropout = true;              // dropout in the inner loop during training
  // outer loop
  double outer_lr = 3e-5;
  bool outer_train_base = true;           // false: only adapters' initial values and rates (lora)
  double outer_lr_rates = -1;             // learning rate of the inner rates; < 0: rates_lr()
  double outer_weight_decay = 0.05;
  double outer_beta1 = 0.9;
  double outer_beta2 = 0.999;
  double outer_eps = 1e-8;
  double outer_warmup = 0.06;             // fraction of total steps
  int64_t outer_epochs = 5;
  int64_t outer_max_steps = 0;            // optimizer steps; 0 = epochs x tasks / (batch x accum)
  int64_t outer_batch_tasks = 1;          // tasks per micro-batch
  int64_t outer_grad_accum = 2;           // micro-batches per optimizer step
  bool outer_batched = true;              // a micro-batch's tasks through one task-batched inner loop
  double outer_clip = 0.1;                // global gradient-norm clip; 0 = off
  double outer_task_clip = 0;             // clip each task's meta-gradient norm before averaging; 0 = off
  std::string outer_nonfinite = "stop";   // a NaN / Inf loss, gradient or rate: "stop" (an error) or "skip"
  // evaluation and checkpoints
  int64_t eval_every = 200;               // optimizer steps between validations; 0 = per epoch
  int64_t eval_patience = 5;              // validations without improvement before stopping; 0 = never
  int64_t eval_num_beams = 1;             // 1 = greedy
  int64_t eval_max_new_tokens = 0;        // 0 = derived from the longest training target
  int64_t eval_batch_tasks = 8;           // tasks adapted at once by evaluation (1 = one at a time)
  std::string eval_labels;                // constrained answering: "" = generate freely, "auto" =
                                          // the training answers, or "yes,no,none" (eval/labels.h)
  int64_t checkpoint_every = 0;           // steps between "last" checkpoints; 0 = at each validation
  int64_t log_every = 10;
  // run
  std::string run_dir = "runs/run";
  uint64_t seed = 1;
  int64_t threads = 0;                    // 0 = $RECKONING_THREADS or the usable CPUs (threads.h)
  MatmulDtype matmul_dtype = MatmulDtype::Float32;  // matrix products only (precision.h)
  torch::Device device = torch::kCPU;     // cpu | cuda | cuda:N (device.h; usability checked on use)
  // several processes (dist/process_group.h; the ranks come from the environment)
  std::string dist_backend = "auto";      // auto (nccl on CUDA where built, else gloo) | gloo | nccl
  double dist_timeout = 300;              // seconds a collective waits for the other ranks
  int64_t dist_check_every = 0;           // steps between identical-weights checks; 0 = at checkpoints
  double dist_bucket_mb = 25;             // gradient all-reduce bucket size (MB)

  // The settings of the inner loop and of the prompts these keys describe.
  InnerLoopConfig inner_loop() const;
  // The adapters inner.lora_* describe (inner.adapt lora).
  LoraConfig lora() const;
  PromptOptions prompt_options() const;
  InnerMode inner_mode() const { return inner_first_order ? InnerMode::FirstOrder : InnerMode::SecondOrder; }
  // The outer learning rate of the learned inner rates: outer.lr_rates, else (< 0) 1e-2 in log
  // space (about 1 % of each rate per step) and outer.lr for raw rates.
  double rates_lr() const;
};

// The documented keys, in table order: {"inner.steps", "int", "4", "Inner steps"}. An enum
// key's type is "one of a | b" and its help lists the same names (from the enum's table).
// `model` says whether a model directory keeps the key (reckoning.json): what encoding knowledge
// and answering need, not the data paths or the outer loop's settings.
struct RunConfigKey {
  std::string key, type, default_value, help;
  bool model = false;
};
std::vector<RunConfigKey> run_config_keys();

// Reads a YAML file (nested maps flatten to dotted keys). Unknown keys, wrong types and invalid
// values are errors naming the file and key. A top-level `base: OTHER.yaml` (relative to this
// file's directory) loads OTHER first; this file's keys then override it (chains allowed, cycles
// refused).
RunConfig run_config_load(const std::string& path);
// Applies "key=value" (value parsed as YAML scalar); `where` names the source ("--set").
void run_config_set(RunConfig& config, const std::string& assignment, const std::string& where);
// Refuses invalid combinations and values, naming the key.
void run_config_validate(const RunConfig& config);
// run_config_validate plus the rules of meta-training: bfloat16 products are refused for
// second-order AdamW RECKONING, whose meta-gradient they turn to noise (evaluation, which takes no
// meta-gradient, accepts them).
void run_config_validate_training(const RunConfig& config);
nlohmann::json run_config_to_json(const RunConfig& config);
// Only the keys a model directory keeps (RunConfigKey::model).
nlohmann::json run_config_model_json(const RunConfig& config);
// The inverse of run_config_to_json (for checkpoints, including a model's reckoning.json written
// with every key by earlier versions); keys it lacks keep their defaults. Errors name `where` and
// the key.
RunConfig run_config_from_json(const nlohmann::json& json, const std::string& where);

}  // namespace reckoning
