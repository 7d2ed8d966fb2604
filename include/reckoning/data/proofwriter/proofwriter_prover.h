// The ProofWriter prover: forward chaining to a fixpoint, computing every implication of a
// theory, its depth (height of its shallowest proof: facts are depth 0, a rule application is one
// more than its deepest premise - for a chain, the number of rule applications) and its proofs,
// rendered in the release syntax "[(((triple1) -> rule3))]".
//
// Worlds (ProofWriter release README):
//  - CWA: no negative facts, no negative conclusions; a negated condition is negation as failure
//    over a stratified theory (non-stratifiable theories are rejected); what is not provable is
//    false.
//  - OWA: negative facts and conclusions allowed; a negated condition needs the negative literal
//    to be proved (hard negation, no NAF); a statement is true if provable, false if its negation
//    is, Unknown otherwise; a theory proving both L and not-L is rejected as contradictory.
// Variables range over the entities the theory names (domain closure).
//
// Not here: sampling theories or questions (proofwriter_generator.h), English.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "reckoning/data/proofwriter/proofwriter_logic.h"

namespace reckoning {

enum class World { closed, open };

const char* world_name(World world);  // "CWA" / "OWA"
// Accepts cwa/owa in any case; throws reckoning::Error naming `where` otherwise.
World world_parse(const std::string& text, const std::string& where);

// One way a literal was obtained: a fact, or a rule instance whose premises are other literals.
struct Derivation {
  int fact = -1;              // index into Theory::facts, or -1
  int rule = -1;              // index into Theory::rules, or -1
  std::vector<int> premises;  // per condition: literal id, or -1 for a negation-as-failure step
  int depth = 0;              // height of this derivation using the premises' shallowest proofs
};

// Everything the theory implies: the (unique) model.
struct Implications {
  World world = World::open;
  std::vector<Literal> literals;  // ground literals true in the model, by id
  std::vector<int> depth;         // height of each literal's shallowest proof
  // Alternatives per literal, shallowest first, circular ones (using the literal itself) dropped.
  std::vector<std::vector<Derivation>> derivations;
  std::unordered_map<std::string, int> index;
  int max_depth = 0;

  int find(const Literal& literal) const;  // id, or -1 if not in the model
};

// Key of a ground literal in Implications::index.
std::string literal_key(const Literal& literal);

// Computes every implication. Throws reckoning::Error for CWA theories with negative facts or
// conclusions or without a stratification, and for contradictory OWA theories.
Implications proofwriter_prove(const Theory& theory, World world);

// A question's label with its evidence, as in a release `questions` entry.
struct Verdict {
  std::string answer;   // "true", "false" or "unknown"
  bool proved = false;  // a proof (of the statement or, for false, of the opposite) exists
  int depth = 0;        // QDep: proof depth, or the failure depth of an unprovable statement
  int length = 0;       // QLen: number of leaves and rule applications in the shallowest proof
  std::string proof;    // "[(...)]", or "[@d: <text>[CWA. Example of deepest failure = (...)]]"
  // Statement ids of the shallowest proof ("triple2", "rule1"), leaves first; for unprovable
  // statements the rules of the failure chain.
  std::vector<std::string> statements;
};

// Labels `question` (ground). An unprovable question gets a failure record about
// `failure_statement` with English `failure_text`: the release records the statement the strategy
// sampled (for "The dog does not chase the dog." [inv-rconc] it walks back from "The dog chases
// the dog."); pass the question itself when there is no such statement.
Verdict proofwriter_answer(const Theory& theory, const Implications& implications,
                           const Literal& question, const Literal& failure_statement,
                           const std::string& failure_text);

// The release proof string of a literal in the model: all non-circular alternatives, "OR"-joined.
std::string proofwriter_proof_string(const Implications& implications, int id);

}  // namespace reckoning
