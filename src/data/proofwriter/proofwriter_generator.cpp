// The ProofWriter-style generator; see proofwriter_generator.h. Randomness is the data layer's
// SplitMix64 stream (base/data_rng.h), one per theory (seeded by (seed, index)), so the output is
// identical on every platform and standard library. Theories are sampled and screened for depth in
// a compact form (proofwriter_compact.h).
#include "reckoning/data/proofwriter/proofwriter_generator.h"

#include <algorithm>
#include <set>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/data_rng.h"
#include "reckoning/data/proofwriter/proofwriter_compact.h"
#include "reckoning/data/proofwriter/proofwriter_english.h"

namespace reckoning {

TheoryKind theory_kind_parse(const std::string& text, const std::string& where) {
  if (text == "attribute") return TheoryKind::attribute;
  if (text == "relation") return TheoryKind::relation;
  if (text == "both") return TheoryKind::both;
  throw_error(where, "a theory kind 'attribute', 'relation' or 'both'", "'" + text + "'");
}

namespace {

struct Vocabulary {
  bool people;
  std::vector<std::string> entities, attributes, relations;
};

Literal sample_literal(DataRng& rng, const Vocabulary& v, const std::string& subject) {
  Literal l;
  l.subject = subject;
  if (v.relations.empty() || rng.bernoulli(0.5)) {
    l.relation = "is";
    l.object = rng.pick(v.attributes);
  } else {
    l.relation = rng.pick(v.relations);
    l.object = rng.pick(v.entities);
  }
  return l;
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
  DataRng rng(data_seed_mix(o.seed, static_cast<uint64_t>(index)));
  bool people = o.kind == TheoryKind::attribute || (o.kind == TheoryKind::both && rng.bernoulli(0.5));
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

  // proof / inv-proof: per depth, one provable positive statement and, when the theory proves
  // one (OWA only), one provable negative statement, each asked as itself (true) and negated
  // (false). Asking only one statement per depth would ask almost only positive ones (~88 % of
  // proved statements are), so a question's "not" would give its label away; with both, a
  // converter can balance label x polarity (ProofWriterOptions::balance_polarity, docs/PROOFWRITER.md).
  std::vector<std::vector<int>> positive(o.depth + 1), negative(o.depth + 1);
  for (size_t id = 0; id < im.literals.size(); ++id) {
    if (o.world == World::closed && im.literals[id].negated) continue;
    (im.literals[id].negated ? negative : positive)[im.depth[id]].push_back(static_cast<int>(id));
  }
  for (int d = 0; d <= o.depth; ++d) {
    for (const std::vector<int>* pool : {&positive[d], &negative[d]}) {
      if (pool->empty() || static_cast<int>(p.questions.size()) + 2 > o.questions) continue;
      const Literal& s = im.literals[rng.pick(*pool)];
      add_question(p, im, s, "proof", s);
      add_question(p, im, literal_negate(s), "inv-proof", s);
    }
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
      DataRng rng(data_seed_mix(seed, h));
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
