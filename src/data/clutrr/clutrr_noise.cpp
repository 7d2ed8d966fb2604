// The relation a CLUTRR story sentence states between two people; see clutrr_noise.h.
#include "reckoning/data/clutrr/clutrr_noise.h"

#include <cctype>
#include <map>
#include <vector>

namespace reckoning {

namespace {

// Sentences end at '.', '!' or '?' followed by white space (CLUTRR's stories are plain ASCII).
std::vector<std::string> story_sentences(const std::string& story) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t i = 0; i < story.size(); ++i) {
    const bool end = (story[i] == '.' || story[i] == '!' || story[i] == '?') &&
                     (i + 1 == story.size() || std::isspace(static_cast<unsigned char>(story[i + 1])));
    if (!end) continue;
    out.push_back(story.substr(start, i + 1 - start));
    start = i + 1;
    while (start < story.size() && std::isspace(static_cast<unsigned char>(story[start]))) ++start;
  }
  if (start < story.size()) out.push_back(story.substr(start));
  return out;
}

bool names(const std::string& text, const std::string& person) {
  return text.find("[" + person + "]") != std::string::npos;
}

// The passage stating the edge: one sentence naming both, else two consecutive ones.
std::optional<std::string> passage(const std::string& story, const std::string& a, const std::string& b) {
  const std::vector<std::string> sentences = story_sentences(story);
  for (const std::string& s : sentences) {
    if (names(s, a) && names(s, b)) return s;
  }
  for (size_t i = 0; i + 1 < sentences.size(); ++i) {
    const std::string two = sentences[i] + " " + sentences[i + 1];
    if (names(two, a) && names(two, b)) return two;
  }
  return std::nullopt;
}

std::optional<KinWord> relation_word(const std::string& word) {
  if (auto k = kin_word_parse(word)) return k;
  static const std::map<std::string, KinWord> aliases{
      {"mom", {Kin::inv_child, Gender::female}},     {"mum", {Kin::inv_child, Gender::female}},
      {"dad", {Kin::inv_child, Gender::male}},       {"grandma", {Kin::inv_grand, Gender::female}},
      {"grandpa", {Kin::inv_grand, Gender::male}},   {"granddad", {Kin::inv_grand, Gender::male}}};
  auto it = aliases.find(word);
  if (it == aliases.end()) return std::nullopt;
  return it->second;
}

bool word_char(char c) { return std::islower(static_cast<unsigned char>(c)) || c == '-'; }

struct Mention {
  size_t begin = 0, end = 0;  // offsets of the mention
  std::optional<Kin> kin;  // nullopt: a possessive chain the rule base does not compose
  Gender gender = Gender::male;
  bool plural = false;
};

// Relation words and possessive chains of them ("mother's husband") in lower-case `text`.
std::vector<Mention> mentions(const std::string& text) {
  std::vector<Mention> out;
  size_t i = 0;
  auto token_at = [&](size_t at) {
    size_t e = at;
    while (e < text.size() && word_char(text[e])) ++e;
    return e;
  };
  while (i < text.size()) {
    if (!word_char(text[i]) || (i > 0 && word_char(text[i - 1]))) {
      ++i;
      continue;
    }
    size_t e = token_at(i);
    const std::string token = text.substr(i, e - i);
    std::optional<KinWord> w = relation_word(token);
    Mention m;
    if (!w && token.size() > 1 && token.back() == 's') {
      w = relation_word(token.substr(0, token.size() - 1));
      m.plural = w.has_value();
    }
    if (!w) {
      i = e;
      continue;
    }
    m.begin = i;
    m.kin = w->kin;
    m.gender = w->gender;
    // "... 's <relation word>" continues the chain: A's r1's r2 = the r2 of A's r1.
    while (!m.plural && text.compare(e, 3, "'s ") == 0) {
      const size_t b = e + 3;
      const size_t next_end = token_at(b);
      std::optional<KinWord> next = relation_word(text.substr(b, next_end - b));
      if (!next) break;
      if (m.kin) m.kin = kin_compose(*m.kin, next->kin);
      m.gender = next->gender;
      e = next_end;
    }
    m.end = e;
    out.push_back(m);
    i = e;
  }
  return out;
}

// "[X]" right after `at` (after optional "of" and ","): X and whether "of" came first.
std::optional<std::pair<std::string, bool>> next_name(const std::string& text, const std::string& lower,
                                                      size_t at) {
  auto skip_space = [&](size_t p) {
    while (p < text.size() && std::isspace(static_cast<unsigned char>(text[p]))) ++p;
    return p;
  };
  size_t p = skip_space(at);
  bool of = false;
  if (lower.compare(p, 3, "of ") == 0) {
    of = true;
    p = skip_space(p + 3);
  }
  if (p < text.size() && text[p] == ',') p = skip_space(p + 1);
  if (p >= text.size() || text[p] != '[') return std::nullopt;
  const size_t close = text.find(']', p);
  if (close == std::string::npos) return std::nullopt;
  return std::make_pair(text.substr(p + 1, close - p - 1), of);
}

// Whom a word followed by "[X]" describes: X; followed by "of [X]": the other of from / to.
std::string named_by(const std::pair<std::string, bool>& next, const std::string& from, const std::string& to) {
  if (!next.second) return next.first;
  return next.first == from ? to : from;
}

// The edge's word for a relation word of `kin` describing `to` (else `from`: the converse),
// worded by to's gender.
StatedRelation edge_word(Kin kin, bool describes_to, Gender to_gender) {
  return {std::string(kin_word(describes_to ? kin : kin_inverse(kin), to_gender)), ""};
}

// "[X]'s " right before `at`: X.
std::optional<std::string> possessor_before(const std::string& text, size_t at) {
  if (at < 4 || text.compare(at - 4, 4, "]'s ") != 0) return std::nullopt;
  const size_t open = text.rfind('[', at - 4);
  if (open == std::string::npos) return std::nullopt;
  return text.substr(open + 1, at - 4 - open - 1);
}

// Among several relation words, the one attached to one of the two people: "her son [B]" (B),
// "the sister of [B]" and "[B]'s uncle" (the other one). Exactly one attachment, or none read.
StatedRelation attached_relation(const std::string& text, const std::string& lower,
                                 const std::vector<Mention>& found, const std::string& from,
                                 Gender from_gender, const std::string& to, Gender to_gender) {
  struct Candidate {
    bool describes_to;
    const Mention* mention;
  };
  std::vector<Candidate> candidates;
  for (const Mention& m : found) {
    if (!m.kin || m.plural) continue;
    if (auto next = next_name(text, lower, m.end); next && (next->first == from || next->first == to)) {
      candidates.push_back({named_by(*next, from, to) == to, &m});
    }
    if (auto owner = possessor_before(text, m.begin); owner && (*owner == from || *owner == to)) {
      candidates.push_back({*owner == from, &m});  // "[X]'s word" describes the other one
    }
  }
  if (candidates.size() != 1) return {std::nullopt, "several relation words"};
  const Candidate& c = candidates[0];
  if ((c.describes_to ? to_gender : from_gender) != c.mention->gender) {
    return {std::nullopt, "the word's gender is not the person's it is attached to"};
  }
  return edge_word(*c.mention->kin, c.describes_to, to_gender);
}

}  // namespace

StatedRelation clutrr_stated_relation(const std::string& story, const std::string& from,
                                      Gender from_gender, const std::string& to, Gender to_gender) {
  const std::optional<std::string> text = passage(story, from, to);
  if (!text) return {std::nullopt, "no sentence names both"};
  std::string lower = *text;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const std::vector<Mention> found = mentions(lower);
  if (found.empty()) return {std::nullopt, "no relation word"};
  if (found.size() > 1) return attached_relation(*text, lower, found, from, from_gender, to, to_gender);
  const Mention& m = found[0];
  if (m.plural) return {std::nullopt, "a plural relation word"};
  if (!m.kin) return {std::nullopt, "a possessive chain the rule base does not compose"};

  // Whom the word describes: `to` (the edge's relation) or `from` (its converse).
  std::optional<bool> describes_to;
  if (to_gender == m.gender && from_gender != m.gender) describes_to = true;
  if (from_gender == m.gender && to_gender != m.gender) describes_to = false;
  if (from_gender != m.gender && to_gender != m.gender) {
    return {std::nullopt, "the word's gender is neither person's"};
  }
  if (!describes_to) {
    std::optional<std::string> who;
    if (auto next = next_name(*text, lower, m.end)) {
      // "her daughter, [B]": B; "the sister of [B]": the other one.
      if (next->first == from || next->first == to) who = named_by(*next, from, to);
    } else {
      const size_t at = lower.find("name is [", m.end);
      if (at != std::string::npos) {
        const size_t open = at + 8, close = text->find(']', open);
        if (close != std::string::npos) who = text->substr(open + 1, close - open - 1);
      }
    }
    if (who == to) describes_to = true;
    if (who == from) describes_to = false;
  }
  if (!describes_to) return {std::nullopt, "the sentence does not say whom the word describes"};
  return edge_word(*m.kin, *describes_to, to_gender);
}

}  // namespace reckoning
