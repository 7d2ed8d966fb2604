// Reader for the CLUTRR v1 release CSV files (Sinha et al. 2019; e.g. data/samples/clutrr/1.4_test.csv)
// and their conversion to the canonical task record (task.h).
//
// Columns used: id, story, query, target, task_name, f_comb, story_edges, edge_types, genders,
// proof_state (optional), clean_story (optional). Node i of story_edges is the i-th name in
// `genders` ("Jenny:female,Anne:female,..."); edge (i, j) with type r means "j is i's r"; target is
// the relation of query[1] to query[0].
// Chain vs noise: the chain edges are the leaves of proof_state (the story triples the proof uses);
// every other story edge is noise (tasks 2.x-4.x) and becomes a distractor. Without a proof_state,
// every edge is a chain edge. In the noisy release files `edge_types` types only the chain (the
// first edges of `story_edges`); each noise edge's relation is then read from the story sentence
// that states it (clutrr_noise.h), and a noise edge whose sentence does not determine it is left
// out and listed (ClutrrRow::unread_noise; the task's source "noise_unread").
// Not here: composition (kinship.h), generation (clutrr_generator.h).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reckoning/data/clutrr/kinship.h"
#include "reckoning/data/task.h"

namespace reckoning {

struct ClutrrEdge {
  int64_t from = 0, to = 0;  // indices into ClutrrRow::names; "to is from's word"
  std::string word;          // gendered relation word, e.g. "daughter"
  bool chain = true;         // false: a noise edge (distractor)
};

struct ClutrrRow {
  std::string where;  // "file.csv:12" (record start line)
  std::string id;
  std::string story, clean_story;
  std::string query_from, query_to;  // answer = relation of query_to to query_from
  std::string target;
  std::string task_name, f_comb;
  std::vector<std::string> names;   // node index -> name (order of `genders`)
  std::vector<Gender> genders;      // node index -> gender
  std::vector<ClutrrEdge> edges;    // story order
  // Noise edges left out because the story does not determine their relation (clutrr_noise.h):
  // "Marsha -> Helen: several relation words".
  std::vector<std::string> unread_noise;
};

struct ClutrrReadOptions {
  bool skip_invalid = false;  // skip rows with malformed fields (CSV syntax errors stay fatal)
};

// Reads a CLUTRR v1 CSV file. Every error names file:line, the column and what was expected.
std::vector<ClutrrRow> clutrr_read(const std::string& path, const ClutrrReadOptions& options = {},
                                   TaskReadReport* report = nullptr);

// Noise type from task_name: task_1.x clean, 2.x supporting, 3.x irrelevant, 4.x disconnected.
std::string clutrr_noise_type(const std::string& task_name);

struct ClutrrConvertOptions {
  bool letters = false;  // facts as RECKONING letter triples "Z C son" instead of sentences
};

// Facts = the chain edges as "Anne is Jenny's daughter." (letters: "B A daughter"), in story
// order; distractors = noise edges alike; question "How are Jenny and Benjamin related to each
// other ?"; answer = target; hops = number of chain edges. source keeps id, task_name, f_comb,
// noise and the original story.
Task clutrr_to_task(const ClutrrRow& row, const ClutrrConvertOptions& options = {});

// Letter of entity number n (1..20): A B C D H J K L M N O P Q R S T V X Y Z (RECKONING's
// simplification of CLUTRR-SG); throws for n outside 1..20.
std::string clutrr_entity_letter(int64_t n, const std::string& where);

}  // namespace reckoning
