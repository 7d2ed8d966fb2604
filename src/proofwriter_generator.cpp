// The ProofWriter-style generator; see proofwriter_generator.h. Randomness is a splitmix64
// stream per theory (seeded by (seed, index)) with modulo draws, so the output is identical on
// every platform and standard library (std::uniform_int_distribution is not).
#include "reckoning/proofwriter_generator.h"

#include <algorithm>
#include <set>

#include "reckoning/error.h"
#include "reckoning/io.h"
#include "reckoning/proofwriter_english.h"

namespace reckoning {

TheoryKind theory_kind_parse(const std::string& text, const std::string& where) {
  if (text == "attribute") return TheoryKind::attribute;
  if (text == "relation") return TheoryKind::relation;
  if (text == "both") return TheoryKind::both;
  throw_error(where, "a theory kind 'attribute', 'relation' or 'both'", "'" + text + "'");
}

namespace {

struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  int below(int n) { return static_cast<int>(next() % static_cast<uint64_t>(n)); }
  int between(int lo, int hi) { return lo + below(hi - lo + 1); }
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }
  template <class T>
  const T& pick(const std::vector<T>& v) { return v[below(static_cast<int>(v.size()))]; }
  template <class T>
  std::vector<T> sample(std::vector<T> v, int k) {
    for (int i = 0; i < k && i < static_cast<int>(v.size()); ++i)
      std::swap(v[i], v[i + below(static_cast<int>(v.size()) - i)]);
    v.resize(std::min<size_t>(v.size(), static_cast<size_t>(k)));
    return v;
  }
};

uint64_t mix(uint64_t a, uint64_t b) {
  Rng r{a * 0x9e3779b97f4a7c15ULL ^ (b + 0x632be59bd9b4e019ULL)};
  r.next();
  return r.next();
}

struct Vocabulary {
  bool people;
  std::vector<std::string> entities, attributes, relations;
};

Literal sample_literal(Rng& rng, const Vocabulary& v, const std::string& subject) {
  Literal l;
  l.subject = subject;
  if (v.relations.empty() || rng.chance(0.5)) {
    l.relation = "is";
    l.object = rng.pick(v.attributes);
  } else {
    l.relation = rng.pick(v.relations);
    l.object = rng.pick(v.entities);
  }
  return l;
}

// Theories are sampled and screened in a compact form (small integers instead of strings): deep
// theories are found by rejection (hundreds of samples per accepted theory at D = 5), and the
// string-based prover, which also builds every derivation, costs far more than a sample. The
// compact sampler makes exactly the random draws the string form would, so the accepted theories
// (and so the output) are those of plain rejection with the prover; only accepted theories are
// turned into strings and proved for real.
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

std::vector<int> sample_indices(Rng& rng, int n, int k) {
  std::vector<int> all(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) all[static_cast<size_t>(i)] = i;
  return rng.sample(all, k);
}

CompactVocabulary sample_vocabulary(Rng& rng, bool attribute_kind) {
  CompactVocabulary v;
  v.people = attribute_kind;
  if (attribute_kind) {
    int n_entities = rng.between(1, 4);
    v.entities = sample_indices(rng, static_cast<int>(proofwriter_people().size()), n_entities);
    int n_attributes = rng.between(3, 7);
    v.attributes = sample_indices(rng, static_cast<int>(proofwriter_attributes().size()), n_attributes);
  } else {
    int n_entities = rng.between(2, 4);
    v.entities = sample_indices(rng, static_cast<int>(proofwriter_animals().size()), n_entities);
    int n_attributes = rng.between(2, 4);
    v.attributes = sample_indices(rng, static_cast<int>(proofwriter_attributes().size()), n_attributes);
    int n_relations = rng.between(1, 3);
    v.relations = sample_indices(rng, static_cast<int>(proofwriter_relations().size()), n_relations);
  }
  return v;
}

int8_t pick_index(Rng& rng, const std::vector<int>& v) {
  return static_cast<int8_t>(rng.below(static_cast<int>(v.size())));
}

Lit sample_lit(Rng& rng, const CompactVocabulary& v, int8_t subject) {
  Lit l;
  l.subject = subject;
  if (v.relations.empty() || rng.chance(0.5)) {
    l.relation = kAttribute;
    l.object = pick_index(rng, v.attributes);
  } else {
    l.relation = pick_index(rng, v.relations);
    l.object = pick_index(rng, v.entities);
  }
  return l;
}

CompactTheory sample_theory(Rng& rng, const CompactVocabulary& v, const ProofwriterOptions& o) {
  CompactTheory t;
  const bool negation = o.negation;
  const bool owa = o.world == World::open;
  int n_facts = rng.between(o.min_facts, o.max_facts);
  for (int tries = 0; static_cast<int>(t.facts.size()) < n_facts && tries < 4 * n_facts; ++tries) {
    int8_t subject = pick_index(rng, v.entities);
    Lit f = sample_lit(rng, v, subject);
    f.negated = negation && owa && rng.chance(0.25);
    bool seen = std::any_of(t.facts.begin(), t.facts.end(), [&](const Lit& g) { return g.same_atom(f); });
    if (seen) continue;
    t.facts.push_back(f);
  }
  // Conditions often reuse the predicate of a fact or of an earlier conclusion, as chains of
  // rule applications need; uniform sampling almost never reaches depth 3-5 (RuleTaker rejects
  // most random theories for the same reason).
  std::vector<Lit> pool(t.facts.begin(), t.facts.end());
  auto condition = [&](int8_t subject) {
    if (!pool.empty() && rng.chance(0.7)) {
      // Half of the reuses extend the newest conclusion: that is what builds depth-D chains.
      Lit c = pool.size() > t.facts.size() && rng.chance(0.5)
                  ? pool.back()
                  : pool[static_cast<size_t>(rng.below(static_cast<int>(pool.size())))];
      c.subject = subject;
      if (!owa) c.negated = false;
      return c;
    }
    Lit c = sample_lit(rng, v, subject);
    c.negated = negation && rng.chance(0.3);
    return c;
  };
  // A depth-D implication needs D rule applications; fewer rules rarely give one.
  int n_rules = rng.between(std::min(o.max_rules, std::max(o.min_rules, o.depth)), o.max_rules);
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
      r.n_conditions = link.negated || rng.chance(0.5) ? 2 : 1;
      if (link.negated) {
        r.conditions[0] = have_anchor ? anchor : condition(kVariable);
        r.conditions[0].negated = false;
        r.conditions[1] = link;
      } else {
        r.conditions[0] = link;
        if (r.n_conditions == 2) {
          bool var_subject = rng.chance(0.85);
          Lit c = condition(var_subject ? kVariable : pick_index(rng, v.entities));
          if (!negation) c.negated = false;
          r.conditions[1] = c;
        }
      }
      r.conclusion = sample_lit(rng, v, kVariable);
      // Negative links pass the screen more often than in unplanted theories; a lower rate keeps
      // the share of negated statements near plain rejection's (0.3 per rule at D = 5).
      r.conclusion.negated = negation && owa && rng.chance(0.1);
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
    bool variable = rng.chance(0.8);
    r.n_conditions = rng.chance(0.5) ? 1 : 2;
    for (int i = 0; i < r.n_conditions; ++i) {
      bool var_subject = variable && (i == 0 || rng.chance(0.85));
      Lit c = condition(var_subject ? kVariable : pick_index(rng, v.entities));
      // The variable's first (binding) condition stays positive: CWA forbids a free variable in
      // a negated condition, and it keeps OWA rules range-restricted the same way.
      if (var_subject && i == 0) c.negated = false;
      if (!negation) c.negated = false;
      r.conditions[i] = c;
    }
    int8_t subject = variable ? kVariable : pick_index(rng, v.entities);
    r.conclusion = sample_lit(rng, v, subject);
    r.conclusion.negated = negation && owa && rng.chance(0.3);
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

std::string kind_prefix(bool people, bool negation) {
  return std::string(people ? "Att" : "Rel") + (negation ? "Neg" : "Noneg");
}

void add_question(ProofwriterProblem& p, const Implications& im, const Literal& statement,
                  const std::string& strategy, const Literal& sampled) {
  ProofwriterQuestion q;
  q.qid = "Q" + std::to_string(p.questions.size() + 1);
  q.statement = statement;
  q.text = english_render_literal(statement, p.theory.people);
  q.strategy = strategy;
  q.verdict = proofwriter_answer(p.theory, im, statement, sampled,
                                 english_render_literal(sampled, p.theory.people));
  p.questions.push_back(std::move(q));
}

std::string build_all_proofs(const ProofwriterProblem& p, const Implications& im) {
  std::string out;
  for (int d = 0; d <= im.max_depth; ++d) {
    bool header = false;
    for (size_t id = 0; id < im.literals.size(); ++id) {
      if (im.depth[id] != d) continue;
      if (!header) out += (out.empty() ? "@" : " @") + std::to_string(d) + ":";
      header = true;
      out += " " + english_render_literal(im.literals[id], p.theory.people) +
             proofwriter_proof_string(im, static_cast<int>(id));
    }
  }
  return out;
}

}  // namespace

ProofwriterProblem proofwriter_generate_one(const ProofwriterOptions& o, int64_t index) {
  check(o.depth >= 0, "proofwriter options: depth", "a depth >= 0", str(o.depth));
  check(o.min_facts >= 1 && o.min_facts <= o.max_facts, "proofwriter options: facts",
        "1 <= min_facts <= max_facts", str(o.min_facts, "..", o.max_facts));
  check(o.min_rules >= 0 && o.min_rules <= o.max_rules, "proofwriter options: rules",
        "0 <= min_rules <= max_rules", str(o.min_rules, "..", o.max_rules));
  Rng rng{mix(o.seed, static_cast<uint64_t>(index))};
  bool people = o.kind == TheoryKind::attribute || (o.kind == TheoryKind::both && rng.chance(0.5));
  ProofwriterProblem p;
  p.world = o.world;
  p.max_depth = o.depth;
  p.id = kind_prefix(people, o.negation) + "-" + world_name(o.world) + "-D" +
         std::to_string(o.depth) + "-" + std::to_string(index + 1);
  Implications im;
  bool found = false;
  for (int attempt = 0; attempt < o.max_attempts && !found; ++attempt) {
    CompactVocabulary v = sample_vocabulary(rng, people);
    CompactTheory t = sample_theory(rng, v, o);
    if (compact_max_depth(t, v, o.world, o.depth) != o.depth) continue;
    p.theory = compact_to_theory(t, v);
    try {
      im = proofwriter_prove(p.theory, o.world);
    } catch (const Error&) {
      continue;  // non-stratifiable (CWA) or contradictory (OWA): resample
    }
    found = im.max_depth == o.depth;
  }
  check(found, "proofwriter generator: theory " + p.id,
        str("a theory of depth ", o.depth, " within ", o.max_attempts, " attempts"),
        "none (raise max_rules or lower depth)");

  std::vector<int> variants;
  for (const Rule& r : p.theory.rules) {
    variants.push_back(rng.below(2));
    p.rule_texts.push_back(english_render_rule(r, p.theory.people, variants.back()));
  }
  for (const Literal& f : p.theory.facts) p.fact_texts.push_back(english_render_literal(f, p.theory.people));

  // proof / inv-proof: one provable statement per depth (positive ones only under CWA).
  std::vector<std::vector<int>> by_depth(o.depth + 1);
  for (size_t id = 0; id < im.literals.size(); ++id)
    if (o.world == World::open || !im.literals[id].negated) by_depth[im.depth[id]].push_back(static_cast<int>(id));
  for (int d = 0; d <= o.depth && static_cast<int>(p.questions.size()) + 2 <= o.questions; ++d) {
    if (by_depth[d].empty()) continue;
    const Literal& s = im.literals[rng.pick(by_depth[d])];
    add_question(p, im, s, "proof", s);
    add_question(p, im, literal_negate(s), "inv-proof", s);
  }
  // rconc / random: statements not provable either way.
  auto unproven = [&](const Literal& l) {
    Literal pos = l;
    pos.negated = false;
    return im.find(pos) < 0 && im.find(literal_negate(pos)) < 0;
  };
  std::vector<std::string> entities = theory_entities(p.theory);
  std::vector<Literal> rconc;
  std::set<Literal> rconc_set;
  for (const Rule& r : p.theory.rules) {
    std::vector<std::string> binds = r.conclusion.has_variable() ? entities : std::vector<std::string>{""};
    for (const std::string& e : binds) {
      Literal c = literal_bind(r.conclusion, e);
      Literal pos = c;
      pos.negated = false;
      if (unproven(c) && !rconc_set.count(pos)) {
        rconc.push_back(c);
        rconc_set.insert(pos);
      }
    }
  }
  std::vector<std::string> attributes, relations;
  {
    std::set<std::string> a, r;
    auto add = [&](const Literal& l) { (l.is_attribute() ? a : r).insert(l.is_attribute() ? l.object : l.relation); };
    for (const Literal& f : p.theory.facts) add(f);
    for (const Rule& rule : p.theory.rules) {
      for (const Literal& c : rule.conditions) add(c);
      add(rule.conclusion);
    }
    attributes.assign(a.begin(), a.end());
    relations.assign(r.begin(), r.end());
  }
  std::vector<Literal> random;
  std::set<Literal> random_set;
  for (int tries = 0; tries < 64 && random.size() < static_cast<size_t>(o.questions); ++tries) {
    Vocabulary v{p.theory.people, entities, attributes, relations};
    if (v.attributes.empty()) v.attributes = {rng.pick(proofwriter_attributes())};
    Literal l = sample_literal(rng, v, rng.pick(entities));
    if (!unproven(l) || rconc_set.count(l) || random_set.count(l)) continue;
    random.push_back(l);
    random_set.insert(l);
  }
  rconc = rng.sample(rconc, static_cast<int>(rconc.size()));
  size_t next_rconc = 0, next_random = 0;
  for (bool turn_rconc = true; static_cast<int>(p.questions.size()) + 2 <= o.questions; turn_rconc = !turn_rconc) {
    bool have_rconc = next_rconc < rconc.size(), have_random = next_random < random.size();
    if (!have_rconc && !have_random) break;
    bool use_rconc = have_rconc && (turn_rconc || !have_random);
    const Literal& s = use_rconc ? rconc[next_rconc++] : random[next_random++];
    add_question(p, im, s, use_rconc ? "rconc" : "random", s);
    add_question(p, im, literal_negate(s), use_rconc ? "inv-rconc" : "inv-random", s);
  }
  p.all_proofs = build_all_proofs(p, im);
  return p;
}

std::vector<ProofwriterProblem> proofwriter_generate(const ProofwriterOptions& options) {
  check(options.theories >= 0, "proofwriter options: theories", "a count >= 0", str(options.theories));
  std::vector<ProofwriterProblem> out;
  out.reserve(options.theories);
  for (int i = 0; i < options.theories; ++i) out.push_back(proofwriter_generate_one(options, i));
  return out;
}

nlohmann::json proofwriter_to_meta(const ProofwriterProblem& p) {
  using nlohmann::json;
  json triples = json::object(), rules = json::object(), questions = json::object();
  std::string theory;
  for (size_t i = 0; i < p.theory.facts.size(); ++i) {
    triples["triple" + std::to_string(i + 1)] = {
        {"text", p.fact_texts[i]},
        {"representation", literal_representation(p.theory.facts[i], p.theory.people)}};
    theory += (theory.empty() ? "" : " ") + p.fact_texts[i];
  }
  for (size_t i = 0; i < p.theory.rules.size(); ++i) {
    rules["rule" + std::to_string(i + 1)] = {
        {"text", p.rule_texts[i]},
        {"representation", rule_representation(p.theory.rules[i], p.theory.people)}};
    theory += (theory.empty() ? "" : " ") + p.rule_texts[i];
  }
  for (const ProofwriterQuestion& q : p.questions) {
    const Verdict& v = q.verdict;
    json answer = v.answer == "true" ? json(true) : v.answer == "false" ? json(false) : json("Unknown");
    questions[q.qid] = {{"question", q.text},
                        {"answer", answer},
                        {"QDep", v.depth},
                        {"QLen", v.proved ? json(v.length) : json("")},
                        {"strategy", q.strategy},
                        {"proofs", v.proof},
                        {"representation", literal_representation(q.statement, p.theory.people)}};
  }
  return {{"id", p.id},
          {"maxD", p.max_depth},
          {"NFact", p.theory.facts.size()},
          {"NRule", p.theory.rules.size()},
          {"theory", theory},
          {"triples", triples},
          {"rules", rules},
          {"questions", questions},
          {"allProofs", p.all_proofs}};
}

std::vector<Task> proofwriter_to_tasks(const ProofwriterProblem& p, int distractors, uint64_t seed) {
  auto text_of = [&](const std::string& statement_id) -> const std::string& {
    if (statement_id.rfind("triple", 0) == 0) return p.fact_texts.at(std::stoul(statement_id.substr(6)) - 1);
    return p.rule_texts.at(std::stoul(statement_id.substr(4)) - 1);
  };
  std::vector<Task> out;
  for (const ProofwriterQuestion& q : p.questions) {
    Task t;
    t.guid = p.id + "-" + q.qid;
    std::set<std::string> used;
    for (const std::string& s : q.verdict.statements) {
      t.facts.push_back(text_of(s));
      used.insert(s);
    }
    std::vector<std::string> others;
    for (size_t i = 0; i < p.fact_texts.size(); ++i)
      if (!used.count("triple" + std::to_string(i + 1))) others.push_back(p.fact_texts[i]);
    for (size_t i = 0; i < p.rule_texts.size(); ++i)
      if (!used.count("rule" + std::to_string(i + 1))) others.push_back(p.rule_texts[i]);
    if (distractors >= 0 && static_cast<size_t>(distractors) < others.size()) {
      // std::hash differs across standard libraries; fold the guid by hand (FNV-1a) instead.
      uint64_t h = 1469598103934665603ULL;
      for (char c : t.guid) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
      Rng rng{mix(seed, h)};
      others = rng.sample(others, distractors);
    }
    t.distractors = others;
    t.question = q.text;
    t.answer = q.verdict.answer;
    t.hops = q.verdict.depth;
    t.source = {{"dataset", "proofwriter"}, {"id", p.id},          {"qid", q.qid},
                {"strategy", q.strategy},   {"world", world_name(p.world)}, {"depth", p.max_depth}};
    out.push_back(std::move(t));
  }
  return out;
}

void proofwriter_save(const std::string& path, const std::vector<ProofwriterProblem>& problems,
                      const std::string& format, int distractors, uint64_t seed) {
  if (format == "meta") {
    std::string out;
    for (const ProofwriterProblem& p : problems) out += proofwriter_to_meta(p).dump() + "\n";
    write_file_atomic(path, out);
    return;
  }
  check(format == "canonical", "proofwriter output format", "'canonical' or 'meta'", "'" + format + "'");
  std::vector<Task> tasks;
  for (const ProofwriterProblem& p : problems) {
    std::vector<Task> t = proofwriter_to_tasks(p, distractors, seed);
    tasks.insert(tasks.end(), std::make_move_iterator(t.begin()), std::make_move_iterator(t.end()));
  }
  tasks_save(path, tasks);
}

}  // namespace reckoning
