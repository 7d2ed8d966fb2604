// Throughput of the ProofWriter generator (theory sampling with rejection, proving, questions,
// proof strings, English): items/s = generated questions per second on one core.
// Run: ./build/proofwriter_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include "reckoning/data/proofwriter/proofwriter_generator.h"

static void BM_ProofwriterGenerate(benchmark::State& state) {
  reckoning::ProofwriterOptions o;
  o.depth = static_cast<int>(state.range(0));
  o.world = state.range(1) ? reckoning::World::closed : reckoning::World::open;
  o.kind = reckoning::TheoryKind::both;
  o.seed = 3;
  int64_t index = 0, questions = 0;
  for (auto _ : state) {
    reckoning::ProofwriterProblem p = reckoning::proofwriter_generate_one(o, index++);
    questions += static_cast<int64_t>(p.questions.size());
    benchmark::DoNotOptimize(p);
  }
  state.SetItemsProcessed(questions);
}
BENCHMARK(BM_ProofwriterGenerate)
    ->ArgNames({"depth", "cwa"})
    ->ArgsProduct({{0, 1, 2, 3, 4, 5, 6}, {0, 1}})
    ->Unit(benchmark::kMicrosecond);

static void BM_ProofwriterMetaAndTasks(benchmark::State& state) {
  reckoning::ProofwriterOptions o;
  o.depth = 3;
  reckoning::ProofwriterProblem p = reckoning::proofwriter_generate_one(o, 0);
  for (auto _ : state) {
    benchmark::DoNotOptimize(reckoning::proofwriter_to_meta(p).dump());
    benchmark::DoNotOptimize(reckoning::proofwriter_to_tasks(p, 6, 1));
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p.questions.size()));
}
BENCHMARK(BM_ProofwriterMetaAndTasks)->Unit(benchmark::kMicrosecond);

BENCHMARK_MAIN();
