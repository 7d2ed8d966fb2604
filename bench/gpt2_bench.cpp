// Micro-benchmarks of the GPT-2 forward pass, forward + backward, and generation with and without
// the KV cache, at a small config and at GPT-2 small's shape (12 layers, 768 wide, 50257 vocab;
// random weights, float32, CPU). Threads: RECKONING_THREADS or all cores (reckoning's policy).
//
// Run: ./build/gpt2_bench   (or --benchmark_filter=Generate for the generation figures)
#include <benchmark/benchmark.h>

#include "reckoning/model/generate.h"
#include "reckoning/model/gpt2.h"
#include "reckoning/base/threads.h"

using namespace reckoning;

namespace {

struct Model {
  Gpt2Config config;
  Gpt2Weights weights;
};

// 0 = small (2 layers, 128 wide, 1000 vocab), 1 = GPT-2 small shape.
const Model& model(int64_t which) {
  static const Model small = [] {
    Gpt2Config c;
    c.n_vocab = 1000;
    c.n_ctx = 128;
    c.n_embd = 128;
    c.n_head = 4;
    c.n_layer = 2;
    c.bos_token_id = c.eos_token_id = 0;
    return Model{c, gpt2_init(c, 1)};
  }();
  static const Model gpt2_small = [] {
    Gpt2Config c;  // the defaults are GPT-2 small
    return Model{c, gpt2_init(c, 1)};
  }();
  return which == 0 ? small : gpt2_small;
}

torch::Tensor random_ids(const Gpt2Config& c, int64_t B, int64_t T) {
  torch::manual_seed(0);
  return torch::randint(c.n_vocab, {B, T}, torch::dtype(torch::kLong));
}

void label(benchmark::State& state, int64_t which, int64_t B, int64_t T) {
  state.SetLabel((which == 0 ? std::string("small") : std::string("gpt2-small")) + " B=" +
                 std::to_string(B) + " T=" + std::to_string(T));
  state.counters["threads"] = at::get_num_threads();
}

// Arguments: {model, B, T}.
void BM_Forward(benchmark::State& state) {
  const Model& m = model(state.range(0));
  const int64_t B = state.range(1), T = state.range(2);
  torch::Tensor ids = random_ids(m.config, B, T);
  torch::NoGradGuard no_grad;
  for (auto _ : state) benchmark::DoNotOptimize(gpt2_forward(m.config, m.weights, ids, {}, false));
  state.SetItemsProcessed(state.iterations() * B * T);  // tokens/s
  label(state, state.range(0), B, T);
}

void BM_ForwardBackward(benchmark::State& state) {
  const Model& m = model(state.range(0));
  const int64_t B = state.range(1), T = state.range(2);
  torch::Tensor ids = random_ids(m.config, B, T);
  Gpt2Weights w = gpt2_map(m.weights, [](const torch::Tensor& t) { return t.detach().requires_grad_(true); });
  std::vector<torch::Tensor> flat = gpt2_flatten(w);
  for (auto _ : state) {
    torch::Tensor logits = gpt2_forward(m.config, w, ids, {}, false);  // (B, T, V)
    torch::Tensor loss = torch::nn::functional::cross_entropy(
        logits.slice(1, 0, T - 1).reshape({-1, m.config.n_vocab}), ids.slice(1, 1, T).reshape(-1));
    benchmark::DoNotOptimize(torch::autograd::grad({loss}, flat));
  }
  state.SetItemsProcessed(state.iterations() * B * T);
  label(state, state.range(0), B, T);
}

// Arguments: {model, prompt length, new tokens}. Greedy, fixed length (no EOS stop).
void BM_GenerateCached(benchmark::State& state) {
  const Model& m = model(state.range(0));
  const int64_t T = state.range(1), n = state.range(2);
  torch::Tensor ids = random_ids(m.config, 1, T);
  std::vector<int64_t> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + T);
  GenerateOptions o;
  o.max_new_tokens = n;
  o.stop_at_eos = false;
  for (auto _ : state) benchmark::DoNotOptimize(decoder_generate(m.config, m.weights, {prompt}, o));
  state.SetItemsProcessed(state.iterations() * n);  // new tokens/s
  label(state, state.range(0), 1, T);
}

// The same decoding without a cache: a full forward over the whole sequence for every token.
void BM_GenerateUncached(benchmark::State& state) {
  const Model& m = model(state.range(0));
  const int64_t T = state.range(1), n = state.range(2);
  torch::Tensor prompt = random_ids(m.config, 1, T);
  torch::NoGradGuard no_grad;
  for (auto _ : state) {
    torch::Tensor seq = prompt;
    for (int64_t i = 0; i < n; ++i) {
      torch::Tensor logits = gpt2_forward(m.config, m.weights, seq, {}, false);  // (1, T + i, V)
      seq = torch::cat({seq, logits.select(1, seq.size(1) - 1).argmax(-1, true)}, 1);
    }
    benchmark::DoNotOptimize(seq);
  }
  state.SetItemsProcessed(state.iterations() * n);
  label(state, state.range(0), 1, T);
}

void BM_GenerateBeam4(benchmark::State& state) {
  const Model& m = model(state.range(0));
  const int64_t T = state.range(1), n = state.range(2);
  torch::Tensor ids = random_ids(m.config, 1, T);
  std::vector<int64_t> prompt(ids.data_ptr<int64_t>(), ids.data_ptr<int64_t>() + T);
  GenerateOptions o;
  o.max_new_tokens = n;
  o.num_beams = 4;
  o.stop_at_eos = false;
  for (auto _ : state) benchmark::DoNotOptimize(decoder_generate(m.config, m.weights, {prompt}, o));
  state.SetItemsProcessed(state.iterations() * n);
  label(state, state.range(0), 1, T);
}

}  // namespace

BENCHMARK(BM_Forward)->Args({0, 8, 64})->Args({1, 1, 64})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ForwardBackward)->Args({0, 8, 64})->Args({1, 1, 64})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GenerateCached)->Args({0, 32, 32})->Args({1, 32, 32})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GenerateUncached)->Args({0, 32, 32})->Args({1, 32, 32})->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GenerateBeam4)->Args({0, 32, 32})->Args({1, 32, 32})->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  configure_threads();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
