// Constrained answering; see labels.h.
#include "reckoning/eval/labels.h"

#include <algorithm>
#include <set>

#include "reckoning/base/error.h"
#include "reckoning/meta/prompts.h"
#include "reckoning/model/loss.h"
#include "reckoning/base/text.h"

namespace reckoning {

std::vector<std::string> labels_parse(const std::string& list, const std::string& where) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const std::string label = trim(list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    check(!label.empty(), where, "comma-separated non-empty labels (e.g. yes,no,none)", str("'", list, "'"));
    check(std::find(out.begin(), out.end(), label) == out.end(), where, "distinct labels",
          str("'", label, "' twice"));
    out.push_back(label);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

std::string labels_join(const std::vector<std::string>& labels) {
  std::string out;
  for (size_t i = 0; i < labels.size(); ++i) out += (i ? "," : "") + labels[i];
  return out;
}

std::vector<std::string> labels_of(const std::vector<Task>& tasks, const PromptOptions& prompt) {
  std::set<std::string> labels;
  for (const Task& t : tasks) labels.insert(answer_text(t, prompt));
  return {labels.begin(), labels.end()};
}

std::vector<std::string> labels_resolve(const std::string& spec, const std::vector<Task>& tasks, const PromptOptions& prompt,
                                        const std::string& where) {
  if (spec.empty()) return {};
  if (spec != "auto") return labels_parse(spec, where);
  std::vector<std::string> labels = labels_of(tasks, prompt);
  check(!labels.empty(), where, "tasks whose answers give the label set for 'auto'", "no tasks");
  for (const std::string& l : labels) {
    check(l.find(',') == std::string::npos, where, "answers without commas for 'auto'", str("'", l, "'"));
  }
  return labels;
}

std::vector<LabelChoice> label_choose_tasks(const ReckoningModel& model, const DecoderWeights& weights,
                                           const std::vector<std::vector<int64_t>>& prompts,
                                           const std::vector<std::string>& labels) {
  check(!labels.empty(), "constrained answering", "at least one label", "none");
  decoder_prompts_per_task(model.config, weights, static_cast<int64_t>(prompts.size()), "constrained answering");
  if (prompts.empty()) return {};
  torch::NoGradGuard no_grad;
  const Tokenizer& tok = *model.tokenizer;
  const int64_t eos = tok.eos_id();
  const bool multi_task = model.prompt().multi_task;
  std::vector<std::vector<int64_t>> continuations;
  for (const std::string& label : labels) {
    continuations.push_back(tok.encode(multi_task ? label + " because" : label));
    if (!multi_task) continuations.back().push_back(eos);
  }
  // Row p x n + l: prompt p followed by label l (a task's prompts, and so its rows, are one block:
  // task_batch.h).
  std::vector<std::vector<int64_t>> seqs;
  std::vector<int64_t> prompt_length;
  size_t longest = 0;
  for (const std::vector<int64_t>& prompt : prompts) {
    for (size_t l = 0; l < labels.size(); ++l) {
      std::vector<int64_t> s = prompt;
      s.insert(s.end(), continuations[l].begin(), continuations[l].end());
      check(static_cast<int64_t>(s.size()) <= model.config.n_ctx(), str("constrained answering: label '", labels[l], "'"),
            str("prompt + label of at most model.n_ctx = ", model.config.n_ctx(), " tokens"), str(s.size(), " tokens"));
      longest = std::max(longest, s.size());
      seqs.push_back(std::move(s));
      prompt_length.push_back(static_cast<int64_t>(prompt.size()));
    }
  }
  const auto rows = static_cast<int64_t>(seqs.size()), T = static_cast<int64_t>(longest);
  LmBatch batch;
  batch.ids = torch::full({rows, T}, eos, torch::dtype(torch::kLong));
  batch.attn_mask = torch::zeros({rows, T}, torch::dtype(torch::kLong));
  batch.target_mask = torch::zeros({rows, T}, torch::dtype(torch::kBool));
  for (int64_t i = 0; i < rows; ++i) {
    const auto& s = seqs[static_cast<size_t>(i)];
    const auto len = static_cast<int64_t>(s.size());
    batch.ids[i].slice(0, 0, len).copy_(torch::tensor(s, torch::dtype(torch::kLong)));
    batch.attn_mask[i].slice(0, 0, len).fill_(1);
    batch.target_mask[i].slice(0, prompt_length[static_cast<size_t>(i)], len).fill_(true);
  }
  const torch::Device device = weights.embedding().device();
  batch.ids = batch.ids.to(device);
  batch.attn_mask = batch.attn_mask.to(device);
  batch.target_mask = batch.target_mask.to(device);
  // Per-sequence mean cross entropy x target count = the continuation's negative log-likelihood.
  torch::Tensor mean = masked_lm_loss_per_sequence(model.config, weights, batch, /*dropout=*/false);
  torch::Tensor count = batch.target_mask.sum(1).to(mean.scalar_type());
  torch::Tensor ll = (-(mean * count)).to(torch::kCPU, torch::kFloat64).contiguous();
  const double* p = ll.data_ptr<double>();
  std::vector<LabelChoice> out(prompts.size());
  for (size_t t = 0; t < prompts.size(); ++t) {
    LabelChoice& choice = out[t];
    choice.log_likelihood.assign(p + t * labels.size(), p + (t + 1) * labels.size());
    choice.index = static_cast<size_t>(
        std::max_element(choice.log_likelihood.begin(), choice.log_likelihood.end()) - choice.log_likelihood.begin());
  }
  return out;
}

LabelChoice label_choose(const ReckoningModel& model, const DecoderWeights& weights,
                         const std::vector<int64_t>& prompt_ids, const std::vector<std::string>& labels) {
  return label_choose_tasks(model, weights, {prompt_ids}, labels).front();
}

}  // namespace reckoning
