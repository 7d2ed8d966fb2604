// Data layer throughput: CLUTRR problems generated and rendered per second (target >= 10,000/s
// per core), and the CLUTRR CSV reader on the real sample file.
#include <benchmark/benchmark.h>

#include "reckoning/data/clutrr/clutrr.h"
#include "reckoning/data/clutrr/clutrr_generator.h"

using namespace reckoning;

static void BM_ClutrrGenerate(benchmark::State& state) {
  ClutrrGeneratorOptions o;
  o.hops = state.range(0);
  o.noise = state.range(1) ? ClutrrNoise::supporting : ClutrrNoise::none;
  uint64_t i = 0;
  for (auto _ : state) {
    DataRng rng(data_seed_mix(1, std::to_string(i++)));
    ClutrrProblem p = clutrr_problem_generate(rng, o);
    benchmark::DoNotOptimize(clutrr_problem_render(p, o, rng, "g"));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ClutrrGenerate)->Args({2, 0})->Args({4, 0})->Args({6, 0})->Args({10, 0})->Args({6, 1});

static void BM_ClutrrReadCsv(benchmark::State& state) {
  const std::string path = std::string(RECKONING_SOURCE_DIR) + "/data/samples/clutrr/1.4_test.csv";
  for (auto _ : state) benchmark::DoNotOptimize(clutrr_read(path));
  state.SetItemsProcessed(state.iterations() * 190);
}
BENCHMARK(BM_ClutrrReadCsv);

BENCHMARK_MAIN();
