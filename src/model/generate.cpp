// Greedy decoding and beam search over explicit GPT-2 weights; see generate.h. The beam search
// follows Hugging Face transformers' BeamSearchScorer / BeamHypotheses (early_stopping=False).
#include "reckoning/model/generate.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "reckoning/base/error.h"
#include "reckoning/model/decoder.h"

namespace reckoning {

namespace {

// Whether n_ctx is a hard end: GPT-2's position table ends there; rotary positions go on (a
// Llama-family max_position_embeddings is the length it was trained for, and dynamic rope scaling
// exists to go past it), so generation may pass it.
bool hard_context(const DecoderConfig& config) { return config.is_gpt2(); }

int64_t eos_of(const DecoderConfig& config, const GenerateOptions& options) {
  return options.eos_id >= 0 ? options.eos_id : config.eos_token_id();
}

void check_options(const DecoderConfig& config, const GenerateOptions& o) {
  check(o.max_new_tokens >= 0, "generate: option 'max_new_tokens'", "a count >= 0",
        std::to_string(o.max_new_tokens));
  check(o.num_beams >= 1, "generate: option 'num_beams'", "a count >= 1", std::to_string(o.num_beams));
  check(std::isfinite(o.length_penalty), "generate: option 'length_penalty'", "a finite number",
        std::to_string(o.length_penalty));
  check(eos_of(config, o) < config.vocab_size() && (eos_of(config, o) >= 0 || !o.stop_at_eos),
        "generate: option 'eos_id'",
        str("an id in [0, ", config.vocab_size(), ") (none given, and the model's config names no eos_token_id)"),
        std::to_string(eos_of(config, o)));
}

// Every prompt non-empty, in the vocabulary, and fitting into n_ctx with its `budget` new tokens;
// the last generated token is never fed back, hence the - 1. Positions count real tokens only, so
// a left-padded prompt needs what it needs alone.
void check_prompt(const DecoderConfig& config, const std::vector<int64_t>& prompt, size_t index, int64_t budget) {
  const std::string where = str("generate: prompt ", index);
  check(!prompt.empty(), where, "at least one token", "none");
  for (size_t t = 0; t < prompt.size(); ++t) {
    check(prompt[t] >= 0 && prompt[t] < config.vocab_size(), str(where, ", token ", t),
          str("an id in [0, ", config.vocab_size(), ")"), std::to_string(prompt[t]));
  }
  const auto length = static_cast<int64_t>(prompt.size());
  const int64_t needed = length + std::max<int64_t>(budget - 1, 0);
  check(needed <= config.n_ctx() || !hard_context(config), where,
        str("prompt length + max_new_tokens - 1 <= n_ctx = ", config.n_ctx()),
        str(length, " + ", budget, " - 1 = ", needed));
}

// Each prompt's budget: max_new_tokens_each when given (one per prompt, each >= 0), else max_new_tokens.
std::vector<int64_t> budgets_of(const GenerateOptions& o, size_t prompts) {
  if (o.max_new_tokens_each.empty()) return std::vector<int64_t>(prompts, o.max_new_tokens);
  check(o.max_new_tokens_each.size() == prompts, "generate: option 'max_new_tokens_each'",
        str("one budget per prompt (", prompts, ")"), str(o.max_new_tokens_each.size(), " budgets"));
  for (size_t b = 0; b < prompts; ++b) {
    check(o.max_new_tokens_each[b] >= 0, str("generate: option 'max_new_tokens_each', prompt ", b), "a count >= 0",
          std::to_string(o.max_new_tokens_each[b]));
  }
  return o.max_new_tokens_each;
}

// Last-position log-probabilities in float64 (ranking must not depend on the weights' dtype
// rounding more than necessary). logits (B, T, V) -> (B, V).
torch::Tensor last_log_probs(const torch::Tensor& logits) {
  return torch::log_softmax(logits.select(1, logits.size(1) - 1).to(torch::kFloat64), -1);
}

// Finished beam-search hypotheses, the best num_beams kept (Hugging Face's BeamHypotheses).
struct Hypotheses {
  size_t capacity;
  std::vector<std::pair<double, std::vector<int64_t>>> items;  // (score, tokens), best first

  void add(double score, std::vector<int64_t> tokens) {
    if (items.size() >= capacity && score <= items.back().first) return;
    auto pos = std::find_if(items.begin(), items.end(), [&](const auto& h) { return h.first < score; });
    items.insert(pos, {score, std::move(tokens)});
    if (items.size() > capacity) items.pop_back();
  }
  // Done when full and the best running beam, normalised at its current length, is no better than
  // the worst finished hypothesis (early_stopping=False; a heuristic: a running beam could still
  // gain later under a positive length penalty, Hugging Face accepts that and so do we).
  bool done(double best_running_sum, int64_t length, double length_penalty) const {
    if (items.size() < capacity) return false;
    return items.back().first >= best_running_sum / std::pow(static_cast<double>(length), length_penalty);
  }
};

}  // namespace

std::vector<std::vector<int64_t>> decoder_generate_greedy(const DecoderConfig& config,
                                                       const DecoderWeights& weights,
                                                       const std::vector<std::vector<int64_t>>& prompts,
                                                       const GenerateOptions& options) {
  check_options(config, options);
  const int64_t B = static_cast<int64_t>(prompts.size());
  const std::vector<int64_t> budgets = budgets_of(options, prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) check_prompt(config, prompts[b], b, budgets[b]);
  decoder_prompts_per_task(config, weights, B, "generate");
  std::vector<std::vector<int64_t>> out(prompts.size());
  const int64_t steps = budgets.empty() ? 0 : *std::max_element(budgets.begin(), budgets.end());
  if (B == 0 || steps == 0) return out;
  int64_t T = 0;
  for (const auto& p : prompts) T = std::max<int64_t>(T, static_cast<int64_t>(p.size()));
  const int64_t eos = eos_of(config, options);

  torch::NoGradGuard no_grad;
  // Left padding: every row's last position is real, so one column of logits serves all rows.
  torch::Tensor ids = torch::full({B, T}, eos, torch::dtype(torch::kLong));  // (B, T)
  torch::Tensor mask = torch::zeros({B, T}, torch::dtype(torch::kLong));     // (B, T)
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = prompts[b];
    const int64_t n = static_cast<int64_t>(p.size());
    ids.select(0, b).slice(0, T - n, T).copy_(torch::tensor(p, torch::dtype(torch::kLong)));
    mask.select(0, b).slice(0, T - n, T).fill_(1);
  }
  KvCache cache;
  torch::Tensor log_probs = last_log_probs(decoder_forward(config, weights, ids, mask, false, &cache));  // (B, V)
  std::vector<bool> finished(prompts.size(), false);
  int64_t running = 0;
  for (int64_t b = 0; b < B; ++b) {
    finished[b] = budgets[b] == 0;
    running += !finished[b];
  }
  // A finished row keeps its place in the batch (the batch keeps its shape) but is fed as padding:
  // its positions stop where it ended, and the other rows never see it.
  torch::Tensor step_mask = torch::ones({B, 1}, torch::dtype(torch::kLong));
  auto step_mask_a = step_mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) step_mask_a[b][0] = finished[b] ? 0 : 1;
  for (int64_t step = 0; step < steps; ++step) {
    torch::Tensor next = log_probs.argmax(-1);  // (B)
    const torch::Tensor next_host = next.cpu();
    auto next_a = next_host.accessor<int64_t, 1>();
    for (int64_t b = 0; b < B; ++b) {
      if (finished[b]) continue;
      const bool at_eos = options.stop_at_eos && next_a[b] == eos;
      if (!at_eos) out[b].push_back(next_a[b]);
      if (at_eos || step + 1 == budgets[b]) {
        finished[b] = true;
        step_mask_a[b][0] = 0;
        --running;
      }
    }
    if (running == 0) break;
    log_probs = last_log_probs(decoder_forward(config, weights, next.view({B, 1}), step_mask, false, &cache));
  }
  return out;
}

namespace {

// Beam search for prompt number `index` (used in error messages).
std::vector<int64_t> beam_search(const DecoderConfig& config, const DecoderWeights& weights,
                                 const std::vector<int64_t>& prompt, size_t index,
                                 const GenerateOptions& options) {
  check_options(config, options);
  check_prompt(config, prompt, index, options.max_new_tokens);
  check(decoder_tasks(config, weights) == 0, "generate: beam search", "weights shared by the prompts",
        "task-batched weights (decode each task's prompt with its own weights)");
  if (options.max_new_tokens == 0) return {};
  const int64_t k = options.num_beams, V = config.vocab_size(), eos = eos_of(config, options);
  const double lp = options.length_penalty;

  torch::NoGradGuard no_grad;
  KvCache cache;
  torch::Tensor ids = torch::tensor(prompt, torch::dtype(torch::kLong)).view({1, -1});  // (1, T)
  torch::Tensor log_probs = last_log_probs(decoder_forward(config, weights, ids, {}, false, &cache));  // (1, V)
  // Running beams: tokens so far and their summed log-probabilities; one beam at the start.
  std::vector<std::vector<int64_t>> beams(1);
  std::vector<double> sums{0.0};
  Hypotheses finished{static_cast<size_t>(k), {}};
  bool done = false;
  for (int64_t step = 0; step < options.max_new_tokens && !done; ++step) {
    const int64_t n = static_cast<int64_t>(beams.size());
    torch::Tensor scores = log_probs + torch::tensor(sums, torch::kFloat64).to(log_probs.device()).view({n, 1});  // (n, V)
    // 2k candidates: enough that k survive even if up to k of them are EOS.
    auto [top_scores_d, top_index_d] = scores.view({-1}).topk(std::min(2 * k, n * V));
    const torch::Tensor top_scores = top_scores_d.cpu(), top_index = top_index_d.cpu();
    auto score_a = top_scores.accessor<double, 1>();
    auto index_a = top_index.accessor<int64_t, 1>();
    std::vector<std::vector<int64_t>> next_beams;
    std::vector<double> next_sums;
    std::vector<int64_t> source, tokens;
    for (int64_t j = 0; j < top_scores.size(0) && static_cast<int64_t>(next_beams.size()) < k; ++j) {
      const double score = score_a[j];
      if (!std::isfinite(score)) break;
      const int64_t beam = index_a[j] / V, token = index_a[j] % V;
      if (options.stop_at_eos && token == eos) {
        // Only an EOS ranked among the top k finishes a hypothesis (length counts the EOS).
        if (j < k) finished.add(score / std::pow(static_cast<double>(step + 1), lp), beams[beam]);
        continue;
      }
      next_beams.push_back(beams[beam]);
      next_beams.back().push_back(token);
      next_sums.push_back(score);
      source.push_back(beam);
      tokens.push_back(token);
    }
    if (next_beams.empty()) {  // every candidate was EOS (a vocabulary of EOS alone)
      done = true;
      break;
    }
    beams = std::move(next_beams);
    sums = std::move(next_sums);
    done = finished.done(sums.front(), step + 1, lp);
    if (done || step + 1 == options.max_new_tokens) break;
    const int64_t m = static_cast<int64_t>(beams.size());
    cache.select(torch::tensor(source, torch::dtype(torch::kLong)).to(log_probs.device()));
    torch::Tensor next = torch::tensor(tokens, torch::dtype(torch::kLong)).view({m, 1});  // (m, 1)
    log_probs = last_log_probs(decoder_forward(config, weights, next, {}, false, &cache));  // (m, V)
  }
  if (!done) {
    // Out of length: running beams compete with the finished ones.
    for (size_t i = 0; i < beams.size(); ++i) {
      finished.add(sums[i] / std::pow(static_cast<double>(beams[i].size()), lp), beams[i]);
    }
  }
  return finished.items.empty() ? std::vector<int64_t>{} : finished.items.front().second;
}

}  // namespace

std::vector<int64_t> decoder_beam_search(const DecoderConfig& config, const DecoderWeights& weights,
                                      const std::vector<int64_t>& prompt, const GenerateOptions& options) {
  return beam_search(config, weights, prompt, 0, options);
}

std::vector<std::vector<int64_t>> decoder_generate(const DecoderConfig& config, const DecoderWeights& weights,
                                                const std::vector<std::vector<int64_t>>& prompts,
                                                const GenerateOptions& options) {
  check_options(config, options);
  if (options.num_beams == 1) return decoder_generate_greedy(config, weights, prompts, options);
  // Beam search one prompt at a time, each with its own budget and its task's weights.
  const std::vector<int64_t> budgets = budgets_of(options, prompts.size());
  const int64_t per_task = decoder_prompts_per_task(config, weights, static_cast<int64_t>(prompts.size()), "generate");
  GenerateOptions one = options;
  one.max_new_tokens_each.clear();
  std::vector<std::vector<int64_t>> out;
  out.reserve(prompts.size());
  for (size_t b = 0; b < prompts.size(); ++b) {
    one.max_new_tokens = budgets[b];
    const DecoderWeights mine =
        per_task > 0 ? decoder_task(config, weights, static_cast<int64_t>(b) / per_task) : weights;
    out.push_back(beam_search(config, mine, prompts[b], b, one));
  }
  return out;
}

std::vector<int64_t> generation_budgets(const DecoderConfig& config, const std::vector<std::vector<int64_t>>& prompts,
                                        int64_t wanted) {
  std::vector<int64_t> out;
  out.reserve(prompts.size());
  for (const auto& p : prompts) out.push_back(generation_budget(config, p.size(), wanted));
  return out;
}

int64_t generation_budget(const DecoderConfig& config, size_t prompt_length, int64_t wanted) {
  if (!hard_context(config)) return std::max<int64_t>(0, wanted);
  const int64_t room = config.n_ctx() - static_cast<int64_t>(prompt_length) + 1;
  return std::max<int64_t>(0, std::min(wanted, room));
}

}  // namespace reckoning
