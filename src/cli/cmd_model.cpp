// `reckoning init` (a randomly initialised model directory: GPT-2 or the Llama family) and
// `reckoning generate`
// (continue a prompt with a model directory's weights).
#include <iostream>

#include "command.h"
#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/model/llama_checkpoint.h"
#include "reckoning/base/error.h"
#include "reckoning/model/generate.h"
#include "reckoning/base/io.h"
#include "reckoning/text/tokenizer.h"
#include "reckoning/text/word_tokenizer.h"

namespace {

using namespace reckoning;

struct InitArgs {
  std::string config, tokenizer, corpus, out, arch;
  uint64_t seed = 0;
};

int run_init(const InitArgs& a) {
  check(a.tokenizer.empty() != a.corpus.empty(), "reckoning init", "exactly one of --tokenizer and --corpus",
        a.tokenizer.empty() ? "neither" : "both");
  std::unique_ptr<Tokenizer> tokenizer =
      a.tokenizer.empty() ? std::unique_ptr<Tokenizer>(word_tokenizer_build(word_tokenizer_read_corpus(a.corpus), 1, 0))
                          : tokenizer_load(a.tokenizer);
  nlohmann::json json = read_json_file(a.config);
  check(json.is_object(), a.config, "a JSON object (Hugging Face config.json)", json.type_name());
  // The architecture: --arch, else the file's model_type, else GPT-2; both given must agree.
  const std::string file_type = json.value("model_type", std::string());
  check(a.arch.empty() || file_type.empty() || a.arch == file_type, str(a.config, ": field 'model_type'"),
        str("'", a.arch, "' as --arch says"), str("'", file_type, "'"));
  const std::string arch = !a.arch.empty() ? a.arch : !file_type.empty() ? file_type : "gpt2";
  json["model_type"] = arch;
  if (!json.contains("vocab_size")) json["vocab_size"] = tokenizer->vocab_size();
  if (!json.contains("eos_token_id")) json["eos_token_id"] = tokenizer->eos_id();
  if (!json.contains("bos_token_id")) json["bos_token_id"] = tokenizer->bos_id().value_or(tokenizer->eos_id());
  check(arch == "gpt2" || llama_family_model_type(arch), "--arch", "gpt2, llama, mistral, qwen2 or qwen3", arch);
  DecoderModel model;
  model.config = decoder_config_from_json(json, a.config);
  check(model.config.vocab_size() >= tokenizer->vocab_size(), str(a.config, ": field 'vocab_size'"),
        str("at least the tokenizer's ", tokenizer->vocab_size(), " tokens"), std::to_string(model.config.vocab_size()));
  model.weights = decoder_init(model.config, a.seed);
  const std::string staging = staging_path(a.out);
  decoder_save_dir(model, staging);
  tokenizer->save(staging);
  replace_directory(staging, a.out);
  std::cout << "initialised " << a.out << ": " << arch << ", " << decoder_parameter_count(model.weights)
            << " parameters, " << tokenizer->kind() << " tokenizer with " << tokenizer->vocab_size() << " tokens\n";
  return 0;
}

const cli::RegisterCommand init_command(
    "init", "Create a randomly initialised model directory: GPT-2 or a Llama-family model (its own initialisation)", 300,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<InitArgs>();
      app.add_option("--config", a->config,
                     "Hugging Face config.json: GPT-2's, or a Llama-family one (hidden_size, intermediate_size, "
                     "num_hidden_layers, num_attention_heads, ...); vocab_size defaults to the tokenizer's")
          ->required()->check(CLI::ExistingFile);
      app.add_option("--arch", a->arch, "Architecture (default: the config's model_type, else gpt2)")
          ->check(CLI::IsMember({"gpt2", "llama", "mistral", "qwen2", "qwen3"}));
      app.add_option("--tokenizer", a->tokenizer, "Directory with a tokenizer to copy (GPT-2 BPE, word or tokenizer.json)")
          ->check(CLI::ExistingDirectory);
      app.add_option("--corpus", a->corpus, "Build a word tokenizer from this corpus (text lines or JSON lines {\"text\"})")
          ->check(CLI::ExistingFile);
      app.add_option("--seed", a->seed, "Initialisation seed");
      app.add_option("--out", a->out, "Output model directory")->required();
      return [a] { return run_init(*a); };
    });

struct GenerateArgs {
  std::string model, prompt;
  int64_t beams = 1, max_new_tokens = 32;
  double length_penalty = 1.0;
  bool ids = false;
};

int run_generate(const GenerateArgs& a) {
  DecoderModel model = decoder_load_dir(a.model);
  std::unique_ptr<Tokenizer> tokenizer = tokenizer_load(a.model);
  std::vector<int64_t> prompt = tokenizer->encode(a.prompt);
  if (tokenizer->adds_bos() && tokenizer->bos_id()) prompt.insert(prompt.begin(), *tokenizer->bos_id());
  check(!prompt.empty(), "--prompt", "a non-empty prompt", "an empty string");
  GenerateOptions o;
  o.num_beams = a.beams;
  o.max_new_tokens = a.max_new_tokens;
  o.length_penalty = a.length_penalty;
  o.eos_id = tokenizer->eos_id();
  std::vector<int64_t> out = decoder_generate(model.config, model.weights, {prompt}, o)[0];
  if (a.ids) {
    std::cout << nlohmann::json(out).dump() << "\n";
  } else {
    std::cout << tokenizer->decode(out) << "\n";
  }
  return 0;
}

const cli::RegisterCommand generate_command(
    "generate", "Continue a prompt with a model directory (greedy or beam search, KV cache)", 400,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<GenerateArgs>();
      app.add_option("--model", a->model, "Model directory")->required()->check(CLI::ExistingDirectory);
      app.add_option("--prompt", a->prompt, "Prompt text")->required();
      app.add_option("--beams", a->beams, "Beam width (1 = greedy)")->check(CLI::PositiveNumber);
      app.add_option("--max-new-tokens", a->max_new_tokens, "Length limit")->check(CLI::NonNegativeNumber);
      app.add_option("--length-penalty", a->length_penalty, "Beam score = log p / length^penalty");
      app.add_flag("--ids", a->ids, "Print the generated token ids (JSON) instead of text");
      return [a] { return run_generate(*a); };
    });

}  // namespace
