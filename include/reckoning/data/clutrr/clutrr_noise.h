// The relation a CLUTRR story states between two people, read from the story's own sentence.
//
// CLUTRR's noisy test sets (tasks 2.x supporting, 3.x irrelevant, 4.x disconnected facts) list
// the noise edges in `story_edges` (after the chain's edges) but give no relation for them:
// `edge_types` holds only the chain's. The relation is only in the sentence that introduced the
// noise person, e.g. "[Marsha] asked her daughter, [Helen], ..." for the edge Marsha -> Helen.
// This reader recovers it with rules that are checked against the chain edges of the real release
// (where the relation is known; tests/data/clutrr_noise_test.cpp), and refuses, with a reason,
// whenever the sentence does not determine it:
//   1. The sentence: the first story sentence naming both people ("[A]" and "[B]"), else the first
//      two consecutive sentences that do ("... his sister. Her name is [B].").
//   2. Its relation words: the 22 words, "mom"/"mum"/"dad"/"grandma"/"grandpa"/"granddad", and
//      possessive chains of them composed with the rule base ("her mother's husband" = father,
//      "his daughter's son" = grandson). Exactly one such mention, not plural ("daughters").
//   3. Whom it describes: the one of the two whose gender is the word's; if both are, the name
//      right after the word ("her daughter, [B]") or the other one after "... of [B]", or the name
//      in a following "His/Her name is [B]". Describing A instead of B gives the converse relation,
//      worded by B's gender.
//   4. Several relation words: the one word attached to one of the two people is read - followed
//      by the name ("her son [B]": B), by "of [B]" or preceded by "[B]'s" (the other one) - if
//      exactly one is, and its gender is that person's ("[A] went to her brother [C]'s party with
//      her son [B]": son, for A -> B).
// Not here: reading the CSV (clutrr.h), the rule base (kinship.h).
#pragma once

#include <optional>
#include <string>

#include "reckoning/data/clutrr/kinship.h"

namespace reckoning {

struct StatedRelation {
  std::optional<std::string> word;  // "to is from's word" (gendered by to), when read
  std::string reason;               // why not, when not read (e.g. "several relation words")
};

StatedRelation clutrr_stated_relation(const std::string& story, const std::string& from,
                                      Gender from_gender, const std::string& to, Gender to_gender);

}  // namespace reckoning
