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

LabelChoice label_choose(const ReckoningModel& model, const DecoderWeights& weights,
                         const std::vector<int64_t>& prompt_ids, const std::vector<std::string>& labels) {
  check(!labels.empty(), "constrained answering", "at least one label", "none");
  torch::NoGradGuard no_grad;
  const Tokenizer& tok = *model.tokenizer;
  const int64_t eos = tok.eos_id();
  const bool multi_task = model.prompt().multi_task;
  std::vector<std::vector<int64_t>> seqs;
  size_t longest = 0;
  for (const std::string& label : labels) {
    std::vector<int64_t> cont = tok.encode(multi_task ? label + " because" : label);
    if (!multi_task) cont.push_back(eos);
    std::vector<int64_t> s = prompt_ids;
    s.insert(s.end(), cont.begin(), cont.end());
    check(static_cast<int64_t>(s.size()) <= model.config.n_ctx(), str("constrained answering: label '", label, "'"),
          str("prompt + label of at most model.n_ctx = ", model.config.n_ctx(), " tokens"), str(s.size(), " tokens"));
    longest = std::max(longest, s.size());
    seqs.push_back(std::move(s));
  }
  const auto n = static_cast<int64_t>(labels.size()), T = static_cast<int64_t>(longest);
  LmBatch batch;
  batch.ids = torch::full({n, T}, eos, torch::dtype(torch::kLong));
  batch.attn_mask = torch::zeros({n, T}, torch::dtype(torch::kLong));
  batch.target_mask = torch::zeros({n, T}, torch::dtype(torch::kBool));
  const auto p = static_cast<int64_t>(prompt_ids.size());
  for (int64_t i = 0; i < n; ++i) {
    const auto& s = seqs[static_cast<size_t>(i)];
    const auto len = static_cast<int64_t>(s.size());
    batch.ids[i].slice(0, 0, len).copy_(torch::tensor(s, torch::dtype(torch::kLong)));
    batch.attn_mask[i].slice(0, 0, len).fill_(1);
    batch.target_mask[i].slice(0, p, len).fill_(true);
  }
  const torch::Device device = weights.embedding().device();
  batch.ids = batch.ids.to(device);
  batch.attn_mask = batch.attn_mask.to(device);
  batch.target_mask = batch.target_mask.to(device);
  // Per-sequence mean cross entropy x target count = the continuation's negative log-likelihood.
  torch::Tensor mean = masked_lm_loss_per_sequence(model.config, weights, batch, /*dropout=*/false);
  torch::Tensor count = batch.target_mask.sum(1).to(mean.scalar_type());
  torch::Tensor ll = (-(mean * count)).to(torch::kCPU, torch::kFloat64).contiguous();
  LabelChoice choice;
  choice.log_likelihood.assign(ll.data_ptr<double>(), ll.data_ptr<double>() + n);
  choice.index = static_cast<size_t>(
      std::max_element(choice.log_likelihood.begin(), choice.log_likelihood.end()) - choice.log_likelihood.begin());
  return choice;
}

}  // namespace reckoning
