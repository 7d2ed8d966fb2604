// Kinship relations and the composition rule base; see kinship.h.
#include "reckoning/data/clutrr/kinship.h"

#include <array>

namespace reckoning {

namespace {

struct KinInfo {
  const char* name;
  const char* male;
  const char* female;
};

constexpr std::array<KinInfo, kKinCount> kInfo{{
    {"child", "son", "daughter"},
    {"inv-child", "father", "mother"},
    {"SO", "husband", "wife"},
    {"sibling", "brother", "sister"},
    {"grand", "grandson", "granddaughter"},
    {"inv-grand", "grandfather", "grandmother"},
    {"in-law", "son-in-law", "daughter-in-law"},
    {"inv-in-law", "father-in-law", "mother-in-law"},
    {"sibling-in-law", "brother-in-law", "sister-in-law"},
    {"un", "nephew", "niece"},
    {"inv-un", "uncle", "aunt"},
}};

using K = Kin;

std::vector<KinRule> make_rules() {
  return {
      // CLUTRR rules_store.yaml, compositional/family.
      {K::child, K::child, K::grand, true},
      {K::child, K::so, K::in_law, true},
      {K::child, K::sibling, K::child, true},
      {K::child, K::inv_un, K::sibling, true},      // not universal: may be a sibling-in-law
      {K::child, K::inv_grand, K::inv_child, true}, // not universal: may be a parent-in-law
      {K::inv_child, K::child, K::sibling, true},
      {K::inv_child, K::inv_child, K::inv_grand, true},
      {K::inv_child, K::sibling, K::inv_un, true},
      {K::so, K::inv_child, K::inv_in_law, true},
      {K::so, K::grand, K::grand, true},
      {K::so, K::child, K::child, true},
      {K::sibling, K::sibling, K::sibling, true},
      {K::sibling, K::inv_grand, K::inv_grand, true},
      {K::sibling, K::child, K::un, true},
      {K::sibling, K::inv_child, K::inv_child, true},
      {K::grand, K::sibling, K::grand, true},
      // Completions, each true in every simulated family (distinct persons, couples for parents).
      {K::child, K::inv_child, K::so},             // my child's other parent is my spouse
      {K::child, K::un, K::grand},                 // my child's nephew is my grandchild
      {K::inv_child, K::so, K::inv_child},         // my father's wife is my mother
      {K::so, K::sibling, K::sibling_in_law},
      {K::sibling, K::so, K::sibling_in_law},
      {K::so, K::inv_in_law, K::inv_child},        // my spouse's parent-in-law is my parent
      {K::so, K::in_law, K::in_law},
      {K::in_law, K::so, K::child},                // my son-in-law's wife is my daughter
      {K::inv_in_law, K::so, K::inv_in_law},
      {K::inv_grand, K::so, K::inv_grand},
      {K::un, K::sibling, K::un},
  };
}

struct Table {
  std::array<std::array<int8_t, kKinCount>, kKinCount> compose;
  explicit Table(bool clutrr_only) {
    for (auto& row : compose) row.fill(-1);
    for (const KinRule& r : kin_rules()) {
      if (clutrr_only && !r.from_clutrr) continue;
      compose[static_cast<int>(r.r1)][static_cast<int>(r.r2)] = static_cast<int8_t>(r.r3);
    }
  }
};

const Table& table(bool clutrr_only) {
  static const Table full(false), clutrr(true);
  return clutrr_only ? clutrr : full;
}

}  // namespace

const std::vector<KinRule>& kin_rules() {
  static const std::vector<KinRule> rules = make_rules();
  return rules;
}

const char* kin_name(Kin kin) { return kInfo[static_cast<int>(kin)].name; }

std::optional<Kin> kin_from_name(const std::string& name) {
  for (int i = 0; i < kKinCount; ++i) {
    if (name == kInfo[i].name) return static_cast<Kin>(i);
  }
  return std::nullopt;
}


std::optional<Gender> gender_from_name(const std::string& name) {
  if (name == "male") return Gender::male;
  if (name == "female") return Gender::female;
  return std::nullopt;
}

const char* kin_word(Kin kin, Gender gender) {
  const KinInfo& info = kInfo[static_cast<int>(kin)];
  return gender == Gender::male ? info.male : info.female;
}

std::optional<KinWord> kin_word_parse(const std::string& word) {
  for (int i = 0; i < kKinCount; ++i) {
    if (word == kInfo[i].male) return KinWord{static_cast<Kin>(i), Gender::male};
    if (word == kInfo[i].female) return KinWord{static_cast<Kin>(i), Gender::female};
  }
  return std::nullopt;
}

const std::vector<std::string>& kin_words() {
  static const std::vector<std::string> words{
      "son", "daughter", "brother", "sister", "father", "mother", "husband", "wife",
      "grandfather", "grandmother", "grandson", "granddaughter", "uncle", "aunt", "son-in-law",
      "daughter-in-law", "father-in-law", "mother-in-law", "brother-in-law", "sister-in-law",
      "nephew", "niece"};
  return words;
}

Kin kin_inverse(Kin kin) {
  switch (kin) {
    case Kin::child: return Kin::inv_child;
    case Kin::inv_child: return Kin::child;
    case Kin::grand: return Kin::inv_grand;
    case Kin::inv_grand: return Kin::grand;
    case Kin::in_law: return Kin::inv_in_law;
    case Kin::inv_in_law: return Kin::in_law;
    case Kin::un: return Kin::inv_un;
    case Kin::inv_un: return Kin::un;
    case Kin::so:
    case Kin::sibling:
    case Kin::sibling_in_law: return kin;
  }
  return kin;
}

std::optional<Kin> kin_compose(Kin r1, Kin r2, bool clutrr_only) {
  int8_t r = table(clutrr_only).compose[static_cast<int>(r1)][static_cast<int>(r2)];
  if (r < 0) return std::nullopt;
  return static_cast<Kin>(r);
}

uint32_t kin_compose_chain(const std::vector<Kin>& chain, bool clutrr_only) {
  const size_t k = chain.size();
  if (k == 0) return 0;
  const Table& t = table(clutrr_only);
  // span[i][j]: relations derivable between A_i and A_j (i < j), bit sets.
  std::vector<uint32_t> span(k * (k + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return span[i * (k + 1) + j]; };
  for (size_t i = 0; i < k; ++i) at(i, i + 1) = 1u << static_cast<int>(chain[i]);
  for (size_t len = 2; len <= k; ++len) {
    for (size_t i = 0; i + len <= k; ++i) {
      const size_t j = i + len;
      uint32_t out = 0;
      for (size_t m = i + 1; m < j; ++m) {
        const uint32_t left = at(i, m), right = at(m, j);
        if (left == 0 || right == 0) continue;
        for (int a = 0; a < kKinCount; ++a) {
          if (!(left >> a & 1)) continue;
          for (int b = 0; b < kKinCount; ++b) {
            if (!(right >> b & 1)) continue;
            int8_t r = t.compose[a][b];
            if (r >= 0) out |= 1u << r;
          }
        }
      }
      at(i, j) = out;
    }
  }
  return at(0, k);
}

std::optional<Kin> kin_chain_relation(const std::vector<Kin>& chain, bool clutrr_only) {
  uint32_t set = kin_compose_chain(chain, clutrr_only);
  if (set == 0 || (set & (set - 1)) != 0) return std::nullopt;
  int r = 0;
  while (!(set >> r & 1)) ++r;
  return static_cast<Kin>(r);
}

}  // namespace reckoning
