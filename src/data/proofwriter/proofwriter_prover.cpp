// The ProofWriter prover; see proofwriter_prover.h. Model: semi-naive forward chaining by
// rounds over ground rule instances indexed by condition, stratum by stratum under CWA. Depths:
// relaxation over the satisfied instances until no depth decreases (heights are a max-plus
// shortest path, so this converges in at most max_depth + 1 passes).
#include "reckoning/data/proofwriter/proofwriter_prover.h"

#include <algorithm>
#include <climits>
#include <functional>
#include <map>

#include "reckoning/base/error.h"

namespace reckoning {

const char* world_name(World world) { return world == World::closed ? "CWA" : "OWA"; }

World world_parse(const std::string& text, const std::string& where) {
  std::string lower;
  for (char c : text) lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (lower == "cwa") return World::closed;
  if (lower == "owa") return World::open;
  throw_error(where, "a world 'owa' or 'cwa'", "'" + text + "'");
}

std::string literal_key(const Literal& l) {
  std::string key;
  key.reserve(l.subject.size() + l.relation.size() + l.object.size() + 4);
  key += l.subject;
  key += '|';
  key += l.relation;
  key += '|';
  key += l.object;
  key += l.negated ? '-' : '+';
  return key;
}

int Implications::find(const Literal& literal) const {
  auto it = index.find(literal_key(literal));
  return it == index.end() ? -1 : it->second;
}

namespace {

struct Instance {
  int rule;
  std::vector<Literal> conditions;
  Literal conclusion;
};

std::vector<Instance> ground_instances(const Theory& theory) {
  std::vector<std::string> entities = theory_entities(theory);
  std::vector<Instance> out;
  for (size_t r = 0; r < theory.rules.size(); ++r) {
    const Rule& rule = theory.rules[r];
    if (!rule.has_variable()) {
      out.push_back({static_cast<int>(r), rule.conditions, rule.conclusion});
      continue;
    }
    for (const std::string& e : entities) {
      Instance inst{static_cast<int>(r), {}, literal_bind(rule.conclusion, e)};
      for (const Literal& c : rule.conditions) inst.conditions.push_back(literal_bind(c, e));
      out.push_back(std::move(inst));
    }
  }
  return out;
}

std::string predicate_of(const Literal& l) {
  return l.is_attribute() ? "is " + l.object : l.relation;
}

// Stratum per rule (CWA): the stratum of its conclusion's predicate.
std::vector<int> stratify(const Theory& theory) {
  std::map<std::string, int> stratum;
  for (const Rule& r : theory.rules) {
    stratum[predicate_of(r.conclusion)] = 0;
    for (const Literal& c : r.conditions) stratum[predicate_of(c)] = 0;
  }
  const int limit = static_cast<int>(stratum.size());
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t i = 0; i < theory.rules.size(); ++i) {
      const Rule& r = theory.rules[i];
      int& head = stratum[predicate_of(r.conclusion)];
      for (const Literal& c : r.conditions) {
        int need = stratum[predicate_of(c)] + (c.negated ? 1 : 0);
        if (need > head) {
          head = need;
          changed = true;
          check(head <= limit, str("theory: rule ", i + 1),
                "a stratifiable theory (no recursion through a negated condition)",
                "a cycle through negation at predicate '" + predicate_of(r.conclusion) + "'");
        }
      }
    }
  }
  std::vector<int> out;
  for (const Rule& r : theory.rules) out.push_back(stratum[predicate_of(r.conclusion)]);
  return out;
}

struct Builder {
  Implications& im;
  int add(const Literal& l) {
    auto [it, inserted] = im.index.emplace(literal_key(l), static_cast<int>(im.literals.size()));
    if (inserted) {
      im.literals.push_back(l);
      im.depth.push_back(INT_MAX);
      im.derivations.emplace_back();
    }
    return it->second;
  }
};

}  // namespace

Implications proofwriter_prove(const Theory& theory, World world) {
  theory_validate(theory, "theory");
  Implications im;
  im.world = world;
  Builder b{im};
  if (world == World::closed) {
    for (size_t i = 0; i < theory.facts.size(); ++i)
      check(!theory.facts[i].negated, str("theory: fact ", i + 1),
            "no negative facts under CWA", literal_representation(theory.facts[i], theory.people));
    for (size_t i = 0; i < theory.rules.size(); ++i)
      check(!theory.rules[i].conclusion.negated, str("theory: rule ", i + 1),
            "no negative conclusions under CWA",
            rule_representation(theory.rules[i], theory.people));
  }
  for (size_t i = 0; i < theory.facts.size(); ++i) {
    int id = b.add(theory.facts[i]);
    im.depth[id] = 0;
    Derivation d;
    d.fact = static_cast<int>(i);
    im.derivations[id].push_back(d);
  }

  std::vector<Instance> instances = ground_instances(theory);
  std::vector<int> rule_stratum = world == World::closed ? stratify(theory)
                                                         : std::vector<int>(theory.rules.size(), 0);
  int n_strata = 1 + (rule_stratum.empty() ? 0
                                           : *std::max_element(rule_stratum.begin(), rule_stratum.end()));
  // Which instances a literal (by key) may trigger, as a positive or hard-negated condition.
  std::unordered_map<std::string, std::vector<int>> triggers;
  for (size_t i = 0; i < instances.size(); ++i)
    for (const Literal& c : instances[i].conditions)
      if (world == World::open || !c.negated) triggers[literal_key(c)].push_back(static_cast<int>(i));

  auto satisfied = [&](const Literal& c) {
    if (world == World::closed && c.negated) return im.find(literal_negate(c)) < 0;  // NAF
    return im.find(c) >= 0;
  };
  auto fires = [&](const Instance& inst) {
    for (const Literal& c : inst.conditions)
      if (!satisfied(c)) return false;
    return true;
  };

  for (int s = 0; s < n_strata; ++s) {
    // Round 0 of each stratum: every instance once (NAF-only and lower-strata premises); then
    // only instances triggered by literals new in the previous round.
    std::vector<int> agenda;
    for (size_t i = 0; i < instances.size(); ++i)
      if (rule_stratum[instances[i].rule] == s) agenda.push_back(static_cast<int>(i));
    while (!agenda.empty()) {
      std::vector<Literal> fresh;
      for (int i : agenda) {
        const Instance& inst = instances[i];
        if (rule_stratum[inst.rule] != s || im.find(inst.conclusion) >= 0 || !fires(inst)) continue;
        fresh.push_back(inst.conclusion);
      }
      agenda.clear();
      for (const Literal& l : fresh) {
        if (im.find(l) >= 0) continue;
        b.add(l);
        auto it = triggers.find(literal_key(l));
        if (it != triggers.end()) agenda.insert(agenda.end(), it->second.begin(), it->second.end());
      }
      std::sort(agenda.begin(), agenda.end());
      agenda.erase(std::unique(agenda.begin(), agenda.end()), agenda.end());
    }
  }

  if (world == World::open) {
    for (const Literal& l : im.literals) {
      if (!l.negated) continue;
      check(im.find(literal_negate(l)) < 0, "theory", "a consistent theory (OWA)",
            "both " + literal_representation(literal_negate(l), theory.people) + " and " +
                literal_representation(l, theory.people));
    }
  }

  // Depths and derivations over the satisfied instances.
  std::vector<std::pair<int, std::vector<int>>> edges;  // (instance, premise ids), conclusion ids
  std::vector<int> heads;
  for (size_t i = 0; i < instances.size(); ++i) {
    const Instance& inst = instances[i];
    if (!fires(inst)) continue;
    std::vector<int> premises;
    for (const Literal& c : inst.conditions)
      premises.push_back(world == World::closed && c.negated ? -1 : im.find(c));
    edges.emplace_back(static_cast<int>(i), std::move(premises));
    heads.push_back(im.find(inst.conclusion));
  }
  auto edge_depth = [&](const std::vector<int>& premises) {
    int d = 0;
    for (int p : premises)
      if (p >= 0) d = std::max(d, im.depth[p] == INT_MAX ? INT_MAX - 1 : im.depth[p]);
    return d + 1;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t e = 0; e < edges.size(); ++e) {
      int d = edge_depth(edges[e].second);
      if (d < im.depth[heads[e]]) {
        im.depth[heads[e]] = d;
        changed = true;
      }
    }
  }
  // A derivation is circular if its premises' shallowest proofs use its own conclusion.
  std::function<bool(int, int)> uses = [&](int id, int target) -> bool {
    if (id == target) return true;
    const Derivation& d = im.derivations[id].front();
    for (int p : d.premises)
      if (p >= 0 && uses(p, target)) return true;
    return false;
  };
  // Shallowest derivation first: add edges in order of depth so every premise already has one.
  std::vector<size_t> order(edges.size());
  for (size_t e = 0; e < order.size(); ++e) order[e] = e;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t c) {
    return edge_depth(edges[a].second) < edge_depth(edges[c].second);
  });
  for (size_t e : order) {
    Derivation d;
    d.rule = instances[edges[e].first].rule;
    d.premises = edges[e].second;
    d.depth = edge_depth(d.premises);
    int head = heads[e];
    if (!im.derivations[head].empty()) {
      bool circular = false;
      for (int p : d.premises)
        if (p >= 0 && uses(p, head)) circular = true;
      if (circular) continue;
    }
    im.derivations[head].push_back(std::move(d));
  }
  for (int d : im.depth) im.max_depth = std::max(im.max_depth, d);
  return im;
}

namespace {

void render_derivation(const Implications& im, const Derivation& d, std::string& out);

void render_node(const Implications& im, int id, std::string& out) {
  render_derivation(im, im.derivations[id].front(), out);
}

void render_derivation(const Implications& im, const Derivation& d, std::string& out) {
  if (d.fact >= 0) {
    out += "triple" + std::to_string(d.fact + 1);
    return;
  }
  out += "((";
  for (size_t i = 0; i < d.premises.size(); ++i) {
    if (i) out += ' ';
    if (d.premises[i] < 0)
      out += "NAF";
    else
      render_node(im, d.premises[i], out);
  }
  out += ") -> rule" + std::to_string(d.rule + 1) + ")";
}

void collect_statements(const Implications& im, int id, std::vector<std::string>& out, int& length) {
  const Derivation& d = im.derivations[id].front();
  auto push = [&](std::string s) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(std::move(s));
  };
  if (d.fact >= 0) {
    ++length;
    push("triple" + std::to_string(d.fact + 1));
    return;
  }
  for (int p : d.premises) {
    if (p < 0)
      ++length;
    else
      collect_statements(im, p, out, length);
  }
  ++length;
  push("rule" + std::to_string(d.rule + 1));
}

// The release's "deepest failure" walk-back: the longest chain of rules whose conclusion could
// give the statement, each followed into one of its unsatisfied conditions. Memoised, with
// literals on the current path treated as dead ends (so cycles terminate).
struct FailureSearch {
  const Theory& theory;
  const Implications& im;
  std::vector<std::string> entities;
  std::unordered_map<std::string, std::vector<int>> memo;
  std::unordered_map<std::string, bool> on_path;

  bool holds(const Literal& c) const {
    if (im.world == World::closed && c.negated) return im.find(literal_negate(c)) < 0;
    return im.find(c) >= 0;
  }

  std::vector<int> chain(const Literal& goal) {
    std::string key = literal_key(goal);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
    if (on_path[key]) return {};
    on_path[key] = true;
    std::vector<int> best;
    bool found = false;
    for (size_t r = 0; r < theory.rules.size(); ++r) {
      const Rule& rule = theory.rules[r];
      std::vector<std::string> bindings;
      if (rule.conclusion.has_variable()) {
        Literal c = rule.conclusion;
        if (c.subject == kProofwriterVariable) bindings.push_back(goal.subject);
        else bindings.push_back(goal.object);
      } else if (rule.has_variable()) {
        bindings = entities;
      } else {
        bindings.push_back("");
      }
      for (const std::string& e : bindings) {
        if (literal_bind(rule.conclusion, e) != goal) continue;
        std::vector<int> candidate{static_cast<int>(r)};
        for (const Literal& raw : rule.conditions) {
          Literal c = literal_bind(raw, e);
          if (holds(c)) continue;
          if (im.world == World::closed && c.negated) continue;  // its positive is provable
          std::vector<int> sub = chain(c);
          if (1 + sub.size() > candidate.size()) {
            candidate = {static_cast<int>(r)};
            candidate.insert(candidate.end(), sub.begin(), sub.end());
          }
        }
        if (!found || candidate.size() > best.size()) best = candidate;
        found = true;
      }
    }
    on_path[key] = false;
    memo[key] = best;
    return best;
  }
};

}  // namespace

std::string proofwriter_proof_string(const Implications& im, int id) {
  std::string out = "[(";
  for (size_t a = 0; a < im.derivations[id].size(); ++a) {
    if (a) out += " OR ";
    render_derivation(im, im.derivations[id][a], out);
  }
  return out + ")]";
}

Verdict proofwriter_answer(const Theory& theory, const Implications& im, const Literal& question,
                           const Literal& failure_statement, const std::string& failure_text) {
  check(!question.has_variable(), "question", "a ground statement",
        literal_representation(question, theory.people));
  Verdict v;
  int yes = -1, no = -1;
  if (im.world == World::open) {
    yes = im.find(question);
    no = im.find(literal_negate(question));
  } else {
    Literal positive = question;
    positive.negated = false;
    int p = im.find(positive);
    (question.negated ? no : yes) = p;
  }
  int id = yes >= 0 ? yes : no;
  if (id >= 0) {
    v.answer = yes >= 0 ? "true" : "false";
    v.proved = true;
    v.depth = im.depth[id];
    v.proof = proofwriter_proof_string(im, id);
    collect_statements(im, id, v.statements, v.length);
    return v;
  }
  v.answer = im.world == World::open ? "unknown" : question.negated ? "true" : "false";
  // The failure record names the sampled (un-inverted) statement; under CWA its positive form.
  Literal goal = failure_statement;
  if (im.world == World::closed) goal.negated = false;
  FailureSearch search{theory, im, theory_entities(theory), {}, {}};
  std::vector<int> chain = search.chain(goal);
  v.depth = static_cast<int>(chain.size());
  std::string walk;
  for (int r : chain) {
    walk += "rule" + std::to_string(r + 1) + " <- ";
    std::string id_text = "rule" + std::to_string(r + 1);
    if (std::find(v.statements.begin(), v.statements.end(), id_text) == v.statements.end())
      v.statements.push_back(id_text);
  }
  v.proof = "[@" + std::to_string(v.depth) + ": " + failure_text +
            "[CWA. Example of deepest failure = (" + walk + "FAIL)]]";
  return v;
}

}  // namespace reckoning
