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

Vocabulary sample_vocabulary(Rng& rng, bool attribute_kind) {
  Vocabulary v;
  v.people = attribute_kind;
  if (attribute_kind) {
    v.entities = rng.sample(proofwriter_people(), rng.between(1, 4));
    v.attributes = rng.sample(proofwriter_attributes(), rng.between(3, 7));
  } else {
    v.entities = rng.sample(proofwriter_animals(), rng.between(2, 4));
    v.attributes = rng.sample(proofwriter_attributes(), rng.between(2, 4));
    v.relations = rng.sample(proofwriter_relations(), rng.between(1, 3));
  }
  return v;
}

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

Theory sample_theory(Rng& rng, const Vocabulary& v, const ProofwriterOptions& o) {
  Theory t;
  t.people = v.people;
  const bool negation = o.negation;
  const bool owa = o.world == World::open;
  int n_facts = rng.between(o.min_facts, o.max_facts);
  std::set<Literal> seen;
  for (int tries = 0; static_cast<int>(t.facts.size()) < n_facts && tries < 4 * n_facts; ++tries) {
    Literal f = sample_literal(rng, v, rng.pick(v.entities));
    f.negated = negation && owa && rng.chance(0.25);
    Literal pos = f;
    pos.negated = false;
    if (seen.count(pos)) continue;
    seen.insert(pos);
    t.facts.push_back(f);
  }
  // Conditions often reuse the predicate of a fact or of an earlier conclusion, as chains of
  // rule applications need; uniform sampling almost never reaches depth 3-5 (RuleTaker rejects
  // most random theories for the same reason).
  std::vector<Literal> pool(t.facts.begin(), t.facts.end());
  auto condition = [&](const std::string& subject) {
    if (!pool.empty() && rng.chance(0.7)) {
      // Half of the reuses extend the newest conclusion: that is what builds depth-D chains.
      Literal c = pool.size() > t.facts.size() && rng.chance(0.5) ? pool.back() : rng.pick(pool);
      c.subject = subject;
      if (!owa) c.negated = false;
      return c;
    }
    Literal c = sample_literal(rng, v, subject);
    c.negated = negation && rng.chance(0.3);
    return c;
  };
  // A depth-D implication needs D rule applications; fewer rules rarely give one.
  int n_rules = rng.between(std::min(o.max_rules, std::max(o.min_rules, o.depth)), o.max_rules);
  for (int tries = 0; static_cast<int>(t.rules.size()) < n_rules && tries < 4 * n_rules; ++tries) {
    Rule r;
    bool variable = rng.chance(0.8);
    int n_conditions = rng.chance(0.5) ? 1 : 2;
    for (int i = 0; i < n_conditions; ++i) {
      bool var_subject = variable && (i == 0 || rng.chance(0.85));
      Literal c = condition(var_subject ? kProofwriterVariable : rng.pick(v.entities));
      // The variable's first (binding) condition stays positive: CWA forbids a free variable in
      // a negated condition, and it keeps OWA rules range-restricted the same way.
      if (var_subject && i == 0) c.negated = false;
      if (!negation) c.negated = false;
      r.conditions.push_back(c);
    }
    r.conclusion = sample_literal(rng, v, variable ? kProofwriterVariable : rng.pick(v.entities));
    r.conclusion.negated = negation && owa && rng.chance(0.3);
    bool trivial = std::any_of(r.conditions.begin(), r.conditions.end(), [&](const Literal& c) {
      return c.subject == r.conclusion.subject && c.relation == r.conclusion.relation &&
             c.object == r.conclusion.object;
    });
    if (r.conditions.size() == 2 && r.conditions[0] == r.conditions[1]) trivial = true;
    if (trivial || std::find(t.rules.begin(), t.rules.end(), r) != t.rules.end()) continue;
    t.rules.push_back(r);
    pool.push_back(r.conclusion);
  }
  return t;
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
    Vocabulary v = sample_vocabulary(rng, people);
    p.theory = sample_theory(rng, v, o);
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
