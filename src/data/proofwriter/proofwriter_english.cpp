// ProofWriter synthetic English; see proofwriter_english.h. The parser is a small hand-written
// recogniser over words for exactly the release templates, so that any sentence outside them is
// reported with the word where recognition stopped.
#include "reckoning/data/proofwriter/proofwriter_english.h"

#include <algorithm>
#include <cctype>

#include "reckoning/base/error.h"

namespace reckoning {

namespace {

bool is_person(const std::string& e) {
  const auto& p = proofwriter_people();
  return std::find(p.begin(), p.end(), e) != p.end();
}

std::string capitalize(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// "chases" -> "chase": every release relation is a regular verb.
std::string verb_lemma(const std::string& relation) {
  return relation.size() > 1 && relation.back() == 's' ? relation.substr(0, relation.size() - 1)
                                                       : relation;
}

std::string entity_phrase(const std::string& entity) {
  return is_person(entity) ? entity : "the " + entity;
}

// Renders clauses of one sentence, tracking the first mention of the variable.
struct ClauseWriter {
  bool people;
  bool mentioned = false;

  // Returns the phrase and whether the verb takes plural agreement ("they").
  std::pair<std::string, bool> subject(const std::string& term) {
    if (term != kProofwriterVariable) return {entity_phrase(term), false};
    if (!mentioned) {
      mentioned = true;
      return {people ? "someone" : "something", false};
    }
    return {people ? "they" : "it", people};
  }
  std::string object(const std::string& term) {
    if (term != kProofwriterVariable) return entity_phrase(term);
    if (!mentioned) {
      mentioned = true;
      return people ? "someone" : "something";
    }
    return people ? "them" : "it";
  }
  std::string clause(const Literal& l) {
    auto [subj, plural] = subject(l.subject);
    if (l.is_attribute())
      return subj + (plural ? " are " : " is ") + (l.negated ? "not " : "") + l.object;
    std::string obj = object(l.object);
    if (l.negated) return subj + (plural ? " do not " : " does not ") + verb_lemma(l.relation) + " " + obj;
    return subj + " " + (plural ? verb_lemma(l.relation) : l.relation) + " " + obj;
  }
};

bool all_form_fits(const Rule& r) {
  auto plain = [](const Literal& l) {
    return l.is_attribute() && !l.negated && l.subject == kProofwriterVariable;
  };
  return std::all_of(r.conditions.begin(), r.conditions.end(), plain) && plain(r.conclusion);
}

}  // namespace

std::string english_render_literal(const Literal& literal, bool people) {
  ClauseWriter w{people};
  return capitalize(w.clause(literal)) + ".";
}

std::string english_render_rule(const Rule& rule, bool people, int variant) {
  const char* noun = people ? "people" : "things";
  if (all_form_fits(rule) && variant % 2 == 0) {
    if (rule.conditions.size() == 1)
      return "All " + rule.conditions[0].object + " " + noun + " are " + rule.conclusion.object + ".";
    return capitalize(rule.conditions[0].object) + ", " + rule.conditions[1].object + " " + noun +
           " are " + rule.conclusion.object + ".";
  }
  ClauseWriter w{people};
  std::string out = "If ";
  const auto& c = rule.conditions;
  if (c.size() == 2 && c[0].is_attribute() && c[1].is_attribute() && !c[0].negated &&
      !c[1].negated && c[0].subject == c[1].subject) {
    out += w.clause(c[0]) + " and " + c[1].object;  // "something is kind and rough"
  } else {
    for (size_t i = 0; i < c.size(); ++i) out += (i ? " and " : "") + w.clause(c[i]);
  }
  return out + " then " + w.clause(rule.conclusion) + ".";
}

namespace {

struct ParseFailure {
  std::string detail;
};

struct Words {
  std::vector<std::string> w;
  size_t pos = 0;
  bool people = false;

  bool done() const { return pos >= w.size(); }
  std::string before() const {
    std::string s;
    for (size_t i = 0; i < pos && i < w.size(); ++i) s += (i ? " " : "") + w[i];
    return s;
  }
  [[noreturn]] void fail(const std::string& what) const {
    std::string at = done() ? "the end of the sentence" : "'" + w[pos] + "'";
    std::string after = pos == 0 ? "" : " after '" + before() + "'";
    throw ParseFailure{at + after + " where " + what + " should be"};
  }
  bool accept(const std::string& word) {
    if (!done() && lower(w[pos]) == word) {
      ++pos;
      return true;
    }
    return false;
  }
  void expect(const std::string& word) {
    if (!accept(word)) fail("'" + word + "'");
  }
  std::string attribute() {
    if (!done()) {
      std::string a = lower(w[pos]);
      const auto& attrs = proofwriter_attributes();
      if (std::find(attrs.begin(), attrs.end(), a) != attrs.end()) {
        ++pos;
        return a;
      }
    }
    fail("an attribute (" + std::to_string(proofwriter_attributes().size()) + " known: red, blue, ...)");
  }
  // An entity or the variable; `role` is "subject" or "object".
  std::string term(const char* role) {
    if (done()) fail(std::string("a ") + role);
    std::string word = lower(w[pos]);
    if (word == "the") {
      ++pos;
      for (const std::string& a : proofwriter_animals()) {
        size_t n = static_cast<size_t>(std::count(a.begin(), a.end(), ' ')) + 1;
        if (pos + n > w.size()) continue;
        std::string candidate;
        for (size_t i = 0; i < n; ++i) candidate += (i ? " " : "") + lower(w[pos + i]);
        if (candidate == a) {
          pos += n;
          return a;
        }
      }
      fail("an animal (bald eagle, bear, cat, ...)");
    }
    for (const std::string& p : proofwriter_people())
      if (w[pos] == p) {
        ++pos;
        people = true;
        return p;
      }
    if (word == "something" || word == "it") {
      ++pos;
      return kProofwriterVariable;
    }
    if (word == "someone" || word == "they" || word == "them") {
      ++pos;
      people = true;
      return kProofwriterVariable;
    }
    fail(std::string("a ") + role + " (the <animal>, a name, something/someone/it/they)");
  }
  std::string relation_word(bool lemma_form) {
    if (!done()) {
      std::string v = lower(w[pos]);
      for (const std::string& r : proofwriter_relations())
        if (v == (lemma_form ? verb_lemma(r) : r)) {
          ++pos;
          return r;
        }
    }
    fail(lemma_form ? "a verb (chase, eat, like, need, see, visit)"
                    : "'is', 'are', 'does not' or a verb (chases, eats, likes, needs, sees, visits)");
  }
  Literal clause() {
    Literal l;
    l.subject = term("subject");
    if (accept("is") || accept("are")) {
      l.relation = "is";
      l.negated = accept("not");
      l.object = attribute();
      return l;
    }
    if (accept("does") || accept("do")) {
      expect("not");
      l.negated = true;
      l.relation = relation_word(true);
    } else if (!done() && (lower(w[pos]) == "chase" || lower(w[pos]) == "eat" ||
                           lower(w[pos]) == "like" || lower(w[pos]) == "need" ||
                           lower(w[pos]) == "see" || lower(w[pos]) == "visit")) {
      l.relation = relation_word(true);  // "they see the cow"
    } else {
      l.relation = relation_word(false);
    }
    l.object = term("object");
    return l;
  }
};

Words split_words(const std::string& sentence) {
  Words words;
  std::string s = sentence;
  while (!s.empty() && (std::isspace(static_cast<unsigned char>(s.back())) || s.back() == '.')) s.pop_back();
  std::string word;
  for (char ch : s) {
    if (std::isspace(static_cast<unsigned char>(ch)) || ch == ',') {
      if (!word.empty()) words.w.push_back(word);
      word.clear();
      if (ch == ',') words.w.push_back(",");
    } else {
      word += ch;
    }
  }
  if (!word.empty()) words.w.push_back(word);
  return words;
}

EnglishStatement parse_words(Words& ws) {
  EnglishStatement out;
  if (ws.w.empty()) ws.fail("a sentence");
  std::string first = lower(ws.w[0]);
  bool plural_form = std::find(ws.w.begin(), ws.w.end(), "things") != ws.w.end() ||
                     std::find(ws.w.begin(), ws.w.end(), "people") != ws.w.end();
  if (first == "if") {
    ws.pos = 1;
    out.is_rule = true;
    for (;;) {
      // "... is kind and rough": a bare attribute continues the previous attribute clause.
      if (!out.rule.conditions.empty() && out.rule.conditions.back().is_attribute() && !ws.done() &&
          (lower(ws.w[ws.pos]) == "not" ||
           std::find(proofwriter_attributes().begin(), proofwriter_attributes().end(),
                     lower(ws.w[ws.pos])) != proofwriter_attributes().end())) {
        Literal l = out.rule.conditions.back();
        l.negated = ws.accept("not");
        l.object = ws.attribute();
        out.rule.conditions.push_back(l);
      } else {
        out.rule.conditions.push_back(ws.clause());
      }
      if (ws.accept("then")) break;
      if (!ws.accept("and")) ws.fail("'and' or 'then'");
      if (out.rule.conditions.size() == 2) ws.fail("at most 2 conditions");
    }
    out.rule.conclusion = ws.clause();
  } else if (plural_form) {
    out.is_rule = true;
    ws.pos = 0;
    ws.accept("all");
    for (;;) {
      Literal c{kProofwriterVariable, "is", ws.attribute(), false};
      out.rule.conditions.push_back(c);
      if (ws.accept("things")) break;
      if (ws.accept("people")) {
        ws.people = true;
        break;
      }
      if (!ws.accept(",") && !ws.accept("and")) ws.fail("',', 'things' or 'people'");
      ws.accept("and");
      if (out.rule.conditions.size() == 2) ws.fail("at most 2 conditions");
    }
    ws.expect("are");
    bool negated = ws.accept("not");
    out.rule.conclusion = Literal{kProofwriterVariable, "is", ws.attribute(), negated};
  } else {
    out.fact = ws.clause();
    if (out.fact.has_variable()) {
      ws.pos = 0;
      ws.fail("a fact about a named entity (not something/someone)");
    }
  }
  if (!ws.done()) ws.fail("the end of the sentence");
  out.people = ws.people;
  if (out.is_rule) {
    bool bound = std::any_of(out.rule.conditions.begin(), out.rule.conditions.end(),
                             [](const Literal& c) { return c.has_variable(); });
    if (out.rule.conclusion.has_variable() && !bound)
      throw ParseFailure{"a conclusion whose it/they refers to a condition's something/someone"};
  }
  return out;
}

}  // namespace

EnglishStatement english_parse_sentence(const std::string& sentence, const std::string& where) {
  Words ws = split_words(sentence);
  try {
    return parse_words(ws);
  } catch (const ParseFailure& f) {
    throw_error(where, "a fact or rule in ProofWriter English", f.detail);
  }
}

Literal english_parse_statement(const std::string& sentence, const std::string& where) {
  EnglishStatement s = english_parse_sentence(sentence, where);
  check(!s.is_rule, where, "a statement (fact sentence), not a rule", "'" + sentence + "'");
  return s.fact;
}

std::vector<std::string> english_split_sentences(const std::string& text) {
  std::vector<std::string> out;
  std::string current;
  for (size_t i = 0; i < text.size(); ++i) {
    char ch = text[i];
    if (current.empty() && std::isspace(static_cast<unsigned char>(ch))) continue;
    current += ch;
    if (ch == '.' && (i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1])))) {
      out.push_back(current);
      current.clear();
    }
  }
  while (!current.empty() && std::isspace(static_cast<unsigned char>(current.back()))) current.pop_back();
  if (!current.empty()) out.push_back(current);
  return out;
}

Theory english_parse_theory(const std::string& text, const std::string& where) {
  Theory theory;
  std::vector<std::string> sentences = english_split_sentences(text);
  for (size_t i = 0; i < sentences.size(); ++i) {
    EnglishStatement s = english_parse_sentence(
        sentences[i], str(where, ": sentence ", i + 1, " '", sentences[i], "'"));
    theory.people = theory.people || s.people;
    if (s.is_rule)
      theory.rules.push_back(s.rule);
    else
      theory.facts.push_back(s.fact);
  }
  return theory;
}

Verdict english_answer(const std::string& theory_text, const std::string& question, World world,
                       const std::string& where) {
  Theory theory = english_parse_theory(theory_text, where);
  Literal q = english_parse_statement(question, "question '" + question + "'");
  theory.people = theory.people || std::find(proofwriter_people().begin(), proofwriter_people().end(),
                                             q.subject) != proofwriter_people().end();
  Implications im = proofwriter_prove(theory, world);
  return proofwriter_answer(theory, im, q, q, english_render_literal(q, theory.people));
}

nlohmann::json english_answer_json(const nlohmann::json& request, World default_world,
                                   const std::string& where) {
  try {
    check(request.is_object(), where, "a JSON object", request.type_name());
    for (const char* field : {"theory", "question"})
      check(request.contains(field) && request[field].is_string(), str(where, ": field '", field, "'"),
            "a string", request.contains(field) ? request[field].dump() : "nothing");
    World world = default_world;
    if (request.contains("world"))
      world = world_parse(request["world"].is_string() ? request["world"].get<std::string>() : request["world"].dump(),
                          where + ": field 'world'");
    Verdict v = english_answer(request["theory"], request["question"], world, where + ": theory");
    return {{"answer", v.answer}, {"depth", v.depth}, {"proof", v.proof}, {"length", v.length}};
  } catch (const Error& e) {
    return {{"error", e.what()}};
  }
}

}  // namespace reckoning
