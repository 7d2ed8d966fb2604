// Generation: cached decoding against slow references that run the full forward pass every step,
// batched left-padded greedy against one prompt at a time, beam search against greedy and against
// exhaustive search, EOS stop, length limit, errors.
#include <algorithm>
#include <cmath>
#include <functional>
#include <tuple>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/base/error.h"
#include "reckoning/model/decoder.h"
#include "reckoning/model/generate.h"
#include "reckoning/model/gpt2.h"

using namespace reckoning;
using Tokens = std::vector<int64_t>;

namespace {

Gpt2Config tiny_config(int64_t n_vocab = 11) {
  Gpt2Config c;
  c.n_vocab = n_vocab;
  c.n_ctx = 24;
  c.n_embd = 16;
  c.n_head = 2;
  c.n_layer = 2;
  c.bos_token_id = c.eos_token_id = n_vocab - 1;
  return c;
}

// Random float64 weights with peaked next-token distributions (no near-ties between the best
// tokens, which would make comparisons of decoders depend on rounding).
Gpt2Weights random_weights(const Gpt2Config& c, uint64_t seed) {
  torch::manual_seed(seed);
  return gpt2_map(gpt2_init(c, seed, torch::kFloat64), [](const torch::Tensor& t) {
    if (t.dim() == 2) return (torch::randn_like(t) * 0.5).detach();
    return (t + 0.2 * torch::randn_like(t)).detach();
  });
}

// log p(continuation | prompt) by one full forward pass; `with_eos` adds the EOS that ended it.
double log_prob(const Gpt2Config& c, const Gpt2Weights& w, const Tokens& prompt, Tokens cont,
                bool with_eos, int64_t eos) {
  if (with_eos) cont.push_back(eos);
  Tokens all = prompt;
  all.insert(all.end(), cont.begin(), cont.end());
  torch::NoGradGuard no_grad;
  torch::Tensor ids = torch::tensor(all, torch::kLong).view({1, -1});
  torch::Tensor logp = torch::log_softmax(gpt2_forward(c, w, ids, {}, false), -1)[0];  // (T, V)
  double s = 0;
  for (size_t i = 0; i < cont.size(); ++i) s += logp[prompt.size() - 1 + i][cont[i]].item<double>();
  return s;
}

// Slow greedy: full forward over the whole sequence at every step, no cache.
Tokens slow_greedy(const Gpt2Config& c, const Gpt2Weights& w, const Tokens& prompt,
                   const GenerateOptions& o) {
  torch::NoGradGuard no_grad;
  Tokens seq = prompt, out;
  for (int64_t step = 0; step < o.max_new_tokens; ++step) {
    torch::Tensor logits = gpt2_forward(c, w, torch::tensor(seq, torch::kLong).view({1, -1}), {}, false);
    const int64_t next = logits[0][-1].argmax().item<int64_t>();
    if (o.stop_at_eos && next == o.eos_id) break;
    out.push_back(next);
    seq.push_back(next);
  }
  return out;
}

// Slow beam search with the same rules as decoder_beam_search (Hugging Face's), but a full forward
// pass over every beam at every step and no cache: checks the cached implementation's reordering.
Tokens slow_beam(const Gpt2Config& c, const Gpt2Weights& w, const Tokens& prompt,
                 const GenerateOptions& o) {
  torch::NoGradGuard no_grad;
  const int64_t k = o.num_beams;
  std::vector<std::pair<double, Tokens>> beams{{0.0, {}}}, finished;
  auto normalised = [&](double s, size_t len) { return s / std::pow(static_cast<double>(len), o.length_penalty); };
  auto add_finished = [&](double score, const Tokens& t) {
    finished.push_back({score, t});
    std::stable_sort(finished.begin(), finished.end(), [](auto& a, auto& b) { return a.first > b.first; });
    if (static_cast<int64_t>(finished.size()) > k) finished.pop_back();
  };
  bool done = false;
  for (int64_t step = 0; step < o.max_new_tokens && !done; ++step) {
    std::vector<std::tuple<double, size_t, int64_t>> cand;  // (score, beam, token)
    for (size_t b = 0; b < beams.size(); ++b) {
      Tokens seq = prompt;
      seq.insert(seq.end(), beams[b].second.begin(), beams[b].second.end());
      torch::Tensor logp = torch::log_softmax(
          gpt2_forward(c, w, torch::tensor(seq, torch::kLong).view({1, -1}), {}, false)[0][-1], -1);
      for (int64_t v = 0; v < c.n_vocab; ++v) cand.emplace_back(beams[b].first + logp[v].item<double>(), b, v);
    }
    std::stable_sort(cand.begin(), cand.end(), [](auto& a, auto& b) { return std::get<0>(a) > std::get<0>(b); });
    std::vector<std::pair<double, Tokens>> next;
    for (size_t j = 0; j < cand.size() && j < static_cast<size_t>(2 * k) && static_cast<int64_t>(next.size()) < k; ++j) {
      auto [score, b, v] = cand[j];
      if (o.stop_at_eos && v == o.eos_id) {
        if (static_cast<int64_t>(j) < k) add_finished(normalised(score, step + 1), beams[b].second);
        continue;
      }
      Tokens t = beams[b].second;
      t.push_back(v);
      next.push_back({score, t});
    }
    beams = next;
    done = static_cast<int64_t>(finished.size()) >= k &&
           finished.back().first >= normalised(beams.front().first, step + 1);
  }
  if (!done) for (auto& [s, t] : beams) add_finished(normalised(s, t.size()), t);
  return finished.front().second;
}

GenerateOptions options(int64_t max_new, int64_t beams, int64_t eos, bool stop = true, double lp = 1.0) {
  GenerateOptions o;
  o.max_new_tokens = max_new;
  o.num_beams = beams;
  o.eos_id = eos;
  o.stop_at_eos = stop;
  o.length_penalty = lp;
  return o;
}

std::vector<Tokens> random_prompts(const Gpt2Config& c, const std::vector<int64_t>& lengths, uint64_t seed) {
  torch::manual_seed(seed);
  std::vector<Tokens> prompts;
  for (int64_t n : lengths) {
    torch::Tensor t = torch::randint(c.n_vocab - 1, {n}, torch::kLong);
    prompts.emplace_back(t.data_ptr<int64_t>(), t.data_ptr<int64_t>() + n);
  }
  return prompts;
}

// An EOS id that greedy decoding of `prompt` emits at step `at` (so that EOS really stops it).
int64_t eos_emitted_at(const Gpt2Config& c, const Gpt2Weights& w, const Tokens& prompt, int64_t at) {
  Tokens free_run = decoder_generate_greedy(c, w, {prompt}, options(at + 1, 1, 0, false))[0];
  return free_run[at];
}

// Task-batched weights (task_batch.h): every tensor of `tasks` stacked along a new dimension 0.
Gpt2Weights stack_tasks(const std::vector<Gpt2Weights>& tasks) {
  std::vector<std::vector<torch::Tensor>> flat;
  for (const Gpt2Weights& w : tasks) flat.push_back(decoder_flatten(DecoderWeights(w)));
  std::vector<torch::Tensor> stacked;
  for (size_t i = 0; i < flat.front().size(); ++i) {
    std::vector<torch::Tensor> same;
    for (const auto& f : flat) same.push_back(f[i]);
    stacked.push_back(torch::stack(same));
  }
  return decoder_with(DecoderWeights(tasks.front()), stacked).gpt2();
}

}  // namespace

TEST(Generate, CachedGreedyEqualsSlowReference) {
  const Gpt2Config c = tiny_config();
  for (uint64_t seed : {1, 2, 3}) {
    const Gpt2Weights w = random_weights(c, seed);
    for (const Tokens& p : random_prompts(c, {1, 3, 6}, seed)) {
      for (bool stop : {false, true}) {
        const int64_t eos = stop ? eos_emitted_at(c, w, p, 4) : c.eos_token_id;
        const GenerateOptions o = options(8, 1, eos, stop);
        const Tokens fast = decoder_generate(c, w, {p}, o)[0];
        EXPECT_EQ(fast, slow_greedy(c, w, p, o)) << "seed " << seed << " stop " << stop;
        if (stop) {
          EXPECT_LE(fast.size(), 4u);
        }
      }
    }
  }
}

TEST(Generate, BatchedLeftPaddedGreedyEqualsOneByOne) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w = random_weights(c, 4);
  const std::vector<Tokens> prompts = random_prompts(c, {5, 1, 3, 7}, 4);
  // An EOS that stops the first prompt early while the others run on.
  for (bool stop : {false, true}) {
    const GenerateOptions o = options(9, 1, eos_emitted_at(c, w, prompts[0], 2), stop);
    const std::vector<Tokens> batched = decoder_generate(c, w, prompts, o);
    ASSERT_EQ(batched.size(), prompts.size());
    bool lengths_differ = false;
    for (size_t b = 0; b < prompts.size(); ++b) {
      EXPECT_EQ(batched[b], decoder_generate(c, w, {prompts[b]}, o)[0]) << "prompt " << b;
      EXPECT_EQ(batched[b], slow_greedy(c, w, prompts[b], o)) << "prompt " << b;
      lengths_differ |= batched[b].size() != batched[0].size();
    }
    EXPECT_EQ(lengths_differ, stop);
  }
}

TEST(Generate, TaskBatchedWeightsContinueEachPromptWithItsOwnTask) {
  // Three tasks' weights, two prompts each (prompts 2t and 2t + 1 belong to task t), budgets of
  // their own: each continuation is the one its prompt gets alone with its task's weights.
  const Gpt2Config c = tiny_config();
  const std::vector<Gpt2Weights> each{random_weights(c, 30), random_weights(c, 31), random_weights(c, 32)};
  const Gpt2Weights batched = stack_tasks(each);
  EXPECT_EQ(decoder_tasks(c, batched), 3);
  EXPECT_EQ(decoder_tasks(c, each[0]), 0);
  const std::vector<Tokens> prompts = random_prompts(c, {5, 1, 3, 7, 2, 4}, 30);
  const std::vector<int64_t> budgets{9, 3, 0, 9, 6, 1};
  for (bool stop : {false, true}) {
    GenerateOptions o = options(99, 1, eos_emitted_at(c, each[0], prompts[0], 2), stop);
    o.max_new_tokens_each = budgets;
    const std::vector<Tokens> out = decoder_generate(c, batched, prompts, o);
    ASSERT_EQ(out.size(), prompts.size());
    bool tasks_differ = false;
    for (size_t b = 0; b < prompts.size(); ++b) {
      const GenerateOptions alone = options(budgets[b], 1, o.eos_id, stop);
      const Tokens expected = decoder_generate(c, each[b / 2], {prompts[b]}, alone)[0];
      EXPECT_EQ(out[b], expected) << "prompt " << b << " stop " << stop;
      EXPECT_EQ(out[b], slow_greedy(c, each[b / 2], prompts[b], alone)) << "prompt " << b;
      EXPECT_LE(static_cast<int64_t>(out[b].size()), budgets[b]);
      if (budgets[b] > 2) tasks_differ |= expected != decoder_generate(c, each[(b / 2 + 1) % 3], {prompts[b]}, alone)[0];
    }
    EXPECT_TRUE(tasks_differ);  // the tasks' weights really give different continuations
  }
  // Beam search through decoder_generate: each prompt with its own budget and its task's weights.
  GenerateOptions beams = options(99, 2, c.eos_token_id, false);
  beams.max_new_tokens_each = budgets;
  const std::vector<Tokens> beamed = decoder_generate(c, batched, prompts, beams);
  for (size_t b = 0; b < prompts.size(); ++b) {
    EXPECT_EQ(beamed[b], decoder_beam_search(c, each[b / 2], prompts[b], options(budgets[b], 2, c.eos_token_id, false)))
        << "prompt " << b;
  }
  // decoder_beam_search itself takes one task's weights; the tasks must divide the prompts.
  const auto message = [&](const std::function<void()>& run) {
    try {
      run();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(message([&] { decoder_beam_search(c, batched, prompts[0], options(3, 2, 0)); }),
              testing::HasSubstr("beam search: expected weights shared by the prompts"));
  for (int64_t k : {1, 2}) {
    EXPECT_THAT(message([&] { decoder_generate(c, batched, {prompts.begin(), prompts.begin() + 4}, options(3, k, 0)); }),
                testing::HasSubstr("a number of tasks that divides the prompts (4), got 3 tasks"));
  }
}

TEST(Generate, EachPromptNeedsOnlyItsOwnRoomInTheContext) {
  // GPT-2's positions end at n_ctx = 24 and count real tokens only: next to a 20-token prompt with
  // 5 new tokens, a 2-token prompt may take 20 (23 positions), although the batch's cache holds
  // more slots than that; a budget beyond a prompt's own room is refused.
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w = random_weights(c, 33);
  const std::vector<Tokens> prompts = random_prompts(c, {20, 2}, 33);
  GenerateOptions o = options(0, 1, 0, false);
  o.max_new_tokens_each = {5, 20};
  const std::vector<Tokens> out = decoder_generate(c, w, prompts, o);
  ASSERT_EQ(out[0].size(), 5u);
  ASSERT_EQ(out[1].size(), 20u);
  EXPECT_EQ(out[0], slow_greedy(c, w, prompts[0], options(5, 1, 0, false)));
  EXPECT_EQ(out[1], slow_greedy(c, w, prompts[1], options(20, 1, 0, false)));
  o.max_new_tokens_each = {5, 24};
  try {
    decoder_generate(c, w, prompts, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("prompt 1: expected prompt length + max_new_tokens - 1 <= n_ctx = 24, got 2 + 24 - 1 = 25"));
  }
  o.max_new_tokens_each = {5};
  try {
    decoder_generate(c, w, prompts, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("option 'max_new_tokens_each': expected one budget per prompt (2), got 1 budgets"));
  }
}

TEST(Generate, BeamSearchWithOneBeamEqualsGreedy) {
  const Gpt2Config c = tiny_config();
  for (uint64_t seed : {5, 6, 7}) {
    const Gpt2Weights w = random_weights(c, seed);
    const Tokens p = random_prompts(c, {4}, seed)[0];
    for (double lp : {0.0, 1.0, 2.0}) {
      for (bool stop : {false, true}) {
        const GenerateOptions o = options(7, 1, eos_emitted_at(c, w, p, 3), stop, lp);
        EXPECT_EQ(decoder_beam_search(c, w, p, o), decoder_generate_greedy(c, w, {p}, o)[0])
            << "seed " << seed << " lp " << lp << " stop " << stop;
      }
    }
  }
}

TEST(Generate, CachedBeamSearchEqualsSlowReference) {
  const Gpt2Config c = tiny_config();
  for (uint64_t seed : {8, 9, 10}) {
    const Gpt2Weights w = random_weights(c, seed);
    const Tokens p = random_prompts(c, {3}, seed)[0];
    for (int64_t eos : {c.eos_token_id, eos_emitted_at(c, w, p, 1)}) {
      // lp < 0 favours short hypotheses, lp > 0 long ones.
      for (double lp : {-1.0, 0.0, 1.0}) {
        const GenerateOptions o = options(6, 3, eos, true, lp);
        EXPECT_EQ(decoder_generate(c, w, {p}, o)[0], slow_beam(c, w, p, o))
            << "seed " << seed << " eos " << eos << " lp " << lp;
      }
    }
  }
}

TEST(Generate, BeamSearchLogProbAtLeastGreedys) {
  const Gpt2Config c = tiny_config();
  int strictly_better = 0;
  for (uint64_t seed = 10; seed < 18; ++seed) {
    const Gpt2Weights w = random_weights(c, seed);
    const Tokens p = random_prompts(c, {3}, seed)[0];
    // Length 2: the greedy sequence is always among the candidates, so this is guaranteed.
    // Length 6: not guaranteed for beam search in general, but holds on these models.
    for (int64_t n : {2, 6}) {
      const GenerateOptions o = options(n, 4, c.eos_token_id, false, 0.0);
      const Tokens greedy = decoder_generate(c, w, {p}, options(n, 1, c.eos_token_id, false))[0];
      const Tokens beam = decoder_generate(c, w, {p}, o)[0];
      ASSERT_EQ(beam.size(), static_cast<size_t>(n));
      const double lb = log_prob(c, w, p, beam, false, 0), lg = log_prob(c, w, p, greedy, false, 0);
      EXPECT_GE(lb, lg - 1e-12) << "seed " << seed << " length " << n;
      strictly_better += lb > lg + 1e-9;
    }
  }
  EXPECT_GT(strictly_better, 0);  // beam search is not secretly greedy
}

TEST(Generate, BeamSearchWithEnoughBeamsFindsTheExactOptimum) {
  // k = V^(n-1) beams keep every prefix, so beam search must return the most probable sequence.
  const Gpt2Config c = tiny_config(6);
  const int64_t n = 3, V = c.n_vocab;
  const Gpt2Weights w = random_weights(c, 20);
  const Tokens p = random_prompts(c, {2}, 20)[0];
  double best = -INFINITY;
  Tokens best_seq;
  for (int64_t i = 0; i < V * V * V; ++i) {
    Tokens s{i / (V * V), (i / V) % V, i % V};
    const double lp = log_prob(c, w, p, s, false, 0);
    if (lp > best) best = lp, best_seq = s;
  }
  EXPECT_EQ(decoder_beam_search(c, w, p, options(n, V * V, c.eos_token_id, false, 0.0)), best_seq);
}

TEST(Generate, EosStopsAndLengthIsLimited) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w = random_weights(c, 21);
  const Tokens p = random_prompts(c, {4}, 21)[0];
  const Tokens free_run = decoder_generate(c, w, {p}, options(10, 1, 0, false))[0];
  ASSERT_EQ(free_run.size(), 10u);
  // Stop at the token emitted at step 3 (its first occurrence): the first 3 tokens come back.
  const int64_t eos = free_run[3];
  const size_t first = std::find(free_run.begin(), free_run.end(), eos) - free_run.begin();
  const Tokens stopped = decoder_generate(c, w, {p}, options(10, 1, eos))[0];
  EXPECT_EQ(stopped, Tokens(free_run.begin(), free_run.begin() + first));
  EXPECT_EQ(std::count(stopped.begin(), stopped.end(), eos), 0);
  EXPECT_EQ(decoder_generate(c, w, {p}, options(4, 1, 0, false))[0], Tokens(free_run.begin(), free_run.begin() + 4));
  EXPECT_TRUE(decoder_generate(c, w, {p}, options(0, 1, 0))[0].empty());
  for (int64_t beams : {2, 4}) {
    const Tokens b = decoder_generate(c, w, {p}, options(5, beams, eos))[0];
    EXPECT_LE(b.size(), 5u);
    EXPECT_EQ(std::count(b.begin(), b.end(), eos), 0) << beams << " beams";
    EXPECT_TRUE(decoder_generate(c, w, {p}, options(0, beams, eos))[0].empty());
  }
  // eos_id < 0: the config's EOS.
  const GenerateOptions by_config = options(10, 1, -1);
  Gpt2Config c_eos = c;
  c_eos.eos_token_id = eos;
  EXPECT_EQ(decoder_generate(c_eos, w, {p}, by_config)[0], stopped);
}

TEST(Generate, RunsOnFastWeightsAndFloat32WithoutBuildingAGraph) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights base = gpt2_map(random_weights(c, 22), [](const torch::Tensor& t) {
    return t.clone().requires_grad_(true);
  });
  // One differentiable step, as the inner loop makes: fast weights are non-leaf graph tensors.
  const Tokens p = random_prompts(c, {5}, 22)[0];
  torch::Tensor ids = torch::tensor(p, torch::kLong).view({1, -1});
  torch::Tensor loss = gpt2_forward(c, base, ids, {}, false).logsumexp(-1).mean();
  std::vector<torch::Tensor> flat = decoder_flatten(base);
  std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, flat, {}, true, true);
  for (size_t i = 0; i < flat.size(); ++i) flat[i] = flat[i] - 0.5 * grads[i];
  const Gpt2Weights fast = gpt2_unflatten(c, flat);
  const GenerateOptions o = options(6, 1, c.eos_token_id, false);
  const Tokens from_fast = decoder_generate(c, fast, {p}, o)[0];
  EXPECT_EQ(from_fast, slow_greedy(c, fast, p, o));
  EXPECT_TRUE(fast.wte.requires_grad());
  const Gpt2Weights as_float = gpt2_map(fast, [](const torch::Tensor& t) { return t.detach().to(torch::kFloat32); });
  EXPECT_EQ(decoder_generate(c, as_float, {p}, o)[0].size(), 6u);
  EXPECT_EQ(decoder_generate(c, as_float, {p}, options(6, 3, c.eos_token_id, false))[0].size(), 6u);
}

TEST(Generate, BadInputsThrowErrorsThatSayWhat) {
  const Gpt2Config c = tiny_config();
  const Gpt2Weights w = random_weights(c, 23);
  auto message = [&](const std::vector<Tokens>& prompts, const GenerateOptions& o) {
    try {
      decoder_generate(c, w, prompts, o);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  using ::testing::HasSubstr;
  for (int64_t beams : {1, 3}) {
    EXPECT_THAT(message({{1, 2}, {}}, options(3, beams, 0)), HasSubstr("prompt 1: expected at least one token"));
    EXPECT_THAT(message({{1, 99}}, options(3, beams, 0)), HasSubstr("prompt 0, token 1: expected an id in [0, 11), got 99"));
    EXPECT_THAT(message({Tokens(20, 1)}, options(6, beams, 0)), HasSubstr("<= n_ctx = 24"));
  }
  EXPECT_EQ(message({Tokens(20, 1)}, options(5, 1, 0)), "no error");  // exactly fits
  EXPECT_THAT(message({{1}}, options(3, 0, 0)), HasSubstr("option 'num_beams': expected a count >= 1, got 0"));
  EXPECT_THAT(message({{1}}, options(-1, 1, 0)), HasSubstr("option 'max_new_tokens'"));
  EXPECT_THAT(message({{1}}, options(3, 1, 11)), HasSubstr("option 'eos_id'"));
  EXPECT_TRUE(decoder_generate(c, w, {}, options(3, 1, 0)).empty());
}
