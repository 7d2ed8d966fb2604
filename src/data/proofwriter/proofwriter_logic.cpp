// ProofWriter theories as data; see proofwriter_logic.h.
#include "reckoning/data/proofwriter/proofwriter_logic.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "reckoning/base/error.h"

namespace reckoning {

bool Literal::has_variable() const {
  return subject == kProofwriterVariable || (!is_attribute() && object == kProofwriterVariable);
}

bool Literal::operator<(const Literal& o) const {
  return std::tie(subject, relation, object, negated) <
         std::tie(o.subject, o.relation, o.object, o.negated);
}

bool Rule::has_variable() const {
  if (conclusion.has_variable()) return true;
  for (const Literal& c : conditions)
    if (c.has_variable()) return true;
  return false;
}

const std::vector<std::string>& proofwriter_people() {
  static const std::vector<std::string> v{"Anne", "Bob",  "Charlie", "Dave",
                                          "Erin", "Fiona", "Gary",   "Harry"};
  return v;
}
const std::vector<std::string>& proofwriter_animals() {
  static const std::vector<std::string> v{"bald eagle", "bear",   "cat",    "cow",      "dog",
                                          "lion",       "mouse",  "rabbit", "squirrel", "tiger"};
  return v;
}
const std::vector<std::string>& proofwriter_attributes() {
  static const std::vector<std::string> v{"red",   "blue",  "green", "kind",  "nice",
                                          "big",   "cold",  "young", "round", "rough",
                                          "white", "smart", "quiet", "furry"};
  return v;
}
const std::vector<std::string>& proofwriter_relations() {
  static const std::vector<std::string> v{"chases", "eats", "likes", "needs", "sees", "visits"};
  return v;
}

Literal literal_negate(const Literal& literal) {
  Literal out = literal;
  out.negated = !out.negated;
  return out;
}

Literal literal_bind(const Literal& literal, const std::string& entity) {
  Literal out = literal;
  if (out.subject == kProofwriterVariable) out.subject = entity;
  if (!out.is_attribute() && out.object == kProofwriterVariable) out.object = entity;
  return out;
}

std::vector<std::string> theory_entities(const Theory& theory) {
  std::set<std::string> names;
  auto add = [&](const Literal& l) {
    if (l.subject != kProofwriterVariable) names.insert(l.subject);
    if (!l.is_attribute() && l.object != kProofwriterVariable) names.insert(l.object);
  };
  for (const Literal& f : theory.facts) add(f);
  for (const Rule& r : theory.rules) {
    for (const Literal& c : r.conditions) add(c);
    add(r.conclusion);
  }
  return {names.begin(), names.end()};
}

namespace {

std::string quoted_term(const std::string& term, bool people) {
  if (term == kProofwriterVariable) return people ? "\"someone\"" : "\"something\"";
  return "\"" + term + "\"";
}

}  // namespace

std::string literal_representation(const Literal& l, bool people, bool condition) {
  const char* sign = !l.negated ? "+" : condition ? "~" : "-";
  return "(" + quoted_term(l.subject, people) + " \"" + l.relation + "\" " +
         (l.is_attribute() ? "\"" + l.object + "\"" : quoted_term(l.object, people)) + " \"" +
         sign + "\")";
}

std::string rule_representation(const Rule& rule, bool people) {
  std::string out = "((";
  for (size_t i = 0; i < rule.conditions.size(); ++i)
    out += (i ? " " : "") + literal_representation(rule.conditions[i], people, true);
  return out + ") -> " + literal_representation(rule.conclusion, people) + ")";
}

void theory_validate(const Theory& theory, const std::string& where) {
  for (size_t i = 0; i < theory.facts.size(); ++i)
    check(!theory.facts[i].has_variable(), str(where, ": fact ", i + 1), "a ground fact",
          literal_representation(theory.facts[i], theory.people));
  for (size_t i = 0; i < theory.rules.size(); ++i) {
    const Rule& r = theory.rules[i];
    std::string rule_where = str(where, ": rule ", i + 1);
    check(r.conditions.size() == 1 || r.conditions.size() == 2, rule_where, "1 or 2 conditions",
          str(r.conditions.size()));
    bool bound = std::any_of(r.conditions.begin(), r.conditions.end(),
                             [](const Literal& c) { return c.has_variable(); });
    check(!r.conclusion.has_variable() || bound, rule_where,
          "the conclusion's variable to occur in a condition",
          rule_representation(r, theory.people));
  }
}

}  // namespace reckoning
