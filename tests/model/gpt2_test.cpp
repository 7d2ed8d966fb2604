// GPT-2 forward pass: causality, padding invariance, KV cache equality, shapes.
#include <gtest/gtest.h>

#include "reckoning/model/gpt2.h"

using namespace reckoning;

namespace {

Gpt2Config tiny_config() {
  Gpt2Config c;
  c.n_vocab = 37;
  c.n_ctx = 16;
  c.n_embd = 8;
  c.n_head = 2;
  c.n_layer = 2;
  c.bos_token_id = c.eos_token_id = 0;
  return c;
}

}  // namespace

TEST(Gpt2Forward, CausalityAppendingTokensKeepsEarlierLogits) {
  Gpt2Config c = tiny_config();
  Gpt2Weights w = gpt2_init(c, 1, torch::kFloat64);
  torch::Tensor ids = torch::randint(c.n_vocab, {2, 7}, torch::dtype(torch::kLong));
  torch::Tensor full = gpt2_forward(c, w, ids, {}, false);
  torch::Tensor prefix = gpt2_forward(c, w, ids.slice(1, 0, 4), {}, false);
  EXPECT_EQ(full.sizes(), (std::vector<int64_t>{2, 7, c.n_vocab}));
  EXPECT_TRUE(torch::allclose(full.slice(1, 0, 4), prefix, 1e-10, 1e-12));
}

TEST(Gpt2Forward, PaddingInvarianceLeftAndRight) {
  Gpt2Config c = tiny_config();
  Gpt2Weights w = gpt2_init(c, 2, torch::kFloat64);
  torch::Tensor seq = torch::randint(c.n_vocab, {1, 5}, torch::dtype(torch::kLong));
  torch::Tensor alone = gpt2_forward(c, w, seq, {}, false);
  torch::Tensor pad = torch::full({1, 3}, c.eos_token_id, torch::dtype(torch::kLong));
  torch::Tensor right = gpt2_forward(c, w, torch::cat({seq, pad}, 1),
                                     torch::cat({torch::ones({1, 5}), torch::zeros({1, 3})}, 1), false);
  torch::Tensor left = gpt2_forward(c, w, torch::cat({pad, seq}, 1),
                                    torch::cat({torch::zeros({1, 3}), torch::ones({1, 5})}, 1), false);
  EXPECT_TRUE(torch::allclose(right.slice(1, 0, 5), alone, 1e-10, 1e-12));
  EXPECT_TRUE(torch::allclose(left.slice(1, 3, 8), alone, 1e-10, 1e-12));
}

TEST(Gpt2Forward, KvCacheEqualsFullForward) {
  Gpt2Config c = tiny_config();
  Gpt2Weights w = gpt2_init(c, 3, torch::kFloat64);
  torch::Tensor ids = torch::randint(c.n_vocab, {2, 6}, torch::dtype(torch::kLong));
  torch::Tensor full = gpt2_forward(c, w, ids, {}, false);
  KvCache cache;
  torch::Tensor first = gpt2_forward(c, w, ids.slice(1, 0, 3), {}, false, &cache);
  std::vector<torch::Tensor> steps{first};
  for (int64_t t = 3; t < 6; ++t) steps.push_back(gpt2_forward(c, w, ids.slice(1, t, t + 1), {}, false, &cache));
  EXPECT_EQ(cache.length(), 6);
  EXPECT_TRUE(torch::allclose(torch::cat(steps, 1), full, 1e-10, 1e-12));
}
