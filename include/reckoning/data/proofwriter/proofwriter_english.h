// ProofWriter synthetic English: rendering theories, facts, rules and questions with the release's
// templates, and parsing that English back into logic.
//
// Templates ("something"/"it" for animals, "someone"/"they"/"people" for people):
//   facts      "The bear is red." "Bob is big." "The cat likes the dog." "The cat does not like
//              the dog." "Bob is not big."
//   rules      "If something is red then it is big." "If someone is red then they are big."
//              "All red things are big." "All red people are big." "Red, cold things are round."
//              "If something is kind and rough then it is red."
//              "If someone sees the cat and they are not green then they see the cow."
//              "If the cow chases the dog then the cow sees the rabbit."
// Not here: the ParaRules crowd-sourced paraphrases (NatLang); words outside the release
// vocabulary (proofwriter_logic.h) are rejected with an error naming the word.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "reckoning/data/proofwriter/proofwriter_logic.h"
#include "reckoning/data/proofwriter/proofwriter_prover.h"

namespace reckoning {

// "The cow is big." / "Bob does not like the cat." (ground literal).
std::string english_render_literal(const Literal& literal, bool people);
// `variant` picks among the templates that fit the rule (any int; the logic is the same).
std::string english_render_rule(const Rule& rule, bool people, int variant = 0);

// Parses one sentence (with or without the final period). `where` names the sentence in errors:
// "theory.txt: sentence 3 'The cat flies.': expected a fact or rule in ProofWriter English,
// got unknown word 'flies' after 'The cat'".
struct EnglishStatement {
  bool is_rule = false;
  Literal fact;  // when !is_rule
  Rule rule;     // when is_rule
  bool people = false;  // the sentence names a person or uses someone/they/people
};
EnglishStatement english_parse_sentence(const std::string& sentence, const std::string& where);
// A question: one ground fact sentence.
Literal english_parse_statement(const std::string& sentence, const std::string& where);
// Splits on sentence-final periods and parses each sentence; facts and rules keep their order.
Theory english_parse_theory(const std::string& text, const std::string& where);
// The sentences of a text (trimmed, periods kept).
std::vector<std::string> english_split_sentences(const std::string& text);

// Parses an English theory and question and labels the question (`where` names the theory in
// errors). The failure record of an unprovable question names the question itself.
Verdict english_answer(const std::string& theory_text, const std::string& question, World world,
                       const std::string& where);
// One request of `reckoning data prove --batch`: {"theory": ..., "question": ..., "world"?:
// "owa"|"cwa"} -> {"answer", "depth", "proof", "length"}; a malformed request gives {"error": msg}.
nlohmann::json english_answer_json(const nlohmann::json& request, World default_world,
                                   const std::string& where);

}  // namespace reckoning
