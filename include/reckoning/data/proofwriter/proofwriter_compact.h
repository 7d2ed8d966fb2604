// The ProofWriter generator's compact theories: theories sampled and screened as small integers
// instead of strings.
//
// Theories are sampled and screened in a compact form (small integers instead of strings): deep
// theories are found by rejection (hundreds of samples per accepted theory at D = 5), and the
// string-based prover, which also builds every derivation, costs far more than a sample. The
// compact sampler makes exactly the random draws the string form would, so the accepted theories
// (and so the output) are those of plain rejection with the prover; only accepted theories are
// turned into strings and proved for real.
//
// Not here: turning accepted theories into problems and questions (proofwriter_generator.h).
#pragma once

#include <cstdint>
#include <vector>

#include "reckoning/base/data_rng.h"
#include "reckoning/data/proofwriter/proofwriter_generator.h"
#include "reckoning/data/proofwriter/proofwriter_logic.h"

namespace reckoning {

constexpr int8_t kVariable = -1;   // Lit::subject of a rule's variable
constexpr int8_t kAttribute = -1;  // Lit::relation of "is <attribute>"

// subject: index into the vocabulary's entities or kVariable; relation: kAttribute (object =
// attribute index) or a relation index (object = entity index).
struct Lit {
  int8_t subject = 0, relation = kAttribute, object = 0;
  bool negated = false;
  bool same_atom(const Lit& o) const {
    return subject == o.subject && relation == o.relation && object == o.object;
  }
  bool operator==(const Lit& o) const { return same_atom(o) && negated == o.negated; }
};

struct CompactRule {
  Lit conditions[2];
  int n_conditions = 0;
  Lit conclusion;
  bool operator==(const CompactRule& o) const {
    if (n_conditions != o.n_conditions || !(conclusion == o.conclusion)) return false;
    for (int i = 0; i < n_conditions; ++i)
      if (!(conditions[i] == o.conditions[i])) return false;
    return true;
  }
};

struct CompactTheory {
  std::vector<Lit> facts;
  std::vector<CompactRule> rules;
};

// Indices into the release vocabulary lists.
struct CompactVocabulary {
  bool people = false;
  std::vector<int> entities, attributes, relations;
};

// A vocabulary for one theory: 1-4 people and 3-7 attributes (attribute kind), else 2-4 animals,
// 2-4 attributes and 1-3 relations.
CompactVocabulary sample_vocabulary(DataRng& rng, bool attribute_kind);

// One candidate theory over `v` (facts, rules, a planted chain of o.depth rules).
CompactTheory sample_theory(DataRng& rng, const CompactVocabulary& v, const ProofwriterOptions& o);

// The deepest implication of a compact theory, or -1 where the prover would reject it (CWA
// negative statements or no stratification, OWA contradiction, an unbound conclusion variable).
// Same semantics as proofwriter_prove, computed directly; `limit`: stop early past this depth.
int compact_max_depth(const CompactTheory& t, const CompactVocabulary& v, World world, int limit);

// The theory in strings (names from the release vocabulary lists).
Theory compact_to_theory(const CompactTheory& t, const CompactVocabulary& v);

}  // namespace reckoning
