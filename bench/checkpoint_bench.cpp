// Loading and saving a GPT-2 small sized model directory (124M parameters, ~500 MB F32) through
// gpt2_load_dir / gpt2_save_dir, and reading only its header (what `reckoning inspect` does).
// The directory is written once into the system temp dir and removed at exit.
#include <benchmark/benchmark.h>

#include <filesystem>

#include <unistd.h>

#include "reckoning/base/io.h"
#include "reckoning/model/hf_checkpoint.h"
#include "reckoning/report/inspect.h"

namespace {

const std::string& gpt2_small_dir() {
  static const std::string dir = [] {
    std::string d = (std::filesystem::temp_directory_path() /
                     ("reckoning_checkpoint_bench_" + std::to_string(::getpid()))).string();
    reckoning::Gpt2Config config;  // GPT-2 small defaults
    reckoning::gpt2_save_dir({config, reckoning::gpt2_init(config, 0)}, d);
    std::atexit([] { reckoning::remove_tree(gpt2_small_dir()); });
    return d;
  }();
  return dir;
}

void BM_Gpt2LoadDir(benchmark::State& state) {
  const std::string& dir = gpt2_small_dir();
  for (auto _ : state) {
    reckoning::Gpt2Model m = reckoning::gpt2_load_dir(dir);
    benchmark::DoNotOptimize(m.weights.wte.data_ptr());
  }
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(std::filesystem::file_size(dir + "/model.safetensors")));
}
BENCHMARK(BM_Gpt2LoadDir)->Unit(benchmark::kMillisecond)->MinTime(2.0);

void BM_Gpt2SaveDir(benchmark::State& state) {
  reckoning::Gpt2Model m = reckoning::gpt2_load_dir(gpt2_small_dir());
  const std::string out = gpt2_small_dir() + "_save";
  for (auto _ : state) reckoning::gpt2_save_dir(m, out);
  reckoning::remove_tree(out);
}
BENCHMARK(BM_Gpt2SaveDir)->Unit(benchmark::kMillisecond)->Iterations(3);

void BM_InspectHeaderOnly(benchmark::State& state) {
  const std::string& dir = gpt2_small_dir();
  for (auto _ : state) {
    reckoning::CheckpointSummary s = reckoning::checkpoint_inspect(dir);
    benchmark::DoNotOptimize(s.parameter_count);
  }
}
BENCHMARK(BM_InspectHeaderOnly)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
