// Reader for CLUTRR-SG (Gontier et al. 2020) line files, one example per line:
//   <STORY> ent_20 is a son to ent_3 . ent_3 is the brother of ent_5 . <QUERY> How are ent_5 and
//   ent_20 related to each other ? <PROOF> since ... <ANSWER> ent_20 is the nephew of ent_5 .
// Story sentences end with " ." and name one edge each, in any of the forms
//   "ent_a is a W to ent_b", "ent_a is the W of ent_b", "ent_a is ent_b 's W", "ent_b 's W is ent_a"
// all meaning (ent_b, W, ent_a): "ent_a is ent_b's W". The answer is the relation of the query's
// second entity to its first: an answer sentence in one of those forms about the query pair (or a
// bare relation word). Written from the format description (no real file was available).
// Conversion: facts = the story sentences (or, with letters, RECKONING's triples "Z C son": entity
// numbers 1..20 -> A B C D H J K L M N O P Q R S T V X Y Z); question "How are C and Z related to
// each other ?"; answer = one relation word; hops = number of story edges; no distractors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reckoning/data/task.h"

namespace reckoning {

struct ClutrrSgEdge {
  int64_t from = 0, to = 0;  // entity numbers: "ent_<to> is ent_<from>'s word"
  std::string word;
};

struct ClutrrSgExample {
  std::string where;  // "file:line"
  std::vector<std::string> sentences;  // story sentences as written (without the final " .")
  std::vector<ClutrrSgEdge> edges;     // one per sentence
  int64_t query_from = 0, query_to = 0;
  std::string proof;   // kept verbatim
  std::string answer;  // relation word of query_to to query_from
};

// Parses one line; `where` is "file:line". Errors name the section and the sentence.
ClutrrSgExample clutrr_sg_parse_line(const std::string& line, const std::string& where);
std::vector<ClutrrSgExample> clutrr_sg_read(const std::string& path,
                                            const TaskReadOptions& options = {},
                                            TaskReadReport* report = nullptr);
Task clutrr_sg_to_task(const ClutrrSgExample& example, bool letters);
// The line format of an example: "<STORY> ... <QUERY> ... <PROOF> ... <ANSWER> ...".
std::string clutrr_sg_format(const ClutrrSgExample& example);

}  // namespace reckoning
