// ProofWriter / RuleTaker theories as data: ground facts `(+/- attr X)` / `(+/- rel X Y)` and
// rules with 1-2 (possibly negated) conditions and one (possibly negated) conclusion over at most
// one variable ("something" for animals, "someone" for people) or constants, plus the release's
// vocabulary and its lisp-style `representation` strings.
//
// Not here: proving (proofwriter_prover.h), English (proofwriter_english.h), sampling
// (proofwriter_generator.h). Follows the ProofWriter release README (Tafjord et al. 2021) and
// /work/shared/reference/DATASETS.md section 1.
#pragma once

#include <string>
#include <vector>

namespace reckoning {

// The one variable of a rule, whatever the theory's surface form ("something"/"someone").
inline const std::string kProofwriterVariable = "something";

// subject relation object: ("cow" "is" "big"), ("cow" "chases" "dog"). `relation` is "is" for
// attributes; `object` is then the attribute. Subject (and, for relations, object) is an entity
// name ("bald eagle", "Bob") or kProofwriterVariable inside rules.
struct Literal {
  std::string subject;
  std::string relation;
  std::string object;
  bool negated = false;

  bool is_attribute() const { return relation == "is"; }
  bool has_variable() const;
  bool operator==(const Literal& o) const {
    return subject == o.subject && relation == o.relation && object == o.object &&
           negated == o.negated;
  }
  bool operator!=(const Literal& o) const { return !(*this == o); }
  bool operator<(const Literal& o) const;
};

struct Rule {
  std::vector<Literal> conditions;  // 1 or 2
  Literal conclusion;

  bool has_variable() const;
  bool operator==(const Rule& o) const {
    return conditions == o.conditions && conclusion == o.conclusion;
  }
};

struct Theory {
  std::vector<Literal> facts;  // ground
  std::vector<Rule> rules;
  bool people = false;  // entities are people (attribute theories): someone/they/people surface

  bool operator==(const Theory& o) const {
    return facts == o.facts && rules == o.rules && people == o.people;
  }
};

// Release vocabulary.
const std::vector<std::string>& proofwriter_people();      // Anne ... Harry
const std::vector<std::string>& proofwriter_animals();     // bald eagle ... tiger
const std::vector<std::string>& proofwriter_attributes();  // red ... furry
const std::vector<std::string>& proofwriter_relations();   // chases ... visits (3rd person)

// The literal with the sign flipped.
Literal literal_negate(const Literal& literal);
// Replaces the variable by `entity`.
Literal literal_bind(const Literal& literal, const std::string& entity);
// Every constant entity named by the theory, sorted (the domain variables range over).
std::vector<std::string> theory_entities(const Theory& theory);

// Release `representation` strings: ("cow" "is" "big" "+") for facts and questions; rule
// conditions use "~" for a negated condition, conclusions "-". The variable is written
// "someone" in people theories, "something" otherwise.
std::string literal_representation(const Literal& literal, bool people, bool condition = false);
std::string rule_representation(const Rule& rule, bool people);

// Checks the shape of a theory (1-2 conditions; facts ground; a conclusion's variable occurs in
// a condition); throws reckoning::Error naming `where` and the offending statement.
void theory_validate(const Theory& theory, const std::string& where);

}  // namespace reckoning
