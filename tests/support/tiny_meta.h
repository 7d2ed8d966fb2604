// A tiny meta-learning problem for inner-loop tests (float64-friendly): a 2-layer, 8-wide GPT-2
// config, three right-padded facts of different lengths with targets after a 2-token key, and a
// question with two target tokens. Seeded.
#pragma once

#include <torch/torch.h>

#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/loss.h"
#include "reckoning/model/lora.h"

namespace reckoning::test {

inline Gpt2Config tiny_config() {
  Gpt2Config c;
  c.n_vocab = 13;
  c.n_ctx = 12;
  c.n_embd = 8;
  c.n_head = 2;
  c.n_layer = 2;
  c.bos_token_id = c.eos_token_id = 0;
  return c;
}

// Three "facts" of different lengths (right-padded), targets after a 2-token key.
inline LmBatch tiny_facts() {
  torch::manual_seed(11);
  LmBatch b;
  b.ids = torch::randint(1, 13, {3, 7}, torch::dtype(torch::kLong));
  b.attn_mask = torch::ones({3, 7}, torch::dtype(torch::kLong));
  b.attn_mask[1].slice(0, 5).fill_(0);
  b.attn_mask[2].slice(0, 6).fill_(0);
  b.ids.masked_fill_(b.attn_mask == 0, 0);
  b.target_mask = b.attn_mask.to(torch::kBool).clone();
  b.target_mask.slice(1, 0, 2).fill_(false);
  return b;
}

inline LmBatch tiny_question() {
  torch::manual_seed(12);
  LmBatch b;
  b.ids = torch::randint(1, 13, {1, 6}, torch::dtype(torch::kLong));
  b.attn_mask = torch::ones({1, 6}, torch::dtype(torch::kLong));
  b.target_mask = torch::zeros({1, 6}, torch::dtype(torch::kBool));
  b.target_mask.slice(1, 4).fill_(true);
  return b;
}

// Rank-2 LoRA adapters (alpha 4) on every projection of `w`, moved off their fresh values (b != 0)
// so that they look trained. Seeded.
inline void attach_test_adapters(DecoderWeights& w) {
  LoraConfig adapters;
  adapters.rank = 2;
  adapters.alpha = 4;
  lora_attach(w, adapters, 3);
  torch::manual_seed(4);
  lora_visit(w, [](const std::string&, torch::Tensor& t) { t = t + torch::randn_like(t) * 0.05; });
}

}  // namespace reckoning::test
