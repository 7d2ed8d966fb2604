// Compact ProofWriter theories: sampling, the direct depth computation and the conversion to
// strings; see proofwriter_compact.h.
#include "reckoning/data/proofwriter/proofwriter_compact.h"

#include <algorithm>
#include <set>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

std::vector<int> sample_indices(DataRng& rng, int n, int k) {
  std::vector<int> all(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  return rng.sample(all, k);
}

int8_t pick_index(DataRng& rng, const std::vector<int>& v) {
  return static_cast<int8_t>(rng.below(static_cast<int>(v.size())));
}

Lit sample_lit(DataRng& rng, const CompactVocabulary& v, int8_t subject) {
  Lit l;
  l.subject = subject;
  if (v.relations.empty() || rng.bernoulli(0.5)) {
    l.relation = kAttribute;
    l.object = pick_index(rng, v.attributes);
  } else {
    l.relation = pick_index(rng, v.relations);
    l.object = pick_index(rng, v.entities);
  }
  return l;
}

}  // namespace

CompactVocabulary sample_vocabulary(DataRng& rng, bool attribute_kind) {
  CompactVocabulary v;
  v.people = attribute_kind;
  if (attribute_kind) {
    int n_entities = rng.range(1, 4);
    v.entities = sample_indices(rng, static_cast<int>(proofwriter_people().size()), n_entities);
    int n_attributes = rng.range(3, 7);
    v.attributes = sample_indices(rng, static_cast<int>(proofwriter_attributes().size()), n_attributes);
  } else {
    int n_entities = rng.range(2, 4);
    v.entities = sample_indices(rng, static_cast<int>(proofwriter_animals().size()), n_entities);
    int n_attributes = rng.range(2, 4);
    v.attributes = sample_indices(rng, static_cast<int>(proofwriter_attributes().size()), n_attributes);
    int n_relations = rng.range(1, 3);
    v.relations = sample_indices(rng, static_cast<int>(proofwriter_relations().size()), n_relations);
  }
  return v;
}



CompactTheory sample_theory(DataRng& rng, const CompactVocabulary& v, const ProofwriterOptions& o) {
  CompactTheory t;
  const bool negation = o.negation;
  const bool owa = o.world == World::open;
  int n_facts = rng.range(o.min_facts, o.max_facts);
  for (int tries = 0; static_cast<int>(t.facts.size()) < n_facts && tries < 4 * n_facts; ++tries) {
    int8_t subject = pick_index(rng, v.entities);
    Lit f = sample_lit(rng, v, subject);
    f.negated = negation && owa && rng.bernoulli(0.25);
    bool seen = std::any_of(t.facts.begin(), t.facts.end(), [&](const Lit& g) { return g.same_atom(f); });
    if (seen) continue;
    t.facts.push_back(f);
  }
  // Conditions often reuse the predicate of a fact or of an earlier conclusion, as chains of
  // rule applications need; uniform sampling almost never reaches depth 3-5 (RuleTaker rejects
  // most random theories for the same reason).
  std::vector<Lit> pool(t.facts.begin(), t.facts.end());
  auto condition = [&](int8_t subject) {
    if (!pool.empty() && rng.bernoulli(0.7)) {
      // Half of the reuses extend the newest conclusion: that is what builds depth-D chains.
      Lit c = pool.size() > t.facts.size() && rng.bernoulli(0.5)
                  ? pool.back()
                  : pool[static_cast<size_t>(rng.below(static_cast<int>(pool.size())))];
      c.subject = subject;
      if (!owa) c.negated = false;
      return c;
    }
    Lit c = sample_lit(rng, v, subject);
    c.negated = negation && rng.bernoulli(0.3);
    return c;
  };
  // A depth-D implication needs D rule applications; fewer rules rarely give one.
  int n_rules = rng.range(std::min(o.max_rules, std::max(o.min_rules, o.depth)), o.max_rules);
  auto admissible = [&](const CompactRule& r) {
    for (int i = 0; i < r.n_conditions; ++i)
      if (r.conditions[i].same_atom(r.conclusion)) return false;
    if (r.n_conditions == 2 && r.conditions[0] == r.conditions[1]) return false;
    return std::find(t.rules.begin(), t.rules.end(), r) == t.rules.end();
  };
  const bool plant = o.depth >= o.plant_min_depth && o.depth > 0;
  if (plant) {
    // The chain: each link (a fact's predicate, then each chain rule's conclusion) is a
    // condition, over the variable, of the next chain rule. Everything else is drawn as for any
    // rule. A negative link (negative fact or conclusion, OWA) cannot be the binding first
    // condition, which stays positive, so it becomes the second one, after a positive `anchor`
    // that holds for the chain's entity when the chain got this far (a positive fact about it,
    // or the previous chain rule's first condition); a random condition would rarely hold.
    const Lit start = t.facts[static_cast<size_t>(rng.below(static_cast<int>(t.facts.size())))];
    Lit link = start, anchor;
    link.subject = kVariable;
    bool have_anchor = false;
    for (const Lit& f : t.facts)
      if (!have_anchor && !f.negated && f.subject == start.subject) {
        anchor = f;
        anchor.subject = kVariable;
        have_anchor = true;
      }
    for (int k = 0, tries = 0; k < o.depth && k < n_rules && tries < 4 * o.depth; ++tries) {
      CompactRule r;
      r.n_conditions = link.negated || rng.bernoulli(0.5) ? 2 : 1;
      if (link.negated) {
        r.conditions[0] = have_anchor ? anchor : condition(kVariable);
        r.conditions[0].negated = false;
        r.conditions[1] = link;
      } else {
        r.conditions[0] = link;
        if (r.n_conditions == 2) {
          bool var_subject = rng.bernoulli(0.85);
          Lit c = condition(var_subject ? kVariable : pick_index(rng, v.entities));
          if (!negation) c.negated = false;
          r.conditions[1] = c;
        }
      }
      r.conclusion = sample_lit(rng, v, kVariable);
      // Negative links pass the screen more often than in unplanted theories; a lower rate keeps
      // the share of negated statements near plain rejection's (0.3 per rule at D = 5).
      r.conclusion.negated = negation && owa && rng.bernoulli(0.1);
      if (!admissible(r)) continue;
      t.rules.push_back(r);
      pool.push_back(r.conclusion);
      anchor = r.conditions[0];
      have_anchor = true;
      link = r.conclusion;
      ++k;
    }
  }
  for (int tries = 0; static_cast<int>(t.rules.size()) < n_rules && tries < 4 * n_rules; ++tries) {
    CompactRule r;
    bool variable = rng.bernoulli(0.8);
    r.n_conditions = rng.bernoulli(0.5) ? 1 : 2;
    for (int i = 0; i < r.n_conditions; ++i) {
      bool var_subject = variable && (i == 0 || rng.bernoulli(0.85));
      Lit c = condition(var_subject ? kVariable : pick_index(rng, v.entities));
      // The variable's first (binding) condition stays positive: CWA forbids a free variable in
      // a negated condition, and it keeps OWA rules range-restricted the same way.
      if (var_subject && i == 0) c.negated = false;
      if (!negation) c.negated = false;
      r.conditions[i] = c;
    }
    int8_t subject = variable ? kVariable : pick_index(rng, v.entities);
    r.conclusion = sample_lit(rng, v, subject);
    r.conclusion.negated = negation && owa && rng.bernoulli(0.3);
    if (!admissible(r)) continue;
    t.rules.push_back(r);
    pool.push_back(r.conclusion);
  }
  // Planted rules would otherwise always be rule1..ruleD.
  if (plant) t.rules = rng.sample(t.rules, static_cast<int>(t.rules.size()));
  return t;
}

// The deepest implication of a compact theory, or -1 where the prover would reject it (CWA
// negative statements or no stratification, OWA contradiction, an unbound conclusion variable).
// Same semantics as proofwriter_prove, computed directly: the model stratum by stratum by naive
// iteration, then depths as the stage at which each literal appears in the naive iteration of
// the program reduced by the model (an instance whose negation-as-failure conditions hold, those
// conditions dropped) - the height of its shallowest proof. `limit`: stop early past this depth.
int compact_max_depth(const CompactTheory& t, const CompactVocabulary& v, World world, int limit) {
  const bool cwa = world == World::closed;
  const int n_entities = static_cast<int>(v.entities.size());
  const int n_attributes = static_cast<int>(v.attributes.size());
  const int n_predicates = n_attributes + static_cast<int>(v.relations.size()) * n_entities;
  // Literal code: ((subject * n_predicates + predicate) * 2 + negated).
  auto code = [&](const Lit& l, int subject) {
    int predicate = l.relation == kAttribute ? l.object : n_attributes + l.relation * n_entities + l.object;
    return (subject * n_predicates + predicate) * 2 + (l.negated ? 1 : 0);
  };
  // The domain: entities the theory names.
  std::vector<int> domain;
  auto name = [&](int e) {
    if (e >= 0 && std::find(domain.begin(), domain.end(), e) == domain.end()) domain.push_back(e);
  };
  auto name_lit = [&](const Lit& l) {
    name(l.subject);
    if (l.relation != kAttribute) name(l.object);
  };
  for (const Lit& f : t.facts) {
    if (cwa && f.negated) return -1;
    name_lit(f);
  }
  // Strata per predicate family ("is <attribute>" or a relation), as the prover's stratify().
  const int n_families = n_attributes + static_cast<int>(v.relations.size());
  auto family = [&](const Lit& l) { return l.relation == kAttribute ? l.object : n_attributes + l.relation; };
  std::vector<int> stratum(static_cast<size_t>(n_families), 0);
  std::vector<char> in_rules(static_cast<size_t>(n_families), 0);
  for (const CompactRule& r : t.rules) {
    if (cwa && r.conclusion.negated) return -1;
    name_lit(r.conclusion);
    in_rules[static_cast<size_t>(family(r.conclusion))] = 1;
    bool bound = false;
    for (int i = 0; i < r.n_conditions; ++i) {
      name_lit(r.conditions[i]);
      in_rules[static_cast<size_t>(family(r.conditions[i]))] = 1;
      bound = bound || r.conditions[i].subject == kVariable;
    }
    if (r.conclusion.subject == kVariable && !bound) return -1;
  }
  if (cwa) {
    const int limit_strata = static_cast<int>(std::count(in_rules.begin(), in_rules.end(), 1));
    for (bool changed = true; changed;) {
      changed = false;
      for (const CompactRule& r : t.rules) {
        int& head = stratum[static_cast<size_t>(family(r.conclusion))];
        for (int i = 0; i < r.n_conditions; ++i) {
          const Lit& c = r.conditions[i];
          int need = stratum[static_cast<size_t>(family(c))] + (c.negated ? 1 : 0);
          if (need > head) {
            head = need;
            changed = true;
            if (head > limit_strata) return -1;
          }
        }
      }
    }
  }
  // Ground instances: conditions as literal codes; under CWA a negated condition is NAF on the
  // code of its positive literal.
  struct Instance {
    int conditions[2];
    bool naf[2];
    int n_conditions;
    int conclusion;
    int stratum;
  };
  std::vector<Instance> instances;
  for (const CompactRule& r : t.rules) {
    bool variable = r.conclusion.subject == kVariable;
    for (int i = 0; i < r.n_conditions; ++i) variable = variable || r.conditions[i].subject == kVariable;
    auto ground = [&](int entity) {
      auto subject = [&](const Lit& l) { return l.subject == kVariable ? entity : l.subject; };
      Instance inst{};
      inst.n_conditions = r.n_conditions;
      for (int i = 0; i < r.n_conditions; ++i) {
        Lit c = r.conditions[i];
        inst.naf[i] = cwa && c.negated;
        if (inst.naf[i]) c.negated = false;
        inst.conditions[i] = code(c, subject(c));
      }
      inst.conclusion = code(r.conclusion, subject(r.conclusion));
      inst.stratum = stratum[static_cast<size_t>(family(r.conclusion))];
      instances.push_back(inst);
    };
    if (!variable) {
      ground(-1);
    } else {
      for (int e : domain) ground(e);
    }
  }
  // The model.
  std::vector<char> model(static_cast<size_t>(n_entities * n_predicates * 2), 0);
  for (const Lit& f : t.facts) model[static_cast<size_t>(code(f, f.subject))] = 1;
  auto holds = [&](const Instance& inst, int i) {
    return inst.naf[i] ? !model[static_cast<size_t>(inst.conditions[i])]
                       : model[static_cast<size_t>(inst.conditions[i])] != 0;
  };
  int n_strata = 1;
  for (const Instance& inst : instances) n_strata = std::max(n_strata, inst.stratum + 1);
  for (int s = 0; s < n_strata; ++s) {
    for (bool changed = true; changed;) {
      changed = false;
      for (const Instance& inst : instances) {
        if (inst.stratum != s || model[static_cast<size_t>(inst.conclusion)]) continue;
        bool fires = true;
        for (int i = 0; i < inst.n_conditions; ++i) fires = fires && holds(inst, i);
        if (fires) {
          model[static_cast<size_t>(inst.conclusion)] = 1;
          changed = true;
        }
      }
    }
  }
  if (!cwa)
    for (size_t a = 0; a < model.size(); a += 2)
      if (model[a] && model[a + 1]) return -1;
  // Depths: stage of first appearance in the naive iteration of the reduct.
  std::vector<int> stage(model.size(), -1);
  for (const Lit& f : t.facts) stage[static_cast<size_t>(code(f, f.subject))] = 0;
  int max_depth = 0;
  for (int k = 0;; ++k) {
    bool grew = false;
    for (const Instance& inst : instances) {
      if (stage[static_cast<size_t>(inst.conclusion)] >= 0) continue;
      bool fires = true;
      for (int i = 0; i < inst.n_conditions && fires; ++i) {
        int c = inst.conditions[i];
        fires = inst.naf[i] ? !model[static_cast<size_t>(c)]
                            : stage[static_cast<size_t>(c)] >= 0 && stage[static_cast<size_t>(c)] <= k;
      }
      if (fires) {
        stage[static_cast<size_t>(inst.conclusion)] = k + 1;
        grew = true;
      }
    }
    if (!grew) break;
    max_depth = k + 1;
    if (max_depth > limit) break;
  }
  return max_depth;
}

Theory compact_to_theory(const CompactTheory& t, const CompactVocabulary& v) {
  const std::vector<std::string>& names = v.people ? proofwriter_people() : proofwriter_animals();
  auto entity = [&](int8_t e) -> std::string {
    return e == kVariable ? kProofwriterVariable : names[static_cast<size_t>(v.entities[static_cast<size_t>(e)])];
  };
  auto literal = [&](const Lit& l) {
    Literal out;
    out.subject = entity(l.subject);
    if (l.relation == kAttribute) {
      out.relation = "is";
      out.object = proofwriter_attributes()[static_cast<size_t>(v.attributes[static_cast<size_t>(l.object)])];
    } else {
      out.relation = proofwriter_relations()[static_cast<size_t>(v.relations[static_cast<size_t>(l.relation)])];
      out.object = entity(l.object);
    }
    out.negated = l.negated;
    return out;
  };
  Theory theory;
  theory.people = v.people;
  for (const Lit& f : t.facts) theory.facts.push_back(literal(f));
  for (const CompactRule& r : t.rules) {
    Rule rule;
    for (int i = 0; i < r.n_conditions; ++i) rule.conditions.push_back(literal(r.conditions[i]));
    rule.conclusion = literal(r.conclusion);
    theory.rules.push_back(rule);
  }
  return theory;
}

}  // namespace reckoning
