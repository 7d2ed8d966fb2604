// Answering over new knowledge; see answer.h.
#include "reckoning/eval/answer.h"

#include <cstdio>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/lora.h"

namespace reckoning {

namespace {

Task question_task(const ReckoningModel& model, const std::vector<std::string>& facts,
                   const std::string& question, const std::string& dataset) {
  Task t;
  t.guid = "question";
  t.facts = facts;
  t.question = question;
  t.answer = "?";
  t.source = {{"dataset", dataset.empty() ? (model.run.data_dataset.empty() ? std::string("clutrr") : model.run.data_dataset)
                                          : dataset}};
  return t;
}

std::string generate_text(const ReckoningModel& model, const DecoderWeights& weights,
                          const std::vector<int64_t>& prompt, GenerateOptions options) {
  torch::NoGradGuard no_grad;
  options.eos_id = model.tokenizer->eos_id();
  options.max_new_tokens = generation_budget(model.config, prompt.size(), options.max_new_tokens);
  return model.tokenizer->decode(decoder_generate(model.config, weights, {prompt}, options)[0]);
}

}  // namespace

namespace {

// The facts of a knowledge set encoded as the inner loop reads them.
EncodedTask knowledge_task(const ReckoningModel& model, const std::vector<std::string>& facts) {
  check(!facts.empty(), "knowledge", "at least one fact", "none");
  Task t = question_task(model, facts, "?", "");
  PromptOptions prompt = model.prompt();
  prompt.method = Method::Reckoning;
  prompt.control = Control::None;
  prompt.distractors = 0;
  return encode_task(t, *model.tokenizer, prompt);
}

}  // namespace

namespace {

// Knowledge sets encoded together: `weights` task-batched over the sets (for one set its plain
// adapted weights), and per set its facts (in encoding order) and inner trace.
struct EncodedSets {
  DecoderWeights weights;
  std::vector<Knowledge> knowledge;  // weights left empty
};

EncodedSets encode_sets(const ReckoningModel& model, const std::vector<std::vector<std::string>>& sets) {
  EncodedSets out;
  if (sets.size() == 1) {
    Knowledge k = knowledge_encode(model, sets.front());
    out.weights = std::move(k.weights);
    k.weights = DecoderWeights();
    out.knowledge.push_back(std::move(k));
    return out;
  }
  std::vector<EncodedTask> encoded;
  std::vector<LmBatch> facts;
  for (const auto& set : sets) {
    encoded.push_back(knowledge_task(model, set));
    facts.push_back(encoded.back().facts);
  }
  InnerBatchResult adapted = inner_loop_tasks(model.config, model.weights, model.lrs, model.inner(), facts,
                                              InnerMode::Evaluate, /*dropout=*/false);
  out.weights = std::move(adapted.weights);
  for (size_t t = 0; t < encoded.size(); ++t) {
    Knowledge k;
    k.facts = encoded[t].encoded_facts;
    k.trace = adapted.traces[t];
    out.knowledge.push_back(std::move(k));
  }
  return out;
}

}  // namespace

std::vector<Knowledge> knowledge_encode_many(const ReckoningModel& model,
                                             const std::vector<std::vector<std::string>>& sets, int64_t batch_tasks) {
  check(batch_tasks > 0, "knowledge: batch_tasks", "a positive number", std::to_string(batch_tasks));
  std::vector<Knowledge> out;
  const size_t group = static_cast<size_t>(batch_tasks);
  for (size_t first = 0; first < sets.size(); first += group) {
    const size_t last = std::min(sets.size(), first + group);
    EncodedSets encoded = encode_sets(model, {sets.begin() + static_cast<std::ptrdiff_t>(first),
                                              sets.begin() + static_cast<std::ptrdiff_t>(last)});
    for (size_t t = 0; t < encoded.knowledge.size(); ++t) {
      Knowledge& k = encoded.knowledge[t];
      k.weights = decoder_task(model.config, encoded.weights, static_cast<int64_t>(t));  // plain weights: as they are
      out.push_back(std::move(k));
    }
  }
  return out;
}

std::vector<KnowledgeSet> knowledge_sets_read(const std::string& path) {
  const std::string text = read_file(path);
  std::istringstream in(text);
  std::vector<KnowledgeSet> sets;
  std::string line;
  for (int64_t n = 1; std::getline(in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = str(path, ":", n);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      throw Error(str(where, ": invalid JSON (", e.what(), ")"));
    }
    check(j.is_object(), where, "an object {\"facts\": [...], \"questions\": [...]}", j.dump());
    KnowledgeSet set;
    auto strings = [&](const char* key) {
      check(j.contains(key) && j[key].is_array() && !j[key].empty(), str(where, ": field '", key, "'"),
            "a non-empty list of strings", j.contains(key) ? j[key].dump() : "nothing");
      std::vector<std::string> out;
      for (const auto& v : j[key]) {
        check(v.is_string(), str(where, ": field '", key, "'"), "strings only", v.dump());
        out.push_back(v.get<std::string>());
      }
      return out;
    };
    set.facts = strings("facts");
    set.questions = strings("questions");
    if (j.contains("id")) {
      check(j["id"].is_string() || j["id"].is_number_integer(), str(where, ": field 'id'"), "a string or an integer",
            j["id"].dump());
      set.id = j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump();
    } else {
      set.id = std::to_string(n);
    }
    sets.push_back(std::move(set));
  }
  check(!sets.empty(), path, "at least one knowledge set", "none");
  return sets;
}

Knowledge knowledge_encode(const ReckoningModel& model, const std::vector<std::string>& facts) {
  EncodedTask encoded = knowledge_task(model, facts);
  InnerResult adapted = inner_loop(model.config, model.weights, model.lrs, model.inner(), encoded.facts,
                                   InnerMode::Evaluate, /*dropout=*/false);
  Knowledge k;
  k.facts = encoded.encoded_facts;  // encoding order: fact_i refers to k.facts[i]
  k.weights = adapted.weights;
  k.trace = adapted.trace;
  return k;
}

namespace {

std::vector<int64_t> question_prompt(const ReckoningModel& model, const Knowledge& knowledge,
                                     const std::string& question, const std::string& dataset) {
  Task t = question_task(model, knowledge.facts, question, dataset);
  PromptOptions prompt = model.prompt();
  prompt.method = Method::Reckoning;
  prompt.control = Control::None;
  std::vector<int64_t> ids =
      model.tokenizer->encode(prompt_text(t, static_cast<int64_t>(knowledge.facts.size()), prompt, knowledge.facts));
  if (const std::optional<int64_t> bos = prompt_bos(*model.tokenizer, prompt)) ids.insert(ids.begin(), *bos);
  return ids;  // as encode_task builds a question's prompt
}

}  // namespace

std::string knowledge_answer(const ReckoningModel& model, const Knowledge& knowledge,
                             const std::string& question, const GenerateOptions& options,
                             const std::string& dataset) {
  return generate_text(model, knowledge.weights, question_prompt(model, knowledge, question, dataset), options);
}

LabelChoice knowledge_choose(const ReckoningModel& model, const Knowledge& knowledge,
                             const std::string& question, const std::vector<std::string>& labels,
                             const std::string& dataset) {
  return label_choose(model, knowledge.weights, question_prompt(model, knowledge, question, dataset), labels);
}

std::vector<std::vector<SetAnswer>> knowledge_answer_sets(const ReckoningModel& model,
                                                          const std::vector<KnowledgeSet>& sets,
                                                          const GenerateOptions& options,
                                                          const std::vector<std::string>& labels,
                                                          const std::string& dataset, int64_t batch_tasks) {
  check(batch_tasks > 0, "knowledge: batch_tasks", "a positive number", std::to_string(batch_tasks));
  torch::NoGradGuard no_grad;
  std::vector<std::vector<SetAnswer>> out;
  const size_t group = static_cast<size_t>(batch_tasks);
  for (size_t first = 0; first < sets.size(); first += group) {
    const size_t last = std::min(sets.size(), first + group);
    std::vector<std::vector<std::string>> facts;
    size_t most = 0;
    for (size_t i = first; i < last; ++i) {
      check(!sets[i].questions.empty(), str("knowledge set '", sets[i].id, "'"), "at least one question", "none");
      facts.push_back(sets[i].facts);
      most = std::max(most, sets[i].questions.size());
    }
    EncodedSets encoded;
    {
      torch::AutoGradMode enable(true);  // the inner loop differentiates the inner loss
      encoded = encode_sets(model, facts);
    }
    // Every set's questions as one block of `most` prompts (task_batch.h): a set with fewer
    // questions repeats its last one, and the repeats' answers are dropped.
    std::vector<std::vector<int64_t>> prompts;
    for (size_t i = first; i < last; ++i) {
      const std::vector<std::string>& questions = sets[i].questions;
      for (size_t q = 0; q < most; ++q) {
        prompts.push_back(question_prompt(model, encoded.knowledge[i - first],
                                          questions[std::min(q, questions.size() - 1)], dataset));
      }
    }
    std::vector<std::vector<int64_t>> generated;
    std::vector<LabelChoice> choices;
    if (!labels.empty()) {
      choices = label_choose_tasks(model, encoded.weights, prompts, labels);
    } else {
      GenerateOptions o = options;
      o.eos_id = model.tokenizer->eos_id();
      o.max_new_tokens_each = generation_budgets(model.config, prompts, options.max_new_tokens);
      generated = decoder_generate(model.config, encoded.weights, prompts, o);
    }
    for (size_t i = first; i < last; ++i) {
      std::vector<SetAnswer> answers;
      for (size_t q = 0; q < sets[i].questions.size(); ++q) {
        const size_t p = (i - first) * most + q;
        SetAnswer a;
        if (!labels.empty()) {
          a.answer = labels[choices[p].index];
          a.log_likelihood = choices[p].log_likelihood;
        } else {
          a.answer = model.tokenizer->decode(generated[p]);
        }
        answers.push_back(std::move(a));
      }
      out.push_back(std::move(answers));
    }
  }
  return out;
}

std::string model_fingerprint(const ReckoningModel& model) {
  // FNV-1a over the configuration and every weight's bytes: any change to the base model changes it.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&](const void* data, size_t n) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
  };
  const std::string cfg = decoder_config_to_json(model.config).dump();
  mix(cfg.data(), cfg.size());
  auto mix_tensor = [&](const std::string& name, const torch::Tensor& t) {
    mix(name.data(), name.size());
    torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    mix(c.data_ptr(), static_cast<size_t>(c.numel()) * sizeof(float));
  };
  decoder_visit(model.weights, mix_tensor);
  lora_visit(model.weights, mix_tensor);  // the adapters' initial values (none: nothing mixed, as before)
  torch::Tensor r = model.lrs.values.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  mix(r.data_ptr(), static_cast<size_t>(r.numel()) * sizeof(float));
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

void knowledge_save(const ReckoningModel& model, const Knowledge& knowledge, const std::string& path) {
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  // Only what the inner loop changed: adapted weights, or with a LoRA inner loop the adapters.
  std::vector<torch::Tensor> base = decoder_flatten(model.weights), base_adapters = lora_flatten(model.weights);
  size_t i = 0, j = 0;
  decoder_visit(knowledge.weights, [&](const std::string& name, const torch::Tensor& t) {
    if (!t.is_same(base[i++])) tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat32));
  });
  lora_visit(knowledge.weights, [&](const std::string& name, const torch::Tensor& t) {
    if (!t.is_same(base_adapters[j++])) tensors.emplace_back(name, t.detach().to(torch::kCPU, torch::kFloat32));
  });
  nlohmann::json trace = nlohmann::json::array();
  for (const auto& s : knowledge.trace) trace.push_back({{"loss", s.loss}, {"grad_norm", s.grad_norm}});
  safetensors_save(path, tensors,
                   {{"format", "reckoning-knowledge"},
                    {"facts", nlohmann::json(knowledge.facts).dump()},
                    {"trace", trace.dump()},
                    {"model_fingerprint", model_fingerprint(model)}});
}

Knowledge knowledge_load(const ReckoningModel& model, const std::string& path) {
  Safetensors file = safetensors_load(path, torch::kFloat32);
  auto meta = [&](const char* key) {
    auto it = file.metadata.find(key);
    check(it != file.metadata.end(), str(path, ": metadata '", key, "'"), "present (a knowledge file)", "missing");
    return it->second;
  };
  check(meta("format") == "reckoning-knowledge", str(path, ": metadata 'format'"), "'reckoning-knowledge'",
        str("'", meta("format"), "'"));
  check(meta("model_fingerprint") == model_fingerprint(model), str(path, ": metadata 'model_fingerprint'"),
        str("'", model_fingerprint(model), "' (the model given)"),
        str("'", meta("model_fingerprint"), "': this knowledge was encoded by a different model"));
  Knowledge k;
  try {
    k.facts = nlohmann::json::parse(meta("facts")).get<std::vector<std::string>>();
  } catch (const nlohmann::json::exception&) {
    throw_error(str(path, ": metadata 'facts'"), "a JSON list of strings", meta("facts"));
  }
  k.weights = model.weights;
  size_t used = 0;
  auto take = [&](const std::string& name, torch::Tensor& t) {
    if (const torch::Tensor* stored = file.find(name)) {
      check(stored->sizes() == t.sizes(), str(path, ": tensor '", name, "'"),
            reckoning::str("the model's shape ", t.sizes()), reckoning::str(stored->sizes()));
      t = stored->to(t.device());  // the model's device
      ++used;
    }
  };
  decoder_visit(k.weights, take);
  lora_visit(k.weights, take);
  check(used == file.tensors.size(), path, "only tensors of the model", "unknown tensor names");
  return k;
}

std::vector<std::string> facts_read(const std::string& path) {
  const std::string text = read_file(path);
  std::vector<std::string> facts;
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    try {
      facts = nlohmann::json::parse(text).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      throw Error(str(path, ": expected a JSON list of strings, got ", e.what()));
    }
  } else {
    std::istringstream in(text);
    std::string line;
    for (int64_t n = 1; std::getline(in, line); ++n) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      if (line[line.find_first_not_of(" \t")] == '{') {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
          throw Error(str(path, ":", n, ": invalid JSON (", e.what(), ")"));
        }
        const char* key = j.contains("fact") ? "fact" : "text";
        check(j.contains(key) && j[key].is_string(), str(path, ":", n, ": field 'fact'"), "a string",
              j.contains(key) ? j[key].dump() : "nothing");
        facts.push_back(j[key].get<std::string>());
      } else {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        facts.push_back(line);
      }
    }
  }
  check(!facts.empty(), path, "at least one fact", "none");
  return facts;
}

}  // namespace reckoning
