// Reader for ProofWriter `meta-*.jsonl` files (Tafjord et al. 2021; OWA and CWA), with RECKONING's
// preprocessing into canonical records (task.h). One theory per line; each question becomes a task.
//
// Preprocessing (docs/DATA.md has the full list):
// - Relevant facts = texts of the triple/rule ids of the question's proof, in order of first
//   appearance in the proof string. With several proofs ("... OR ..."), the shallowest one (fewest
//   nested rule applications; first on ties) is used. NAF steps name no statement.
// - Unprovable questions (a failure record "[@d: text[CWA|OWA. Example of deepest failure =
//   (rule3 <- FAIL)]]"): relevant facts = the facts about the question's subject, then the
//   statements the failure record names (the deepest failed attempt). Both kinds are dropped if
//   they use fewer than `min_statements` statements.
// - Distractors = the theory's other statements (triples then rules, in id order), `distractors`
//   of them sampled without replacement (seeded per theory), or all (distractors < 0).
// - Balance (optional): per theory, every label is resampled to the rarest label's count (true
//   and false only when a theory has no unknown, e.g. CWA) - the authors' preprocessing.
// - Polarity balance (optional, over the whole file): per hop count, every (label, question
//   polarity) cell is resampled to the rarest cell's count, so that neither the word "not" nor
//   the label's frequency predicts it (proofwriter_balance_polarity).
// - answer true|false|unknown, hops = QDep, guid = "<id>-<question id>".
// Not here: the generator, prover and English parser (proofwriter_generator, prover).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reckoning/data/task.h"

namespace reckoning {

// One proof alternative: statement ids in order of first appearance, and its depth.
struct ProofAlternative {
  std::vector<std::string> ids;  // "triple1", "rule3"
  int64_t depth = 0;             // nested rule applications (0 for a fact)
};
struct ParsedProof {
  bool failure = false;                       // a "[@d: ... FAIL ...]" record
  std::vector<ProofAlternative> alternatives;  // a failure record has one: the ids it names
};
// Parses a `proofs` string; `where` names the question for errors.
ParsedProof proofwriter_parse_proof(const std::string& proofs, const std::string& where);
// The alternative used: shallowest, first on ties.
const ProofAlternative& proofwriter_best_proof(const ParsedProof& proof);

struct ProofWriterOptions {
  int64_t min_statements = 2;  // drop questions whose relevant facts are fewer
  int64_t distractors = -1;    // < 0: all other statements of the theory
  bool balance = false;        // per theory, every label resampled to the rarest one's count
  bool balance_polarity = false;  // per hop over the file, label x polarity cells to the rarest
  uint64_t seed = 0;
  bool skip_invalid = false;
};

// Converts one theory record; `where` is "file:line".
std::vector<Task> proofwriter_theory_to_tasks(const nlohmann::json& theory, const std::string& where,
                                              const ProofWriterOptions& options);
// Per hop count, each (label, question polarity) cell (question_negated, data_stats.h) resampled
// without replacement (seeded) to the rarest cell's count; a hop where some label of the file is
// not asked in both polarities is left out whole (generated OWA data: hop 0 and the hops above D,
// which hold only unknowns), so every label is equally frequent overall too and the majority
// answer is chance. Tasks keep their order.
std::vector<Task> proofwriter_balance_polarity(std::vector<Task> tasks, uint64_t seed);
std::vector<Task> proofwriter_read(const std::string& path, const ProofWriterOptions& options = {},
                                   TaskReadReport* report = nullptr);

}  // namespace reckoning
