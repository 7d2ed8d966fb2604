// Task -> token tensors for both loops; see prompts.h.
#include "reckoning/meta/prompts.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <optional>
#include <random>
#include <set>
#include <sstream>

#include "reckoning/base/error.h"
#include "reckoning/base/text.h"

namespace reckoning {

template <>
const std::vector<EnumName<Method>>& enum_names<Method>() {
  static const std::vector<EnumName<Method>> table{{Method::Reckoning, "reckoning"}, {Method::FtIcr, "ft-icr"}};
  return table;
}

template <>
const std::vector<EnumName<Control>>& enum_names<Control>() {
  static const std::vector<EnumName<Control>> table{{Control::None, "none"},
                                                    {Control::NoFacts, "no-facts"},
                                                    {Control::RandomFacts, "random-facts"},
                                                    {Control::NoQuestion, "no-question"}};
  return table;
}

namespace {

bool is_entailment_dataset(const std::string& dataset) {
  return dataset == "proofwriter" || dataset == "folio";
}

std::string strip_final_period(std::string q) {
  while (!q.empty() && (q.back() == ' ' || q.back() == '.')) q.pop_back();
  return q;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? sep : "") + parts[i];
  return out;
}

// The facts a task encodes, in a deterministic per-task shuffled order.
std::vector<std::string> encoded_facts(const Task& task, const PromptOptions& options,
                                       const std::vector<std::string>& fact_pool,
                                       int64_t* n_distractors) {
  std::mt19937_64 rng(options.seed ^ std::hash<std::string>{}(task.guid));
  std::vector<std::string> distractors = task.distractors;
  std::shuffle(distractors.begin(), distractors.end(), rng);
  if (options.distractors >= 0 && static_cast<int64_t>(distractors.size()) > options.distractors) {
    distractors.resize(static_cast<size_t>(options.distractors));
  }
  *n_distractors = static_cast<int64_t>(distractors.size());
  std::vector<std::string> facts = task.facts;
  facts.insert(facts.end(), distractors.begin(), distractors.end());
  if (options.control == Control::RandomFacts) {
    // Facts drawn from the pool (the split's facts) that are not this task's own: the control
    // asks what the model does with knowledge unrelated to the question.
    const std::set<std::string> own(facts.begin(), facts.end());
    std::vector<size_t> others;  // filled only if rejection sampling keeps hitting own facts
    std::uniform_int_distribution<size_t> pick(0, fact_pool.empty() ? 0 : fact_pool.size() - 1);
    for (auto& f : facts) {
      std::optional<size_t> chosen;
      for (int attempt = 0; attempt < 64 && !chosen && !fact_pool.empty(); ++attempt) {
        const size_t i = pick(rng);
        if (!own.count(fact_pool[i])) chosen = i;
      }
      if (!chosen) {
        if (others.empty()) {
          for (size_t i = 0; i < fact_pool.size(); ++i) {
            if (!own.count(fact_pool[i])) others.push_back(i);
          }
        }
        check(!others.empty(), str("task '", task.guid, "'"),
              "a fact pool for random-facts with facts other than the task's own",
              str(fact_pool.size(), " facts, all the task's own"));
        chosen = others[std::uniform_int_distribution<size_t>(0, others.size() - 1)(rng)];
      }
      f = fact_pool[*chosen];
    }
  }
  std::shuffle(facts.begin(), facts.end(), rng);
  return facts;
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

std::string answer_text(const Task& task, const PromptOptions& options) {
  const std::string& dataset = task.dataset();
  std::string a = task.answer;
  std::transform(a.begin(), a.end(), a.begin(), [](unsigned char c) { return std::tolower(c); });
  if (is_entailment_dataset(dataset)) {
    std::vector<std::string> words = {"yes", "no", dataset == "proofwriter" ? "none" : "unknown"};
    if (!options.entailment_answers.empty()) {
      words.clear();
      std::istringstream items(options.entailment_answers);
      for (std::string word; std::getline(items, word, ',');) words.push_back(trim(word));
    }
    check(words.size() == 3, "prompt.entailment_answers", "three comma-separated words (true, false, unknown)",
          str("'", options.entailment_answers, "'"));
    if (a == "true") return words[0];
    if (a == "false") return words[1];
    if (a == "unknown" || a == "uncertain") return words[2];
    throw_error(str("task '", task.guid, "': field 'answer'"), "true, false or unknown", str("'", task.answer, "'"));
  }
  return task.answer;
}

std::string fact_name(int64_t index, const PromptOptions& options) {
  return replace_all(options.fact_key, "{i}", std::to_string(index));
}

std::string fact_key(int64_t index, const PromptOptions& options) { return fact_name(index, options) + ": "; }

std::optional<int64_t> prompt_bos(const Tokenizer& tokenizer, const PromptOptions& options) {
  if (options.bos == "no" || (options.bos == "auto" && !tokenizer.adds_bos())) return std::nullopt;
  check(tokenizer.bos_id().has_value(), "prompt.bos", "a tokenizer with a BOS token for 'yes'",
        str("a ", tokenizer.kind(), " tokenizer without one"));
  return tokenizer.bos_id();
}

std::string prompt_text(const Task& task, int64_t n_facts, const PromptOptions& options,
                        const std::vector<std::string>& facts) {
  const bool entailment = is_entailment_dataset(task.dataset());
  const std::string question = options.control == Control::NoQuestion ? std::string() : task.question;
  if (options.method == Method::FtIcr || options.control == Control::NoFacts) {
    std::string context = options.control == Control::NoFacts ? std::string() : join(facts, "\n") + "\n";
    return context + question;
  }
  std::string keys;
  for (int64_t i = 0; i < n_facts; ++i) keys += (i ? " " : "") + fact_name(i, options);
  const std::string with_keys =
      replace_all(entailment && options.control != Control::NoQuestion ? options.entailment_question
                                                                       : options.relation_question,
                  "{keys}", keys);
  if (options.control == Control::NoQuestion) return trim_end(replace_all(with_keys, "{question}", ""));
  return replace_all(with_keys, "{question}", entailment ? strip_final_period(question) : question);
}

EncodedTask encode_task(const Task& task, const Tokenizer& tokenizer, const PromptOptions& options,
                        const std::vector<std::string>& fact_pool) {
  EncodedTask out;
  const int64_t eos = tokenizer.eos_id();
  const std::optional<int64_t> bos = prompt_bos(tokenizer, options);
  const bool inner_loop = options.method == Method::Reckoning && options.control != Control::NoFacts;
  out.encoded_facts = encoded_facts(task, options, fact_pool, &out.n_distractors);
  out.answer_text = answer_text(task, options);
  out.target_text = options.multi_task ? out.answer_text + " because " + join(task.facts, ",")
                                       : out.answer_text;

  if (inner_loop) {
    const int64_t n = static_cast<int64_t>(out.encoded_facts.size());
    check(n > 0, str("task '", task.guid, "'"), "at least one fact to encode", "none");
    std::vector<std::vector<int64_t>> seqs;
    std::vector<size_t> key_lengths;
    size_t longest = 0;
    for (int64_t i = 0; i < n; ++i) {
      std::vector<int64_t> key = tokenizer.encode(fact_key(i, options));
      if (bos) key.insert(key.begin(), *bos);  // BOS conditions like the key: not a target
      std::vector<int64_t> fact = tokenizer.encode(out.encoded_facts[static_cast<size_t>(i)]);
      key_lengths.push_back(key.size());
      seqs.push_back(concat(key, fact));
      longest = std::max(longest, seqs.back().size());
    }
    const int64_t T = static_cast<int64_t>(longest);
    out.facts.ids = torch::full({n, T}, eos, torch::dtype(torch::kLong));
    out.facts.attn_mask = torch::zeros({n, T}, torch::dtype(torch::kLong));
    out.facts.target_mask = torch::zeros({n, T}, torch::dtype(torch::kBool));
    for (int64_t i = 0; i < n; ++i) {
      const auto& s = seqs[static_cast<size_t>(i)];
      const int64_t len = static_cast<int64_t>(s.size());
      out.facts.ids[i].slice(0, 0, len).copy_(torch::tensor(s, torch::dtype(torch::kLong)));
      out.facts.attn_mask[i].slice(0, 0, len).fill_(1);
      out.facts.target_mask[i].slice(0, static_cast<int64_t>(key_lengths[static_cast<size_t>(i)]), len).fill_(true);
    }
  }

  const std::string prompt = prompt_text(task, static_cast<int64_t>(out.encoded_facts.size()), options,
                                         out.encoded_facts);
  out.prompt_ids = tokenizer.encode(prompt);
  if (bos) {
    out.prompt_ids.insert(out.prompt_ids.begin(), *bos);
  } else if (options.method == Method::FtIcr || options.control == Control::NoFacts) {
    out.prompt_ids.insert(out.prompt_ids.begin(), eos);  // FT-ICR inputs start with EOS (GPT-2's BOS)
  }
  std::vector<int64_t> target = tokenizer.encode(out.target_text);
  target.push_back(eos);
  std::vector<int64_t> ids = concat(out.prompt_ids, target);
  const int64_t T = static_cast<int64_t>(ids.size());
  out.question.ids = torch::tensor(ids, torch::dtype(torch::kLong)).view({1, T});
  out.question.attn_mask = torch::ones({1, T}, torch::dtype(torch::kLong));
  out.question.target_mask = torch::zeros({1, T}, torch::dtype(torch::kBool));
  out.question.target_mask.slice(1, static_cast<int64_t>(out.prompt_ids.size())).fill_(true);
  return out;
}

void encoded_task_check_fits(const EncodedTask& encoded, const Task& task, int64_t n_ctx,
                             bool with_target, const std::string& where) {
  const std::string at = str(where, ": task '", task.guid, "'");
  const std::string raise = "; raise model.n_ctx (a model trained from scratch) or shorten the task";
  if (encoded.facts.ids.defined()) {
    const int64_t facts_len = encoded.facts.ids.size(1);
    check(facts_len <= n_ctx, at, str("fact sequences of at most model.n_ctx = ", n_ctx, " tokens"),
          str("one of ", facts_len, " tokens (key + fact)", raise));
  }
  const int64_t len = with_target ? encoded.question.ids.size(1) : static_cast<int64_t>(encoded.prompt_ids.size());
  check(len <= n_ctx, at,
        str(with_target ? "question prompt + target + EOS" : "question prompt", " of at most model.n_ctx = ", n_ctx, " tokens"),
        str(len, " tokens", raise));
}

std::vector<std::string> prompt_corpus(const std::vector<Task>& tasks, const PromptOptions& options,
                                       int64_t max_facts) {
  std::vector<std::string> corpus;
  for (int64_t i = 0; i < max_facts; ++i) corpus.push_back(fact_key(i, options));
  for (const Task& task : tasks) {
    std::vector<std::string> all = task.facts;
    all.insert(all.end(), task.distractors.begin(), task.distractors.end());
    for (const auto& f : all) corpus.push_back(f);
    const int64_t n = static_cast<int64_t>(all.size());
    corpus.push_back(prompt_text(task, n, options, all));
    const std::string answer = answer_text(task, options);
    corpus.push_back(answer);
    corpus.push_back(answer + " because " + join(task.facts, ","));
  }
  return corpus;
}

std::string normalize_answer(const std::string& text) {
  std::string lowered;
  for (unsigned char c : text) {
    if (std::ispunct(c) && c != '-') lowered += ' ';  // keep "son-in-law" intact
    else lowered += static_cast<char>(std::tolower(c));
  }
  std::istringstream words(lowered);
  std::string out;
  for (std::string w; words >> w;) {
    if (w == "a" || w == "an" || w == "the") continue;
    out += (out.empty() ? "" : " ") + w;
  }
  return out;
}

}  // namespace reckoning
