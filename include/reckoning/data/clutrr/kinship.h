// Kinship relations for CLUTRR-style reasoning: the 11 relation types, their 22 gendered words,
// and the composition rule base. Convention (as in CLUTRR): (A, r, B) means "B is A's r", and the
// gendered word of r is chosen by the gender of B, the person it describes.
//
// The rule base = the 16 compositional rules of CLUTRR (facebookresearch/clutrr,
// clutrr/store/rules_store.yaml) plus completions that hold in every family our generator can
// simulate (children have two married parents, no remarriage, full siblings; persons distinct),
// listed in kin_rules() and docs/DATA.md. Five CLUTRR rules hold only in some families (e.g.
// child.inv-un = sibling fails when A married into the family: the uncle can be A's
// sibling-in-law); the generator therefore checks every chain against the simulated genealogy.
// Not here: family simulation (clutrr_generator.h), reading files (clutrr.h).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace reckoning {

enum class Kin : uint8_t {
  child, inv_child, so, sibling, grand, inv_grand, in_law, inv_in_law, sibling_in_law, un, inv_un
};
constexpr int kKinCount = 11;
enum class Gender : uint8_t { male, female };

const char* kin_name(Kin kin);  // CLUTRR's names: "child", "inv-child", "SO", ...
std::optional<Kin> kin_from_name(const std::string& name);
std::optional<Gender> gender_from_name(const std::string& name);

// The word for `kin` describing a person of `gender`: (child, female) -> "daughter".
const char* kin_word(Kin kin, Gender gender);
struct KinWord {
  Kin kin;
  Gender gender;
};
// "son-in-law" -> (in-law, male); nullopt for anything not among the 22 words (lower-case).
std::optional<KinWord> kin_word_parse(const std::string& word);
// The 22 words, in the order of DATASETS.md.
const std::vector<std::string>& kin_words();

// The converse: (A, r, B) <=> (B, kin_inverse(r), A); child <-> inv-child, SO <-> SO, ...
Kin kin_inverse(Kin kin);

// The rule base: r1.r2 = r3 for (A, r1, B), (B, r2, C) => (A, r3, C); nullopt where undefined.
// clutrr_only: only CLUTRR's 16 rules (how the CLUTRR release was generated).
std::optional<Kin> kin_compose(Kin r1, Kin r2, bool clutrr_only = false);
// Every rule as (r1, r2, r3) and whether it comes from CLUTRR's rule store (else a completion).
struct KinRule {
  Kin r1, r2, r3;
  bool from_clutrr = false;
};
const std::vector<KinRule>& kin_rules();

// Every relation derivable for the chain (A0, r_0, A1), ..., (A_{k-1}, r_{k-1}, A_k) between A0
// and A_k under any bracketing of the rule base (CYK over spans), as a bit set (bit = Kin). A
// consistent chain derives exactly one relation; 0 means the chain does not compose.
uint32_t kin_compose_chain(const std::vector<Kin>& chain, bool clutrr_only = false);
// The single derivable relation, or nullopt if none or several.
std::optional<Kin> kin_chain_relation(const std::vector<Kin>& chain, bool clutrr_only = false);

}  // namespace reckoning
