// CLUTRR-SG reader; see clutrr_sg.h.
#include "reckoning/data/clutrr/clutrr_sg.h"

#include <regex>
#include <sstream>

#include "reckoning/data/clutrr/clutrr.h"
#include "reckoning/base/error.h"
#include "reckoning/base/numbers.h"
#include "reckoning/base/io.h"
#include "reckoning/data/clutrr/kinship.h"
#include "reckoning/base/text.h"

namespace reckoning {

namespace {

std::string strip_period(std::string s) {
  s = trim(s);
  if (!s.empty() && (s.back() == '.' || s.back() == '?')) s = trim(s.substr(0, s.size() - 1));
  return s;
}

// Parses an edge sentence; false if it has none of the known forms. `where` names it in errors.
bool parse_edge(const std::string& sentence, ClutrrSgEdge* edge, const std::string& where) {
  auto id = [&](const std::ssub_match& digits) { return parse_int64(digits.str(), str(where, ": entity number")); };
  static const std::regex a_to(R"(^ent_(\d+) is an? ([a-z-]+) to ent_(\d+)$)");
  static const std::regex the_of(R"(^ent_(\d+) is the ([a-z-]+) of ent_(\d+)$)");
  static const std::regex poss(R"(^ent_(\d+) is ent_(\d+) ?'s ([a-z-]+)$)");
  static const std::regex poss_first(R"(^ent_(\d+) ?'s ([a-z-]+) is ent_(\d+)$)");
  std::smatch m;
  if (std::regex_match(sentence, m, a_to) || std::regex_match(sentence, m, the_of)) {
    *edge = {id(m[3]), id(m[1]), m[2]};
  } else if (std::regex_match(sentence, m, poss)) {
    *edge = {id(m[2]), id(m[1]), m[3]};
  } else if (std::regex_match(sentence, m, poss_first)) {
    *edge = {id(m[1]), id(m[3]), m[2]};
  } else {
    return false;
  }
  return true;
}

const char* kForms =
    "'ent_a is a W to ent_b', 'ent_a is the W of ent_b', 'ent_a is ent_b 's W' or "
    "'ent_b 's W is ent_a' with W a relation word";

}  // namespace

ClutrrSgExample clutrr_sg_parse_line(const std::string& line, const std::string& where) {
  ClutrrSgExample ex;
  ex.where = where;
  const char* markers[] = {"<STORY>", "<QUERY>", "<PROOF>", "<ANSWER>"};
  size_t pos[4];
  for (int i = 0; i < 4; ++i) {
    pos[i] = line.find(markers[i]);
    check(pos[i] != std::string::npos, where, str("the marker ", markers[i]),
          str("a line without it: '", line.substr(0, 60), "'"));
    if (i > 0 && pos[i] < pos[i - 1]) {
      throw_error(where, "the markers in the order <STORY> <QUERY> <PROOF> <ANSWER>",
                  str(markers[i], " before ", markers[i - 1]));
    }
  }
  auto section = [&](int i) {
    size_t start = pos[i] + std::string(markers[i]).size();
    size_t end = i < 3 ? pos[i + 1] : line.size();
    return trim(line.substr(start, end - start));
  };
  const std::string story = section(0), query = section(1);
  ex.proof = section(2);
  const std::string answer = section(3);

  // Sentences end with " ." (the release's tokenised style).
  std::string rest = story;
  while (!trim(rest).empty()) {
    size_t end = rest.find(" .");
    std::string sentence = trim(rest.substr(0, end));
    rest = end == std::string::npos ? "" : rest.substr(end + 2);
    if (sentence.empty()) continue;
    ClutrrSgEdge edge;
    check(parse_edge(sentence, &edge, str(where, ": <STORY> sentence ", ex.sentences.size() + 1)),
          str(where, ": <STORY> sentence ", ex.sentences.size() + 1),
          kForms, str("'", sentence, "'"));
    check(kin_word_parse(edge.word).has_value(),
          str(where, ": <STORY> sentence ", ex.sentences.size() + 1), "one of the 22 relation words",
          str("'", edge.word, "'"));
    ex.sentences.push_back(sentence);
    ex.edges.push_back(edge);
  }
  check(!ex.edges.empty(), str(where, ": <STORY>"), "at least one sentence", "none");

  static const std::regex query_re(R"(^How are ent_(\d+) and ent_(\d+) related to each other ?\??$)");
  std::smatch m;
  const std::string q = trim(query);
  check(std::regex_match(q, m, query_re), str(where, ": <QUERY>"),
        "'How are ent_a and ent_b related to each other ?'", str("'", q, "'"));
  ex.query_from = parse_int64(m[1].str(), str(where, ": <QUERY>: entity number"));
  ex.query_to = parse_int64(m[2].str(), str(where, ": <QUERY>: entity number"));

  const std::string a = strip_period(answer);
  ClutrrSgEdge edge;
  if (kin_word_parse(a)) {
    ex.answer = a;
  } else {
    check(parse_edge(a, &edge, str(where, ": <ANSWER>")), str(where, ": <ANSWER>"), str("a relation word or ", kForms),
          str("'", a, "'"));
    check(kin_word_parse(edge.word).has_value(), str(where, ": <ANSWER>"),
          "one of the 22 relation words", str("'", edge.word, "'"));
    check(edge.from == ex.query_from && edge.to == ex.query_to, str(where, ": <ANSWER>"),
          str("the relation of ent_", ex.query_to, " to ent_", ex.query_from, " (the query)"),
          str("'", a, "'"));
    ex.answer = edge.word;
  }
  return ex;
}

std::vector<ClutrrSgExample> clutrr_sg_read(const std::string& path, const TaskReadOptions& options,
                                            TaskReadReport* report) {
  std::istringstream in(read_file(path));
  std::vector<ClutrrSgExample> out;
  TaskReadReport local;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (trim(line).empty()) continue;
    try {
      out.push_back(clutrr_sg_parse_line(line, str(path, ":", number)));
      ++local.read;
    } catch (const Error& e) {
      if (!options.skip_invalid) throw;
      local.skipped.push_back(e.what());
    }
  }
  if (report != nullptr) *report = std::move(local);
  return out;
}

Task clutrr_sg_to_task(const ClutrrSgExample& ex, bool letters) {
  auto name = [&](int64_t n) {
    return letters ? clutrr_entity_letter(n, ex.where + ": entity") : str("ent_", n);
  };
  Task t;
  // guid: "clutrr-sg-<file name>:<line>" (the directory is not part of an example's identity).
  const size_t slash = ex.where.find_last_of('/');
  t.guid = "clutrr-sg-" + (slash == std::string::npos ? ex.where : ex.where.substr(slash + 1));
  for (size_t i = 0; i < ex.edges.size(); ++i) {
    const ClutrrSgEdge& e = ex.edges[i];
    t.facts.push_back(letters ? str(name(e.to), " ", name(e.from), " ", e.word)
                              : ex.sentences[i] + " .");
  }
  t.question = str("How are ", name(ex.query_from), " and ", name(ex.query_to),
                   " related to each other ?");
  t.answer = ex.answer;
  t.hops = static_cast<int64_t>(ex.edges.size());
  t.source = {{"dataset", "clutrr-sg"}, {"where", ex.where}, {"proof", ex.proof}};
  return t;
}

std::string clutrr_sg_format(const ClutrrSgExample& ex) {
  std::string out = "<STORY>";
  for (const std::string& s : ex.sentences) out += " " + s + " .";
  out += str(" <QUERY> How are ent_", ex.query_from, " and ent_", ex.query_to,
             " related to each other ? <PROOF> ", ex.proof, " <ANSWER> ent_", ex.query_to,
             " is the ", ex.answer, " of ent_", ex.query_from, " .");
  return out;
}

}  // namespace reckoning
