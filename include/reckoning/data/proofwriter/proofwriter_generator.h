// A ProofWriter-style generator: random RuleTaker theories (attribute theories over people,
// relation theories over animals, with or without negation, CWA or OWA), labelled by the prover,
// with ~18 questions per theory drawn by the release's strategies:
//   proof      a provable statement at depth d (per depth 0..D one positive and, when the
//              theory proves one, one negative statement)              inv-proof   its negation
//   rconc      a ground rule conclusion that is not provable            inv-rconc   its negation
//   random     a random statement over the theory's entities and words, neither provable nor a
//              rule conclusion                                         inv-random  its negation
// ("not provable" under OWA means neither it nor its negation is provable.)
// Output: the release meta-jsonl record and canonical Task records (task.h).
//
// Not here: reading the real release (the data readers), the staged/abduction variants.
// Follows Clark et al. 2020 (RuleTaker) and Tafjord et al. 2021 (ProofWriter), DATASETS.md 1.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/data/proofwriter/proofwriter_logic.h"
#include "reckoning/data/proofwriter/proofwriter_prover.h"
#include "reckoning/data/task.h"

namespace reckoning {

enum class TheoryKind { attribute, relation, both };
// attribute|relation|both; throws reckoning::Error naming `where` otherwise.
TheoryKind theory_kind_parse(const std::string& text, const std::string& where);

struct ProofwriterOptions {
  int depth = 2;  // D: every theory's deepest implication has depth exactly D; questions 0..D
  int theories = 10;
  World world = World::open;
  TheoryKind kind = TheoryKind::both;
  bool negation = true;
  uint64_t seed = 0;
  int min_facts = 1, max_facts = 16;
  int min_rules = 1, max_rules = 8;
  int questions = 18;          // per theory, at most
  int max_attempts = 100000;   // theories sampled per accepted theory before giving up
  // From this depth on, each sampled theory contains a planted chain of D rules from a fact
  // (then random facts and rules as usual, the order of the rules shuffled); theories are still
  // kept only if their deepest implication has depth exactly D. Plain rejection needs ~440
  // samples per theory at D = 5 (OWA); planting, a handful. Below it: plain rejection sampling.
  int plant_min_depth = 4;
};

struct ProofwriterQuestion {
  std::string qid;  // "Q1"
  Literal statement;
  std::string text;
  std::string strategy;
  Verdict verdict;
};

struct ProofwriterProblem {
  std::string id;  // "AttNeg-OWA-D2-17"
  World world = World::open;
  int max_depth = 0;  // maxD
  Theory theory;
  std::vector<std::string> fact_texts;  // triple1..
  std::vector<std::string> rule_texts;  // rule1..
  std::vector<ProofwriterQuestion> questions;
  std::string all_proofs;  // release "allProofs"
};

// Theory `index` depends only on (options, index): generation is deterministic and can be split.
ProofwriterProblem proofwriter_generate_one(const ProofwriterOptions& options, int64_t index);
std::vector<ProofwriterProblem> proofwriter_generate(const ProofwriterOptions& options);

// The release meta record (id, maxD, NFact, NRule, theory, triples, rules, questions, allProofs).
nlohmann::json proofwriter_to_meta(const ProofwriterProblem& problem);
// One Task per question: facts = the statements of its proof (or of its failure chain),
// distractors = the theory's other statements, `distractors` of them sampled (-1: all).
std::vector<Task> proofwriter_to_tasks(const ProofwriterProblem& problem, int distractors,
                                       uint64_t seed);

// Writes problems as JSON lines: format "meta" (one release record per theory) or "canonical"
// (one Task per question, distractors as in proofwriter_to_tasks, seeded by `seed`).
void proofwriter_save(const std::string& path, const std::vector<ProofwriterProblem>& problems,
                      const std::string& format, int distractors, uint64_t seed);

}  // namespace reckoning
