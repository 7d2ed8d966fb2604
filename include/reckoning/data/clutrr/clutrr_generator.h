// CLUTRR-style kinship puzzle generator (after Sinha et al. 2019 and its CLUTRR-SG variant).
//
// 1. Simulate a family tree: a root couple; each couple has min..max children of random gender;
//    children marry (with probability p_marry) a new person from outside the family (no parents
//    or siblings in the tree) and have children, for `generations` generations; names are drawn
//    without replacement from a name list per gender.
// 2. Pick a target pair (A, r, B) whose genealogical relation r is one of the 11 kinship types
//    (kinship.h), and expand it backwards: replace an edge (X, r, Y) by (X, r1, C), (C, r2, Y) for
//    a person C not yet on the chain with r1.r2 = r in the rule base and r1, r2 the true relations
//    in the tree, until the chain has `hops` edges (CLUTRR's backward chaining). A chain is kept
//    only if every bracketing of it composes to exactly r (kin_chain_relation), so the answer is
//    the composition of the chain under the rule base and also the true genealogical relation.
// 3. Noise (distractors): supporting (two edges forming another path between consecutive chain
//    persons), irrelevant (an edge from a chain person to someone off the chain), disconnected
//    (an edge between two people off the chain).
// 4. Render as sentences with names (four templates) or as RECKONING letter triples "Z C son".
// Deterministic per seed: problem i of hop count k uses its own stream seeded from
// (seed, split, k, i), so the output does not depend on the order or number of other problems.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "reckoning/data/clutrr/clutrr_sg.h"
#include "reckoning/base/data_rng.h"
#include "reckoning/data/clutrr/kinship.h"
#include "reckoning/data/task.h"

namespace reckoning {

struct FamilyPerson {
  std::string name;
  Gender gender = Gender::male;
  int32_t father = -1, mother = -1;  // -1: not in the tree (root couple, married-in spouses)
  int32_t spouse = -1;
  int32_t generation = 0;
};
struct Family {
  std::vector<FamilyPerson> people;
};
struct FamilyOptions {
  int32_t generations = 3;
  int32_t min_children = 1, max_children = 3;
  double p_marry = 0.8;
};
Family family_simulate(DataRng& rng, const FamilyOptions& options);
// The relation of b to a ("b is a's r") from the genealogy, or nullopt if none of the 11 types.
std::optional<Kin> family_relation(const Family& family, int32_t a, int32_t b);

enum class ClutrrNoise { none, supporting, irrelevant, disconnected };
const char* clutrr_noise_name(ClutrrNoise noise);
ClutrrNoise clutrr_noise_parse(const std::string& name);  // throws on unknown names

struct KinEdge {
  int32_t from = 0, to = 0;  // "to is from's kin"
  Kin kin = Kin::child;
};
// One backward-expansion step: (from, r, to) was replaced via `mid`; read bottom-up it is a proof
// step "(from, r1, mid), (mid, r2, to) => (from, r, to)".
struct KinProofStep {
  int32_t from = 0, mid = 0, to = 0;
};

struct ClutrrProblem {
  Family family;
  std::vector<int32_t> chain;       // persons A = chain[0], ..., B = chain.back()
  std::vector<KinEdge> edges;       // chain edges, edges[i] = (chain[i], chain[i+1])
  std::vector<KinEdge> noise;       // distractor edges
  std::vector<KinProofStep> proof;  // in expansion order (the last one is the first proof step)
  Kin target = Kin::child;          // relation of B to A
};

struct ClutrrGeneratorOptions {
  int64_t hops = 2;
  ClutrrNoise noise = ClutrrNoise::none;
  int64_t noise_count = 1;  // noise units (a supporting unit is two edges)
  bool letters = false;     // render as "Z C son" triples instead of named sentences
  bool shuffle_facts = true;
  FamilyOptions family;     // generations <= 0: 3 for hops <= 4, else 4
  int64_t max_attempts = 1000;
};

// One problem; throws reckoning::Error if no chain is found in max_attempts families.
ClutrrProblem clutrr_problem_generate(DataRng& rng, const ClutrrGeneratorOptions& options);
// The canonical record of a problem. Answer = kin_word(target, gender of B).
Task clutrr_problem_render(const ClutrrProblem& problem, const ClutrrGeneratorOptions& options,
                           DataRng& rng, const std::string& guid);
// The problem in CLUTRR-SG line format with ent_<n> entities (numbers 1..20, random).
ClutrrSgExample clutrr_problem_to_sg(const ClutrrProblem& problem, DataRng& rng,
                                     const std::string& where);

struct ClutrrGenerateRequest {
  std::vector<int64_t> hops{2};
  int64_t per_hop = 100;
  uint64_t seed = 0;
  std::string split = "train";  // part of every problem's stream key and guid
  ClutrrGeneratorOptions options;  // options.hops is set per hop count
  bool sg_format = false;          // also fill `sg_lines`
};
struct ClutrrGenerated {
  std::vector<Task> tasks;
  std::vector<std::string> sg_lines;
};
ClutrrGenerated clutrr_generate(const ClutrrGenerateRequest& request);

// Train/valid from `train_hops`, test from `test_hops` (systematic generalisation: e.g. train on
// 2,4,6, test on 2..10). Problems of valid and test that equal a train problem (same facts,
// question, answer) are replaced, so no test item is seen in training.
struct ClutrrSplitRequest {
  std::vector<int64_t> train_hops{2, 4, 6};
  std::vector<int64_t> test_hops{2, 3, 4, 5, 6, 7, 8, 9, 10};
  int64_t train_per_hop = 1000, valid_per_hop = 100, test_per_hop = 100;
  uint64_t seed = 0;
  ClutrrGeneratorOptions options;
};
struct ClutrrSplits {
  std::vector<Task> train, valid, test;
};
ClutrrSplits clutrr_generate_splits(const ClutrrSplitRequest& request);

}  // namespace reckoning
