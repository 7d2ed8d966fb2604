// A small seeded random number generator for the data layer (sampling distractors, balancing
// labels, simulating families). SplitMix64 with our own bounded draws, so that the same seed gives
// the same data on every platform and standard library (std::uniform_int_distribution does not).
// Not for model initialisation (that uses torch's generators).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace reckoning {

class DataRng {
 public:
  explicit DataRng(uint64_t seed) : state_(seed) {}

  uint64_t next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); n > 0. The modulo bias is below 2^-40 for the n used here.
  uint64_t uniform(uint64_t n) { return next() % n; }
  // Uniform in [lo, hi].
  int64_t range(int64_t lo, int64_t hi) { return lo + static_cast<int64_t>(uniform(hi - lo + 1)); }
  bool bernoulli(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  // uniform(n) as an int, for index arithmetic on small counts; n > 0.
  int below(int n) { return static_cast<int>(uniform(static_cast<uint64_t>(n))); }

  template <class T>
  const T& pick(const std::vector<T>& v) {
    return v[uniform(v.size())];
  }
  // k elements drawn without replacement, in draw order (a partial Fisher-Yates shuffle); all of
  // them, shuffled, when k >= v.size().
  template <class T>
  std::vector<T> sample(std::vector<T> v, size_t k) {
    for (size_t i = 0; i < k && i < v.size(); ++i) std::swap(v[i], v[i + uniform(v.size() - i)]);
    v.resize(std::min(v.size(), k));
    return v;
  }

  template <class T>
  void shuffle(std::vector<T>& v) {
    for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[uniform(i)]);
  }

 private:
  uint64_t state_;
};

// Mixes a seed with a stream key (e.g. a theory id) into an independent seed, so that each record's
// sampling does not depend on the order or the number of other records.
inline uint64_t data_seed_mix(uint64_t seed, uint64_t key) {
  DataRng r(seed * 0x9E3779B97F4A7C15ULL ^ (key + 0x632BE59BD9B4E019ULL));
  r.next();
  return r.next();
}
inline uint64_t data_seed_mix(uint64_t seed, const std::string& key) {
  uint64_t h = 1469598103934665603ULL ^ seed;  // FNV-1a over the key, then one SplitMix step
  for (unsigned char c : key) h = (h ^ c) * 1099511628211ULL;
  return DataRng(h).next();
}

}  // namespace reckoning
