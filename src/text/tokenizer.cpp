// Tokenizer detection and loading for model directories; see tokenizer.h.
#include "reckoning/text/tokenizer.h"

#include <algorithm>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/text/hf_tokenizer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/word_tokenizer.h"

namespace reckoning {

namespace {

struct Layout {
  const char* name;
  const char* kind;
  std::vector<const char*> files;
};

// In order of preference within a kind (tokenizer.h).
const std::vector<Layout>& layouts() {
  static const std::vector<Layout> all = {
      {"vocab.json+merges.txt", "gpt2-bpe", {"vocab.json", "merges.txt"}},
      {"tokenizer.json", "gpt2-bpe", {"tokenizer.json"}},
      {"encoder.json+vocab.bpe", "gpt2-bpe", {"encoder.json", "vocab.bpe"}},
      {"word_tokenizer.json", "word", {kWordTokenizerFile}},
      {"tokenizer.json", "hf-tokenizer", {"tokenizer.json"}},
  };
  return all;
}

std::string kind_from_marker(const nlohmann::json& value, const std::string& where) {
  check(value.is_string() && (value == "gpt2-bpe" || value == "word" || value == "hf-tokenizer"), where,
        "\"gpt2-bpe\", \"word\" or \"hf-tokenizer\"", value.dump().substr(0, 60));
  return value.get<std::string>();
}

// Hugging Face tokenizer classes whose tokenizer.json is a BPE this loader runs in general.
bool hf_bpe_class(const nlohmann::json& cls) {
  for (const char* name : {"LlamaTokenizer", "LlamaTokenizerFast", "CodeLlamaTokenizer", "CodeLlamaTokenizerFast",
                           "Qwen2Tokenizer", "Qwen2TokenizerFast", "PreTrainedTokenizerFast"})
    if (cls == name) return true;
  return false;
}

// The kind a directory's markers name, "" when it has none; `source` says which file decided.
std::string marker_kind(const std::string& dir, std::string& source) {
  std::string kind;
  std::string config_path = path_join(dir, "config.json");
  if (file_exists(config_path)) {
    nlohmann::json config = read_json_file(config_path);
    if (config.is_object() && config.contains("reckoning_tokenizer")) {
      kind = kind_from_marker(config["reckoning_tokenizer"],
                              str(config_path, ": field 'reckoning_tokenizer'"));
      source = config_path;
    }
  }
  std::string tc_path = path_join(dir, "tokenizer_config.json");
  if (!file_exists(tc_path)) return kind;
  nlohmann::json tc = read_json_file(tc_path);
  check(tc.is_object(), tc_path, "a JSON object", tc.type_name());
  std::string tc_kind;
  if (tc.contains("reckoning_tokenizer")) {
    tc_kind = kind_from_marker(tc["reckoning_tokenizer"], str(tc_path, ": field 'reckoning_tokenizer'"));
  } else if (tc.contains("tokenizer_class")) {
    const nlohmann::json& cls = tc["tokenizer_class"];
    if (cls == "GPT2Tokenizer" || cls == "GPT2TokenizerFast") {
      tc_kind = "gpt2-bpe";
    } else if (cls == "ReckoningWordTokenizer") {
      tc_kind = "word";
    } else if (hf_bpe_class(cls)) {
      tc_kind = "hf-tokenizer";
    } else {
      throw_error(str(tc_path, ": field 'tokenizer_class'"),
                  "GPT2Tokenizer, GPT2TokenizerFast, ReckoningWordTokenizer or a BPE tokenizer.json's class "
                  "(LlamaTokenizer, LlamaTokenizerFast, CodeLlamaTokenizer, CodeLlamaTokenizerFast, Qwen2Tokenizer, "
                  "Qwen2TokenizerFast, PreTrainedTokenizerFast)",
                  cls.dump().substr(0, 60));
    }
  }
  if (tc_kind.empty()) return kind;
  check(kind.empty() || kind == tc_kind, str(tc_path, ": tokenizer '", tc_kind, "'"),
        str("the tokenizer that ", config_path, " names ('", kind, "')"), str("'", tc_kind, "'"));
  source = tc_path;
  return tc_kind;
}

}  // namespace

namespace {

const Layout& detect(const std::string& dir) {
  std::string source;
  std::string marked = marker_kind(dir, source);
  std::vector<const Layout*> present;
  std::vector<std::string> found_files;
  for (const Layout& layout : layouts()) {
    bool all = true;
    for (const char* file : layout.files) {
      if (file_exists(path_join(dir, file))) {
        if (std::find(found_files.begin(), found_files.end(), file) == found_files.end())
          found_files.push_back(file);
      } else {
        all = false;
      }
    }
    if (all) present.push_back(&layout);
  }
  // A tokenizer.json is GPT-2's byte-level BPE or the general kind, by its content when no marker
  // says which.
  if (marked.empty() && file_exists(path_join(dir, "tokenizer.json"))) {
    const std::string json_kind =
        tokenizer_json_is_gpt2(read_json_file(path_join(dir, "tokenizer.json"))) ? "gpt2-bpe" : "hf-tokenizer";
    present.erase(std::remove_if(present.begin(), present.end(),
                                 [&](const Layout* l) { return std::string(l->name) == "tokenizer.json" && l->kind != json_kind; }),
                  present.end());
  }
  std::string found = found_files.empty() ? std::string("no tokenizer files") : std::string();
  for (size_t i = 0; i < found_files.size(); ++i) found += (i ? ", " : "") + found_files[i];
  const char* wanted =
      "vocab.json+merges.txt, tokenizer.json, encoder.json+vocab.bpe or word_tokenizer.json";
  if (!marked.empty()) {
    for (const Layout* layout : present)
      if (layout->kind == marked) return *layout;
    throw_error(str(dir, ": tokenizer '", marked, "' (named by ", source, ")"),
                marked == "word"           ? std::string("word_tokenizer.json")
                : marked == "hf-tokenizer" ? std::string("tokenizer.json")
                                           : "vocab.json+merges.txt, tokenizer.json or encoder.json+vocab.bpe",
                found);
  }
  check(!present.empty(), str(dir, ": tokenizer"), wanted, found);
  for (const Layout* layout : present) {
    check(std::string(layout->kind) == present.front()->kind, str(dir, ": tokenizer"),
          "the files of one tokenizer kind, or a marker \"reckoning_tokenizer\": \"gpt2-bpe\" | "
          "\"word\" | \"hf-tokenizer\" in tokenizer_config.json",
          found);
  }
  return *present.front();
}

}  // namespace

std::string tokenizer_detect(const std::string& dir) { return detect(dir).name; }

std::string tokenizer_kind(const std::string& dir) { return detect(dir).kind; }


std::unique_ptr<Tokenizer> tokenizer_load(const std::string& dir) {
  const Layout& detected = detect(dir);
  const std::string layout = detected.name;
  if (std::string(detected.kind) == "hf-tokenizer") return hf_tokenizer_load(dir);
  if (layout == "vocab.json+merges.txt")
    return bpe_tokenizer_load(path_join(dir, "vocab.json"), path_join(dir, "merges.txt"));
  if (layout == "tokenizer.json") return bpe_tokenizer_load_json(path_join(dir, "tokenizer.json"));
  if (layout == "encoder.json+vocab.bpe")
    return bpe_tokenizer_load(path_join(dir, "encoder.json"), path_join(dir, "vocab.bpe"));
  return word_tokenizer_load(path_join(dir, kWordTokenizerFile));
}

void tokenizer_write_marker(const std::string& dir, const std::string& kind,
                            const nlohmann::json& extra) {
  std::string path = path_join(dir, "tokenizer_config.json");
  nlohmann::json config = nlohmann::json::object();
  if (file_exists(path)) {
    config = read_json_file(path);
    check(config.is_object(), path, "a JSON object", config.type_name());
  }
  config.erase("added_tokens_decoder");  // belongs to the tokenizer being written, if any
  for (const auto& [key, value] : extra.items()) config[key] = value;
  config["reckoning_tokenizer"] = kind;
  write_json_file_atomic(path, config);
}

}  // namespace reckoning
