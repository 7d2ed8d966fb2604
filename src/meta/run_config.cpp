// Run configuration; see run_config.h. The field table below is the only list of keys.
#include "reckoning/meta/run_config.h"

#include <sstream>
#include <variant>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/text.h"
#include "reckoning/model/llama_config.h"

namespace reckoning {

namespace {

using Member = std::variant<int64_t RunConfig::*, uint64_t RunConfig::*, double RunConfig::*, bool RunConfig::*,
                            std::string RunConfig::*, Method RunConfig::*, Control RunConfig::*,
                            InnerOptimizer RunConfig::*, LrMode RunConfig::*, MatmulDtype RunConfig::*,
                            torch::Device RunConfig::*>;

// Whether a model directory keeps the key (reckoning.json): what encoding and answering need.
enum Scope { kRun, kModel };

struct Field {
  const char* key;
  Member member;
  const char* help;
  Scope scope;
};

// A key's value as text (YAML scalars, --print-config, the key table's defaults) and back.
template <class T>
std::string value_string(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return v;
  else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else if constexpr (std::is_enum_v<T>) return enum_name(v);
  else if constexpr (std::is_same_v<T, torch::Device>) return device_name(v);
  else {
    std::ostringstream out;
    out << v;
    return out.str();
  }
}

template <class T>
T value_from_string(const std::string& text, const std::string& where) {
  if constexpr (std::is_enum_v<T>) return enum_parse<T>(text, where);
  else return device_from_name(text, where);
}

// The type column of the key table.
template <class T>
std::string type_name() {
  if constexpr (std::is_same_v<T, std::string>) return "string";
  else if constexpr (std::is_same_v<T, bool>) return "bool";
  else if constexpr (std::is_same_v<T, double>) return "number";
  else if constexpr (std::is_enum_v<T>) return str("one of ", enum_choices<T>(", "));
  else if constexpr (std::is_same_v<T, torch::Device>) return "device";
  else return "int";
}

const std::vector<Field>& fields() {
  static const std::vector<Field> table{
      {"data.train", &RunConfig::data_train, "training tasks (canonical JSONL)", kRun},
      {"data.valid", &RunConfig::data_valid, "validation tasks (model selection, early stopping)", kRun},
      {"data.test", &RunConfig::data_test, "test tasks (evaluated once with the best checkpoint)", kRun},
      {"data.dataset", &RunConfig::data_dataset, "prompt conventions of answered questions (empty = data.train's)", kModel},
      {"data.distractors", &RunConfig::data_distractors, "distractors encoded per task (-1 = all)", kModel},
      {"data.max_train", &RunConfig::data_max_train, "at most this many training tasks (0 = all)", kRun},
      {"data.max_eval", &RunConfig::data_max_eval, "at most this many tasks per evaluation (0 = all)", kRun},
      {"model.init", &RunConfig::model_init, "model directory to start from (empty = from scratch)", kRun},
      {"model.arch", &RunConfig::model_arch, "model family from scratch: gpt2, llama, mistral, qwen2 or qwen3", kRun},
      {"model.n_layer", &RunConfig::model_n_layer, "transformer blocks (from scratch)", kRun},
      {"model.n_embd", &RunConfig::model_n_embd, "width (from scratch)", kRun},
      {"model.n_head", &RunConfig::model_n_head, "attention heads (from scratch)", kRun},
      {"model.n_ctx", &RunConfig::model_n_ctx, "context length (from scratch)", kRun},
      {"model.n_kv_head", &RunConfig::model_n_kv_head, "key/value heads of a Llama-family model from scratch (0 = model.n_head)", kRun},
      {"model.n_inner", &RunConfig::model_n_inner, "MLP width of a Llama-family model from scratch (0 = 4 model.n_embd)", kRun},
      {"model.dropout", &RunConfig::model_dropout, "dropout probability (from scratch)", kRun},
      {"model.tokenizer", &RunConfig::model_tokenizer, "'word' (built from the data) or a directory", kRun},
      {"method", &RunConfig::method, "knowledge in the weights (reckoning) or in the context (ft-icr)", kModel},
      {"control", &RunConfig::control, "a control of the paper: the facts left out, replaced by random ones, or the question left out", kModel},
      {"multi_task", &RunConfig::multi_task, "target '{answer} because {relevant facts}'", kModel},
      {"prompt.fact_key", &RunConfig::prompt_fact_key, "a fact's key; {i} is its index (fact sequences start with '{key}: ')", kModel},
      {"prompt.entailment_question", &RunConfig::prompt_entailment_question, "question prompt of proofwriter / folio ({keys}, {question})", kModel},
      {"prompt.relation_question", &RunConfig::prompt_relation_question, "question prompt of clutrr / clutrr-sg ({keys}, {question})", kModel},
      {"prompt.entailment_answers", &RunConfig::prompt_entailment_answers, "answer words of true, false, unknown entailment labels, comma-separated (empty = yes, no, none / unknown)", kModel},
      {"prompt.bos", &RunConfig::prompt_bos, "BOS before every sequence: auto (as the tokenizer's family expects), yes or no", kModel},
      {"inner.steps", &RunConfig::inner_steps, "inner steps", kModel},
      {"inner.optimizer", &RunConfig::inner_optimizer, "inner-loop optimizer", kModel},
      {"inner.lr_mode", &RunConfig::inner_lr_mode, "learned rates per layer and step, per tensor and step, or one static rate", kModel},
      {"inner.lr", &RunConfig::inner_lr, "initial (or static) inner learning rate", kModel},
      {"inner.log_space", &RunConfig::inner_log_space, "parametrise rates as exp(value): always positive, changed multiplicatively", kModel},
      {"inner.first_order", &RunConfig::inner_first_order, "first-order meta-gradient", kModel},
      {"inner.weight_decay", &RunConfig::inner_weight_decay, "inner weight decay (< 0 = by optimizer: adamw 0.01, sgd 0)", kModel},
      {"inner.beta1", &RunConfig::inner_beta1, "inner AdamW beta1", kModel},
      {"inner.beta2", &RunConfig::inner_beta2, "inner AdamW beta2", kModel},
      {"inner.eps", &RunConfig::inner_eps, "inner AdamW epsilon", kModel},
      {"inner.eps_root", &RunConfig::inner_eps_root, "inner AdamW epsilon inside the square root: sqrt(v_hat + eps_root) + eps (0 = torch's AdamW)", kModel},
      {"inner.float64_update", &RunConfig::inner_float64_update, "compute the inner AdamW update and its derivatives in float64 (tensors stay in their type)", kModel},
      {"inner.momentum", &RunConfig::inner_momentum, "inner SGD momentum (< 0 = 0.9, the authors')", kModel},
      {"inner.grad_clip", &RunConfig::inner_grad_clip, "inner gradient-norm clip (0 = off)", kModel},
      {"inner.adapt", &RunConfig::inner_adapt, "what the inner loop adapts: 'full' (every weight; also empty), 'lora' (LoRA adapters only) or a regex of weight names", kModel},
      {"inner.lora_rank", &RunConfig::inner_lora_rank, "LoRA rank of the adapters (inner.adapt lora)", kModel},
      {"inner.lora_alpha", &RunConfig::inner_lora_alpha, "LoRA alpha: the adapters' update is scaled by alpha / rank", kModel},
      {"inner.lora_dropout", &RunConfig::inner_lora_dropout, "dropout on the adapters' input while training", kModel},
      {"inner.lora_targets", &RunConfig::inner_lora_targets, "modules with adapters, comma-separated: all (the model family's every projection), or GPT-2's attn.c_attn, attn.c_proj, mlp.c_fc, mlp.c_proj, the Llama family's self_attn.q_proj, k_proj, v_proj, o_proj, mlp.gate_proj, up_proj, down_proj (or their last parts)", kModel},
      {"inner.unroll_from", &RunConfig::inner_unroll_from, "truncated unrolling: the first K inner steps are first order, the rest exact second order (0 = exact)", kRun},
      {"inner.fact_batch", &RunConfig::inner_fact_batch, "facts per chunk of the inner gradient, accumulated to the one-batch gradient (0 = one batch)", kModel},
      {"inner.fused", &RunConfig::inner_fused, "fused differentiable AdamW node (false = plain ops, the reference): a CPU kernel, tensor operations on a GPU", kModel},
      {"inner.dropout", &RunConfig::inner_dropout, "dropout in the inner loop while training", kModel},
      {"outer.lr", &RunConfig::outer_lr, "outer AdamW learning rate", kRun},
      {"outer.train_base", &RunConfig::outer_train_base, "train the base weights in the outer loop (false: with inner.adapt lora, only the adapters' initial values and the rates are trained)", kRun},
      {"outer.lr_rates", &RunConfig::outer_lr_rates, "learning rate of the inner rates (< 0 = 1e-2 with inner.log_space, else outer.lr)", kRun},
      {"outer.weight_decay", &RunConfig::outer_weight_decay, "outer weight decay (not on biases, norms, rates)", kRun},
      {"outer.beta1", &RunConfig::outer_beta1, "outer AdamW beta1", kRun},
      {"outer.beta2", &RunConfig::outer_beta2, "outer AdamW beta2", kRun},
      {"outer.eps", &RunConfig::outer_eps, "outer AdamW epsilon", kRun},
      {"outer.warmup", &RunConfig::outer_warmup, "linear warm-up, fraction of all steps", kRun},
      {"outer.epochs", &RunConfig::outer_epochs, "epochs over the training tasks", kRun},
      {"outer.max_steps", &RunConfig::outer_max_steps, "optimizer steps (0 = from epochs)", kRun},
      {"outer.batch_tasks", &RunConfig::outer_batch_tasks, "tasks per micro-batch", kRun},
      {"outer.grad_accum", &RunConfig::outer_grad_accum, "micro-batches per optimizer step", kRun},
      {"outer.batched", &RunConfig::outer_batched, "a micro-batch's tasks go through one task-batched inner loop (false: one task after another, one task's graph held at a time)", kRun},
      {"outer.clip", &RunConfig::outer_clip, "global gradient-norm clip (0 = off)", kRun},
      {"outer.task_clip", &RunConfig::outer_task_clip, "clip each task's meta-gradient norm to this before the tasks are averaged (0 = off)", kRun},
      {"outer.nonfinite", &RunConfig::outer_nonfinite, "a NaN or Inf in an inner or outer loss, the gradient or a learned rate: 'stop' (an error naming the step, task and tensor) or 'skip' (that task, or that step's update, is left out and logged)", kRun},
      {"eval.every", &RunConfig::eval_every, "steps between validations (0 = each epoch)", kRun},
      {"eval.patience", &RunConfig::eval_patience, "validations without improvement before stopping (0 = never)", kRun},
      {"eval.num_beams", &RunConfig::eval_num_beams, "beams for answer generation (1 = greedy)", kModel},
      {"eval.labels", &RunConfig::eval_labels, "constrained answering: the most likely of these comma-separated labels ('auto' = the training tasks' answers; empty = generate freely)", kModel},
      {"eval.max_new_tokens", &RunConfig::eval_max_new_tokens, "generation budget (0 = multi-task: until EOS or a full context; single-task: longest training target + 4)", kModel},
      {"eval.batch_tasks", &RunConfig::eval_batch_tasks, "tasks whose knowledge evaluation encodes and answers at once (task-batched inner loop and answering; 1 = one at a time); the metrics do not depend on it", kRun},
      {"checkpoint.every", &RunConfig::checkpoint_every, "steps between 'last' checkpoints (0 = at validations)", kRun},
      {"log.every", &RunConfig::log_every, "steps between progress lines", kRun},
      {"run_dir", &RunConfig::run_dir, "output directory of the run", kRun},
      {"seed", &RunConfig::seed, "seed of everything random", kModel},
      {"threads", &RunConfig::threads, "intra-op threads (0 = $RECKONING_THREADS or the CPUs this process may use: affinity mask, cgroup quota)", kRun},
      {"matmul_dtype", &RunConfig::matmul_dtype, "precision of the matrix products (bfloat16: products only, the rest float32)", kModel},
      {"device", &RunConfig::device, "cpu, cuda or cuda:N: where the model trains and answers (needs a CUDA LibTorch)", kModel},
      {"dist.backend", &RunConfig::dist_backend, "collective backend of a run over several processes (reckoning launch, torchrun): 'auto' (NCCL for a CUDA device where LibTorch has it, else Gloo), 'gloo' or 'nccl'", kRun},
      {"dist.timeout", &RunConfig::dist_timeout, "seconds a collective waits for the other processes before the run stops with an error naming it (a rank that died or hangs)", kRun},
      {"dist.check_every", &RunConfig::dist_check_every, "steps between checks that every process holds identical weights (0 = at each validation and checkpoint)", kRun},
      {"dist.bucket_mb", &RunConfig::dist_bucket_mb, "size of the buckets in which gradients are all-reduced (MB)", kRun},
  };
  return table;
}

const Field* find_field(const std::string& key) {
  for (const Field& f : fields()) {
    if (key == f.key) return &f;
  }
  return nullptr;
}

std::string known_keys() {
  std::string out;
  for (const Field& f : fields()) out += (out.empty() ? "" : ", ") + std::string(f.key);
  return out;
}

// Sets one field from a YAML scalar; `where` is "config.yaml: key 'inner.steps'".
void set_field(RunConfig& config, const Field& field, const YAML::Node& node, const std::string& where) {
  check(node.IsScalar() || node.IsNull(), where, "a single value", "a list or map");
  const std::string text = node.IsNull() ? "" : node.Scalar();
  std::visit(
      [&](auto member) {
        using T = std::decay_t<decltype(config.*member)>;
        try {
          if constexpr (std::is_same_v<T, std::string>) {
            config.*member = text;
          } else if constexpr (std::is_enum_v<T> || std::is_same_v<T, torch::Device>) {
            config.*member = value_from_string<T>(text, where);
          } else if constexpr (std::is_same_v<T, bool>) {
            config.*member = node.as<bool>();
          } else {
            T value = node.as<T>();
            config.*member = value;
          }
        } catch (const YAML::Exception&) {
          const char* expected = std::is_same_v<T, bool>                ? "true or false"
                                 : std::is_same_v<T, double>            ? "a number"
                                 : std::is_same_v<T, uint64_t>          ? "a non-negative integer"
                                                                        : "an integer";
          throw_error(where, expected, str("'", text, "'"));
        }
      },
      field.member);
}

void flatten(const YAML::Node& node, const std::string& prefix, const std::string& file, RunConfig& config) {
  for (const auto& entry : node) {
    // A YAML key may itself be a list or a map ("? a: 1" makes one): not a key of ours.
    check(entry.first.IsScalar(), str(file, ": a key", prefix.empty() ? "" : str(" under '", prefix, "'")),
          "a name (e.g. inner.steps)", entry.first.IsMap() ? "a map" : entry.first.IsNull() ? "nothing" : "a list");
    const std::string key = prefix + entry.first.as<std::string>();
    if (entry.second.IsMap()) {
      flatten(entry.second, key + ".", file, config);
      continue;
    }
    const Field* field = find_field(key);
    check(field != nullptr, str(file, ": key '", key, "'"), str("one of: ", known_keys()), "an unknown key");
    set_field(config, *field, entry.second, str(file, ": key '", key, "'"));
  }
}

}  // namespace

std::vector<RunConfigKey> run_config_keys() {
  RunConfig defaults;
  std::vector<RunConfigKey> out;
  for (const Field& f : fields()) {
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(defaults.*member)>;
          out.push_back({f.key, type_name<T>(), value_string(defaults.*member), f.help, f.scope == kModel});
        },
        f.member);
  }
  return out;
}

namespace {

// Loads `path` into `config`: first the file named by its `base` key (relative to `path`'s
// directory, itself possibly with a base), then its own keys, which override the base's.
void load_into(const std::string& path, RunConfig& config, std::vector<std::string>& chain) {
  for (const std::string& seen : chain) {
    check(canonical_path(seen) != canonical_path(path),
          str(chain.back(), ": key 'base'"), "a chain of configuration files without a cycle",
          str("'", path, "' again"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw Error(str(chain.empty() ? path : str(chain.back(), ": key 'base': ", path),
                    ": cannot open the configuration file"));
  } catch (const YAML::Exception& e) {
    throw Error(str(path, ":", e.mark.line + 1, ": invalid YAML (", e.msg, ")"));
  }
  if (root.IsNull()) return;
  check(root.IsMap(), path, "a YAML map of keys", "a list or a scalar");
  chain.push_back(path);
  if (const YAML::Node base = root["base"]) {
    check(base.IsScalar(), str(path, ": key 'base'"), "the path of a configuration file", "a list or a map");
    load_into(normal_path(path_join(parent_path(path), base.as<std::string>())), config, chain);
    root.remove("base");
  }
  flatten(root, "", path, config);
}

}  // namespace

RunConfig run_config_load(const std::string& path) {
  RunConfig config;
  std::vector<std::string> chain;
  load_into(path, config, chain);
  return config;
}

void run_config_set(RunConfig& config, const std::string& assignment, const std::string& where) {
  const size_t eq = assignment.find('=');
  check(eq != std::string::npos && eq > 0, str(where, " '", assignment, "'"), "key=value", "no '='");
  const std::string key = assignment.substr(0, eq);
  const Field* field = find_field(key);
  check(field != nullptr, str(where, ": key '", key, "'"), str("one of: ", known_keys()), "an unknown key");
  YAML::Node node;
  try {
    node = YAML::Load(assignment.substr(eq + 1));
  } catch (const YAML::Exception& e) {
    throw Error(str(where, ": key '", key, "': invalid value (", e.msg, ")"));
  }
  set_field(config, *field, node, str(where, ": key '", key, "'"));
}

namespace {

std::string key(const char* k) { return str("configuration key '", k, "'"); }

}  // namespace

void run_config_validate(const RunConfig& c) {
  auto positive = [&](const char* k, int64_t v) { check(v > 0, key(k), "a positive integer", std::to_string(v)); };
  auto non_negative = [&](const char* k, double v) { check(v >= 0, key(k), "a non-negative number", value_string(v)); };
  check(c.data_distractors >= -1, key("data.distractors"), "-1 (all), 0 or a positive count", std::to_string(c.data_distractors));
  non_negative("data.max_train", static_cast<double>(c.data_max_train));
  non_negative("data.max_eval", static_cast<double>(c.data_max_eval));
  if (c.model_init.empty()) {
    positive("model.n_layer", c.model_n_layer);
    positive("model.n_embd", c.model_n_embd);
    positive("model.n_head", c.model_n_head);
    positive("model.n_ctx", c.model_n_ctx);
    check(c.model_n_embd % c.model_n_head == 0, key("model.n_head"),
          str("a divisor of model.n_embd = ", c.model_n_embd), std::to_string(c.model_n_head));
    check(c.model_arch == "gpt2" || llama_family_model_type(c.model_arch), key("model.arch"),
          "gpt2, llama, mistral, qwen2 or qwen3", str("'", c.model_arch, "'"));
    check(c.model_n_kv_head >= 0 && (c.model_n_kv_head == 0 || c.model_n_head % c.model_n_kv_head == 0),
          key("model.n_kv_head"), str("0 or a divisor of model.n_head = ", c.model_n_head), std::to_string(c.model_n_kv_head));
    check(c.model_n_inner >= 0, key("model.n_inner"), "0 (4 model.n_embd) or a positive width", std::to_string(c.model_n_inner));
    check(c.model_dropout >= 0 && c.model_dropout < 1, key("model.dropout"), "a probability in [0, 1)", value_string(c.model_dropout));
  }
  check(c.prompt_bos == "auto" || c.prompt_bos == "yes" || c.prompt_bos == "no", key("prompt.bos"), "auto, yes or no",
        str("'", c.prompt_bos, "'"));
  if (!c.prompt_entailment_answers.empty()) {
    size_t words = 1, empty = 0;
    std::istringstream items(c.prompt_entailment_answers);
    for (std::string word; std::getline(items, word, ',');) empty += trim(word).empty();
    for (char ch : c.prompt_entailment_answers) words += ch == ',';
    check(words == 3 && empty == 0, key("prompt.entailment_answers"), "three comma-separated words (true, false, unknown)",
          str("'", c.prompt_entailment_answers, "'"));
  }
  check(c.prompt_fact_key.find("{i}") != std::string::npos, key("prompt.fact_key"), "a text with {i} (the fact's index)",
        str("'", c.prompt_fact_key, "'"));
  for (const auto& [name, text] : {std::pair<const char*, const std::string&>{"prompt.entailment_question", c.prompt_entailment_question},
                                   {"prompt.relation_question", c.prompt_relation_question}}) {
    check(text.find("{keys}") != std::string::npos && text.find("{question}") != std::string::npos, key(name),
          "a text with {keys} and {question}", str("'", text, "'"));
  }
  check(!c.model_tokenizer.empty(), key("model.tokenizer"), "'word' or a tokenizer directory", "an empty string");
  check(c.inner_steps >= 0, key("inner.steps"), "a non-negative integer", std::to_string(c.inner_steps));
  check(!c.inner_log_space || c.inner_lr > 0, key("inner.lr"), "a positive rate with inner.log_space", value_string(c.inner_lr));
  check(c.inner_beta1 >= 0 && c.inner_beta1 < 1, key("inner.beta1"), "a number in [0, 1)", value_string(c.inner_beta1));
  check(c.inner_beta2 >= 0 && c.inner_beta2 < 1, key("inner.beta2"), "a number in [0, 1)", value_string(c.inner_beta2));
  check(c.inner_eps > 0, key("inner.eps"), "a positive number", value_string(c.inner_eps));
  non_negative("inner.eps_root", c.inner_eps_root);
  check(c.inner_momentum < 1, key("inner.momentum"), "a number below 1 (< 0 = the default)", value_string(c.inner_momentum));
  non_negative("inner.grad_clip", c.inner_grad_clip);
  if (c.inner_adapt == "lora") {
    positive("inner.lora_rank", c.inner_lora_rank);
    check(c.inner_lora_alpha > 0, key("inner.lora_alpha"), "a positive number", value_string(c.inner_lora_alpha));
    check(c.inner_lora_dropout >= 0 && c.inner_lora_dropout < 1, key("inner.lora_dropout"), "a probability in [0, 1)",
          value_string(c.inner_lora_dropout));
    lora_targets_parse(c.inner_lora_targets, key("inner.lora_targets"));
  } else {
    check(c.outer_train_base, key("outer.train_base"), "true unless inner.adapt is 'lora' (nothing else would be trained)",
          "false");
  }
  non_negative("inner.unroll_from", static_cast<double>(c.inner_unroll_from));
  non_negative("inner.fact_batch", static_cast<double>(c.inner_fact_batch));
  check(c.outer_lr > 0, key("outer.lr"), "a positive number", value_string(c.outer_lr));
  non_negative("outer.weight_decay", c.outer_weight_decay);
  check(c.outer_beta1 >= 0 && c.outer_beta1 < 1, key("outer.beta1"), "a number in [0, 1)", value_string(c.outer_beta1));
  check(c.outer_beta2 >= 0 && c.outer_beta2 < 1, key("outer.beta2"), "a number in [0, 1)", value_string(c.outer_beta2));
  check(c.outer_eps > 0, key("outer.eps"), "a positive number", value_string(c.outer_eps));
  check(c.outer_warmup >= 0 && c.outer_warmup < 1, key("outer.warmup"), "a fraction in [0, 1)", value_string(c.outer_warmup));
  check(c.outer_epochs > 0 || c.outer_max_steps > 0, key("outer.epochs"), "a positive integer (or outer.max_steps > 0)", std::to_string(c.outer_epochs));
  non_negative("outer.max_steps", static_cast<double>(c.outer_max_steps));
  positive("outer.batch_tasks", c.outer_batch_tasks);
  positive("eval.batch_tasks", c.eval_batch_tasks);
  positive("outer.grad_accum", c.outer_grad_accum);
  non_negative("outer.clip", c.outer_clip);
  non_negative("outer.task_clip", c.outer_task_clip);
  check(c.outer_nonfinite == "stop" || c.outer_nonfinite == "skip", key("outer.nonfinite"),
        "'stop' or 'skip'", str("'", c.outer_nonfinite, "'"));
  non_negative("eval.every", static_cast<double>(c.eval_every));
  non_negative("eval.patience", static_cast<double>(c.eval_patience));
  positive("eval.num_beams", c.eval_num_beams);
  non_negative("eval.max_new_tokens", static_cast<double>(c.eval_max_new_tokens));
  non_negative("checkpoint.every", static_cast<double>(c.checkpoint_every));
  positive("log.every", c.log_every);
  check(!c.run_dir.empty(), key("run_dir"), "a directory", "an empty string");
  non_negative("threads", static_cast<double>(c.threads));
  check(c.dist_backend == "auto" || c.dist_backend == "gloo" || c.dist_backend == "nccl", key("dist.backend"),
        "'auto', 'gloo' or 'nccl'", str("'", c.dist_backend, "'"));
  check(c.dist_timeout > 0, key("dist.timeout"), "a positive number of seconds", value_string(c.dist_timeout));
  non_negative("dist.check_every", static_cast<double>(c.dist_check_every));
  check(c.dist_bucket_mb > 0, key("dist.bucket_mb"), "a positive number of MB", value_string(c.dist_bucket_mb));
}

void run_config_validate_training(const RunConfig& c) {
  run_config_validate(c);
  // tests/model/precision_test.cpp: through AdamW's normalised step the second-order meta-gradient
  // amplifies rounding ~1e5x; with bfloat16 products it is noise (float32 agrees with float64).
  check(!(c.matmul_dtype == MatmulDtype::BFloat16 && c.method == Method::Reckoning &&
          c.inner_optimizer == InnerOptimizer::AdamW && !c.inner_first_order),
        key("matmul_dtype"),
        "float32 for second-order meta-training with the AdamW inner optimizer (the meta-gradient "
        "through AdamW is not accurate with bfloat16 products; bfloat16 is allowed with "
        "inner.optimizer: sgd, inner.first_order: true or method: ft-icr, and in evaluation)",
        "bfloat16");
}

namespace {

nlohmann::json to_json(const RunConfig& config, bool model_only) {
  nlohmann::json out = nlohmann::json::object();
  for (const Field& f : fields()) {
    if (model_only && f.scope != kModel) continue;
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(config.*member)>;
          if constexpr (std::is_enum_v<T> || std::is_same_v<T, torch::Device>) {
            out[f.key] = value_string(config.*member);
          } else {
            out[f.key] = config.*member;
          }
        },
        f.member);
  }
  return out;
}

}  // namespace

nlohmann::json run_config_to_json(const RunConfig& config) { return to_json(config, false); }
nlohmann::json run_config_model_json(const RunConfig& config) { return to_json(config, true); }

InnerLoopConfig RunConfig::inner_loop() const {
  InnerLoopConfig inner;
  inner.optimizer = inner_optimizer;
  inner.beta1 = inner_beta1;
  inner.beta2 = inner_beta2;
  inner.eps = inner_eps;
  inner.eps_root = inner_eps_root;
  inner.float64_update = inner_float64_update;
  const bool sgd = inner_optimizer == InnerOptimizer::Sgd;
  inner.weight_decay = inner_weight_decay >= 0 ? inner_weight_decay : (sgd ? 0.0 : 0.01);
  inner.momentum = inner_momentum >= 0 ? inner_momentum : 0.9;
  inner.grad_clip = inner_grad_clip;
  inner.adapt = inner_adapt;
  inner.unroll_from = inner_unroll_from;
  inner.fact_batch = inner_fact_batch;
  inner.fused = inner_fused;
  return inner;
}

LoraConfig RunConfig::lora() const {
  LoraConfig lora;
  lora.rank = inner_lora_rank;
  lora.alpha = inner_lora_alpha;
  lora.dropout = inner_lora_dropout;
  lora.targets = lora_targets_parse(inner_lora_targets, "configuration key 'inner.lora_targets'");
  return lora;
}

double RunConfig::rates_lr() const {
  if (outer_lr_rates >= 0) return outer_lr_rates;
  return inner_log_space ? 1e-2 : outer_lr;
}

PromptOptions RunConfig::prompt_options() const {
  PromptOptions p;
  p.method = method;
  p.control = control;
  p.multi_task = multi_task;
  p.distractors = data_distractors;
  p.seed = seed;
  p.fact_key = prompt_fact_key;
  p.entailment_question = prompt_entailment_question;
  p.relation_question = prompt_relation_question;
  p.bos = prompt_bos;
  p.entailment_answers = prompt_entailment_answers;
  return p;
}

RunConfig run_config_from_json(const nlohmann::json& json, const std::string& where) {
  check(json.is_object(), where, "a JSON object of configuration keys", json.type_name());
  RunConfig config;
  for (auto it = json.begin(); it != json.end(); ++it) {
    const Field* field = find_field(it.key());
    check(field != nullptr, str(where, ": key '", it.key(), "'"), "a known configuration key", "an unknown key");
    std::visit(
        [&](auto member) {
          using T = std::decay_t<decltype(config.*member)>;
          const std::string key_where = str(where, ": key '", it.key(), "'");
          try {
            if constexpr (std::is_enum_v<T> || std::is_same_v<T, torch::Device>) {
              config.*member = value_from_string<T>(it.value().get<std::string>(), key_where);
            } else {
              config.*member = it.value().get<T>();
            }
          } catch (const nlohmann::json::exception&) {
            throw_error(key_where, "a value of the key's type", it.value().dump());
          }
        },
        field->member);
  }
  return config;
}

}  // namespace reckoning
