// ProofWriter meta-*.jsonl reader; see proofwriter.h.
#include "reckoning/data/proofwriter/proofwriter.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <limits>
#include <map>
#include <set>
#include <sstream>

#include "reckoning/base/data_rng.h"
#include "reckoning/base/error.h"
#include "reckoning/base/numbers.h"
#include "reckoning/base/io.h"
#include "reckoning/data/data_stats.h"

namespace reckoning {

namespace {

bool is_statement_id(const std::string& t) {
  auto numbered = [&](const char* prefix) {
    size_t n = std::string(prefix).size();
    return t.size() > n && t.compare(0, n, prefix) == 0 &&
           std::all_of(t.begin() + n, t.end(), [](char c) { return std::isdigit((unsigned char)c); });
  };
  return numbered("triple") || numbered("rule");
}

// Tokens of a proof: ( ) [ ] -> OR NAF and ids.
std::vector<std::string> tokenize(const std::string& s, const std::string& where) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
    } else if (c == '(' || c == ')' || c == '[' || c == ']') {
      out.emplace_back(1, c);
      ++i;
    } else if (s.compare(i, 2, "->") == 0) {
      out.emplace_back("->");
      i += 2;
    } else if (std::isalnum(static_cast<unsigned char>(c))) {
      size_t j = i;
      while (j < s.size() && std::isalnum(static_cast<unsigned char>(s[j]))) ++j;
      out.push_back(s.substr(i, j - i));
      i = j;
    } else {
      throw_error(where, "a proof of ids, '(', ')', '->', 'OR', 'NAF'",
                  str("'", c, "' at position ", i, " of \"", s, "\""));
    }
  }
  return out;
}

struct ProofParser {
  const std::vector<std::string>& tokens;
  const std::string& where;
  const std::string& text;
  size_t i = 0;

  [[noreturn]] void fail(const std::string& expected) {
    throw_error(where, str(expected, " at token ", i, " of \"", text, "\""),
                i < tokens.size() ? "'" + tokens[i] + "'" : std::string("the end"));
  }
  // group := '(' item* ')'; item := group | id | NAF | '->' ruleid (applies to the previous item).
  // Returns the depth; appends ids. With `split`, the group is a proof's outermost one, where
  // 'OR' separates alternatives ("[(triple4 OR ((triple6) -> rule2))]"): each finished
  // alternative but the last is moved into `split`.
  int64_t group(std::vector<std::string>& ids, std::vector<ProofAlternative>* split = nullptr) {
    if (i >= tokens.size() || tokens[i] != "(") fail("'('");
    ++i;
    int64_t depth = 0, last = 0;
    bool have_last = false;
    while (true) {
      if (i >= tokens.size()) fail("')'");
      const std::string& t = tokens[i];
      if (t == ")") {
        ++i;
        return depth;
      }
      if (t == "OR" && split && have_last) {
        ++i;
        split->push_back({ids, depth});
        ids.clear();
        depth = last = 0;
        have_last = false;
        continue;
      }
      if (t == "(") {
        last = group(ids);
        have_last = true;
      } else if (t == "->") {
        ++i;
        if (!have_last || i >= tokens.size() || tokens[i].compare(0, 4, "rule") != 0 ||
            !is_statement_id(tokens[i])) {
          fail("'(premises) -> ruleN'");
        }
        ids.push_back(tokens[i++]);
        last = last + 1;
      } else if (t == "NAF") {
        ++i;
        last = 0;
        have_last = true;
      } else if (is_statement_id(t)) {
        ids.push_back(t);
        ++i;
        last = 0;
        have_last = true;
      } else {
        fail("an id, '(', ')', '->' or NAF");
      }
      depth = std::max(depth, last);
    }
  }
};

std::vector<std::string> unique_in_order(const std::vector<std::string>& ids) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& id : ids) {
    if (seen.insert(id).second) out.push_back(id);
  }
  return out;
}

// The first "..." term of a representation string: the subject of ("cow" "is" "big" "+").
std::string first_quoted(const std::string& representation) {
  size_t a = representation.find('"');
  size_t b = a == std::string::npos ? a : representation.find('"', a + 1);
  return b == std::string::npos ? std::string() : representation.substr(a + 1, b - a - 1);
}

// "The cow is big." / "Bob is big." is about `entity` (questions without a representation).
bool starts_with_entity(const std::string& sentence, const std::string& entity) {
  auto at = [&](size_t pos) {
    return sentence.compare(pos, entity.size(), entity) == 0 &&
           (sentence.size() == pos + entity.size() || sentence[pos + entity.size()] == ' ');
  };
  return at(0) || (sentence.rfind("The ", 0) == 0 && at(4));
}

// The number of a checked statement id ("triple12" -> 12; is_statement_id holds).
int64_t id_number(const std::string& id) {
  return parse_int64(id.substr(id[0] == 't' ? 6 : 4), str("statement id '", id, "'"));
}

}  // namespace

ParsedProof proofwriter_parse_proof(const std::string& proofs, const std::string& where) {
  ParsedProof out;
  std::string s = proofs;
  size_t a = s.find_first_not_of(" \t");
  s = a == std::string::npos ? "" : s.substr(a);
  if (s.rfind("[@", 0) == 0) {
    // Failure record: the ids it names, e.g. "(rule3 <- FAIL)" or "(triple2 -> (rule1 <- FAIL))".
    out.failure = true;
    ProofAlternative alt;
    size_t from = s.find("deepest failure");
    std::string tail = from == std::string::npos ? s : s.substr(from);
    for (size_t i = 0; i < tail.size();) {
      if (std::isalnum(static_cast<unsigned char>(tail[i]))) {
        size_t j = i;
        while (j < tail.size() && std::isalnum(static_cast<unsigned char>(tail[j]))) ++j;
        std::string word = tail.substr(i, j - i);
        if (is_statement_id(word)) alt.ids.push_back(word);
        i = j;
      } else {
        ++i;
      }
    }
    alt.ids = unique_in_order(alt.ids);
    out.alternatives.push_back(alt);
    return out;
  }
  std::vector<std::string> tokens = tokenize(s, where);
  ProofParser p{tokens, where, proofs};
  if (tokens.empty() || tokens[0] != "[") p.fail("'['");
  p.i = 1;
  while (true) {
    std::vector<ProofAlternative> split;
    std::vector<std::string> ids;
    int64_t depth = p.group(ids, &split);
    split.push_back({ids, depth});
    for (ProofAlternative& alt : split) {
      alt.ids = unique_in_order(alt.ids);
      out.alternatives.push_back(std::move(alt));
    }
    if (p.i < tokens.size() && tokens[p.i] == "OR") {
      ++p.i;
      continue;
    }
    if (p.i >= tokens.size() || tokens[p.i] != "]") p.fail("'OR' or ']'");
    ++p.i;
    break;
  }
  if (p.i != tokens.size()) p.fail("the end after ']'");
  return out;
}

const ProofAlternative& proofwriter_best_proof(const ParsedProof& proof) {
  size_t best = 0;
  for (size_t i = 1; i < proof.alternatives.size(); ++i) {
    if (proof.alternatives[i].depth < proof.alternatives[best].depth) best = i;
  }
  return proof.alternatives[best];
}

std::vector<Task> proofwriter_theory_to_tasks(const nlohmann::json& theory, const std::string& where,
                                              const ProofWriterOptions& options) {
  check(theory.is_object(), where, "a JSON object", theory.type_name());
  auto field = [&](const nlohmann::json& obj, const char* name, const std::string& w,
                   bool (nlohmann::json::*is)() const noexcept, const char* kind) -> const nlohmann::json& {
    auto it = obj.find(name);
    check(it != obj.end(), str(w, ": field '", name, "'"), str("present (", kind, ")"), "nothing");
    check(((*it).*is)(), str(w, ": field '", name, "'"), kind, it->dump().substr(0, 80));
    return *it;
  };
  using J = nlohmann::json;
  const std::string id = field(theory, "id", where, &J::is_string, "a string").get<std::string>();
  // Statements: id -> text, in id order (triples, then rules).
  std::map<std::string, std::string> text;
  std::map<std::string, std::string> subject;  // triple id -> its subject, from `representation`
  std::vector<std::string> order;
  for (const char* group : {"triples", "rules"}) {
    const J& items = field(theory, group, where, &J::is_object, "an object");
    std::vector<std::string> ids;
    for (auto it = items.begin(); it != items.end(); ++it) {
      const std::string w = str(where, ": ", group, ".", it.key());
      check(is_statement_id(it.key()), w, str("an id like ", group[0] == 't' ? "triple1" : "rule1"),
            str("'", it.key(), "'"));
      check(it.value().is_object(), w, "an object with 'text'", it.value().dump().substr(0, 80));
      text[it.key()] = field(it.value(), "text", w, &J::is_string, "a string").get<std::string>();
      auto rep = it.value().find("representation");
      if (group[0] == 't' && rep != it.value().end() && rep->is_string())
        subject[it.key()] = first_quoted(rep->get<std::string>());
      ids.push_back(it.key());
    }
    std::sort(ids.begin(), ids.end(),
              [](const auto& a, const auto& b) { return id_number(a) < id_number(b); });
    order.insert(order.end(), ids.begin(), ids.end());
  }
  const std::string world = id.find("CWA") != std::string::npos ? "CWA"
                            : id.find("OWA") != std::string::npos ? "OWA" : "";

  const J& questions = field(theory, "questions", where, &J::is_object, "an object");
  std::vector<Task> tasks;
  for (auto it = questions.begin(); it != questions.end(); ++it) {
    const std::string w = str(where, ": questions.", it.key());
    check(it.value().is_object(), w, "an object", it.value().dump().substr(0, 80));
    const J& q = it.value();
    Task t;
    t.guid = id + "-" + it.key();
    t.question = field(q, "question", w, &J::is_string, "a string").get<std::string>();
    auto ans = q.find("answer");
    check(ans != q.end(), str(w, ": field 'answer'"), "present (true, false or \"Unknown\")", "nothing");
    if (ans->is_boolean()) t.answer = ans->get<bool>() ? "true" : "false";
    else if (ans->is_string() && ans->get<std::string>() == "Unknown") t.answer = "unknown";
    else throw_error(str(w, ": field 'answer'"), "true, false or \"Unknown\"", ans->dump());
    const J& qdep = field(q, "QDep", w, &J::is_number_integer, "an integer");
    check(qdep.get<int64_t>() >= 0, str(w, ": field 'QDep'"), "a non-negative integer", qdep.dump());
    t.hops = qdep.get<int64_t>();
    const std::string proofs = field(q, "proofs", w, &J::is_string, "a string").get<std::string>();
    ParsedProof proof = proofwriter_parse_proof(proofs, str(w, ": field 'proofs'"));
    std::vector<std::string> relevant = proofwriter_best_proof(proof).ids;
    if (proof.failure) {
      // Evidence that nothing proves the statement: what is known about its subject (the facts
      // the failed rule conditions were checked against), then the failure chain's statements.
      std::string about;
      auto rep = q.find("representation");
      if (rep != q.end() && rep->is_string()) about = first_quoted(rep->get<std::string>());
      std::vector<std::string> with_facts;
      for (const std::string& sid : order) {
        auto su = subject.find(sid);
        if (su == subject.end() || su->second.empty()) continue;
        bool match = about.empty() ? starts_with_entity(t.question, su->second) : su->second == about;
        if (match) with_facts.push_back(sid);
      }
      for (const std::string& sid : relevant)
        if (std::find(with_facts.begin(), with_facts.end(), sid) == with_facts.end())
          with_facts.push_back(sid);
      relevant = with_facts;
    }
    const std::vector<std::string>& used = relevant;
    for (const std::string& sid : used) {
      check(text.count(sid), str(w, ": field 'proofs'"), "ids of the theory's triples and rules",
            str("'", sid, "'"));
      t.facts.push_back(text[sid]);
    }
    if (static_cast<int64_t>(t.facts.size()) < options.min_statements) continue;
    std::vector<std::string> others;
    for (const std::string& sid : order) {
      if (std::find(used.begin(), used.end(), sid) == used.end()) others.push_back(sid);
    }
    if (options.distractors >= 0 && static_cast<int64_t>(others.size()) > options.distractors) {
      DataRng rng(data_seed_mix(options.seed, t.guid));
      std::vector<size_t> pick(others.size());
      for (size_t i = 0; i < pick.size(); ++i) pick[i] = i;
      rng.shuffle(pick);
      pick.resize(static_cast<size_t>(options.distractors));
      std::sort(pick.begin(), pick.end());
      std::vector<std::string> kept;
      for (size_t i : pick) kept.push_back(others[i]);
      others = kept;
    }
    for (const std::string& sid : others) t.distractors.push_back(text[sid]);
    t.source = {{"dataset", "proofwriter"}, {"id", id}, {"question_id", it.key()},
                {"qdep", t.hops}, {"world", world}, {"proof_failure", proof.failure}};
    if (q.contains("strategy") && q["strategy"].is_string()) t.source["strategy"] = q["strategy"];
    tasks.push_back(std::move(t));
  }
  if (!options.balance) return tasks;
  // Per-theory label balance: every label resampled (without replacement) to the rarest one's
  // count; a theory without unknowns (CWA) balances true and false only. Shallow OWA theories
  // have many more unknowns than true/false questions, so unknowns are resampled too.
  std::map<std::string, std::vector<size_t>> by_label;
  for (size_t i = 0; i < tasks.size(); ++i) by_label[tasks[i].answer].push_back(i);
  const size_t n_unknown = by_label["unknown"].size();
  size_t target = std::min(by_label["true"].size(), by_label["false"].size());
  if (n_unknown > 0) target = std::min(target, n_unknown);
  DataRng rng(data_seed_mix(options.seed, id + "/balance"));
  std::vector<size_t> keep;
  for (const char* label : {"true", "false", "unknown"}) {
    std::vector<size_t>& v = by_label[label];
    rng.shuffle(v);
    if (v.size() > target) v.resize(target);
    keep.insert(keep.end(), v.begin(), v.end());
  }
  std::sort(keep.begin(), keep.end());
  std::vector<Task> balanced;
  for (size_t i : keep) balanced.push_back(std::move(tasks[i]));
  return balanced;
}

std::vector<Task> proofwriter_balance_polarity(std::vector<Task> tasks, uint64_t seed) {
  // hop -> label -> (positive, negated) task indices
  std::map<int64_t, std::map<std::string, std::array<std::vector<size_t>, 2>>> cells;
  std::set<std::string> all_labels;
  for (size_t i = 0; i < tasks.size(); ++i) {
    cells[tasks[i].hops][tasks[i].answer][question_negated(tasks[i].question) ? 1 : 0].push_back(i);
    all_labels.insert(tasks[i].answer);
  }
  std::vector<size_t> keep;
  for (auto& [hops, labels] : cells) {
    size_t target = labels.size() == all_labels.size() ? std::numeric_limits<size_t>::max() : 0;
    for (const auto& [label, by_polarity] : labels)
      target = std::min({target, by_polarity[0].size(), by_polarity[1].size()});
    if (target == 0) continue;  // some label is not asked in both polarities at this hop
    for (auto& [label, by_polarity] : labels) {
      for (int negated = 0; negated < 2; ++negated) {
        std::vector<size_t>& v = by_polarity[negated];
        DataRng rng(data_seed_mix(seed, str("polarity/", hops, "/", label, "/", negated)));
        rng.shuffle(v);
        keep.insert(keep.end(), v.begin(), v.begin() + static_cast<std::ptrdiff_t>(target));
      }
    }
  }
  std::sort(keep.begin(), keep.end());
  std::vector<Task> balanced;
  balanced.reserve(keep.size());
  for (size_t i : keep) balanced.push_back(std::move(tasks[i]));
  return balanced;
}

std::vector<Task> proofwriter_read(const std::string& path, const ProofWriterOptions& options,
                                   TaskReadReport* report) {
  std::vector<Task> tasks;
  TaskReadReport local;
  jsonl_for_each(path, options.skip_invalid, local, [&](const nlohmann::json& json, const std::string& where, int64_t) {
    std::vector<Task> theory_tasks = proofwriter_theory_to_tasks(json, where, options);
    for (auto& t : theory_tasks) tasks.push_back(std::move(t));
    return static_cast<int64_t>(theory_tasks.size());
  });
  if (report != nullptr) *report = std::move(local);
  if (options.balance_polarity) return proofwriter_balance_polarity(std::move(tasks), options.seed);
  return tasks;
}

}  // namespace reckoning
