// CLUTRR v1 CSV reader and converter; see clutrr.h.
#include "reckoning/data/clutrr/clutrr.h"

#include <map>
#include <set>
#include <tuple>

#include "reckoning/base/csv.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/python_literal.h"
#include "reckoning/data/clutrr/clutrr_noise.h"
#include "reckoning/base/text.h"

namespace reckoning {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

struct Columns {
  size_t id, story, query, target, task_name, f_comb, story_edges, edge_types, genders;
  long proof_state = -1, clean_story = -1;
};

long optional_column(const CsvRecord& header, const std::string& name) {
  for (size_t i = 0; i < header.fields.size(); ++i) {
    if (header.fields[i] == name) return static_cast<long>(i);
  }
  return -1;
}

ClutrrRow parse_row(const CsvRecord& rec, const Columns& c, size_t n_columns,
                    const std::string& path) {
  ClutrrRow row;
  row.where = str(path, ":", rec.line);
  check(rec.fields.size() == n_columns, row.where, str(n_columns, " fields (as in the header)"),
        str(rec.fields.size(), " fields"));
  auto where = [&](const char* column) { return str(row.where, ": field '", column, "'"); };
  row.id = rec.fields[c.id];
  check(!row.id.empty(), where("id"), "a non-empty id", "\"\"");
  row.story = rec.fields[c.story];
  row.clean_story = c.clean_story >= 0 ? rec.fields[c.clean_story] : std::string();
  row.target = rec.fields[c.target];
  check(kin_word_parse(row.target).has_value(), where("target"),
        "one of the 22 relation words (son, daughter, ...)", str("'", row.target, "'"));
  row.task_name = rec.fields[c.task_name];
  row.f_comb = rec.fields[c.f_comb];

  // genders: "Jenny:female,Anne:female" -> node i = i-th name.
  std::map<std::string, int64_t> index;
  for (const std::string& item : split(rec.fields[c.genders], ',')) {
    std::vector<std::string> parts = split(item, ':');
    check(parts.size() == 2 && !trim(parts[0]).empty(), where("genders"),
          "comma-separated Name:male|female", str("'", item, "'"));
    auto g = gender_from_name(trim(parts[1]));
    check(g.has_value(), where("genders"), "gender male or female",
          str("'", parts[1], "' for ", parts[0]));
    const std::string name = trim(parts[0]);
    check(!index.count(name), where("genders"), "distinct names", str("'", name, "' twice"));
    index[name] = static_cast<int64_t>(row.names.size());
    row.names.push_back(name);
    row.genders.push_back(*g);
  }

  PyValue query = py_literal_parse(rec.fields[c.query], where("query"));
  const auto& q = py_as_sequence(query, 2, where("query"));
  row.query_from = py_as_string(q[0], where("query"));
  row.query_to = py_as_string(q[1], where("query"));
  for (const std::string* name : {&row.query_from, &row.query_to}) {
    check(index.count(*name), where("query"), "names listed in 'genders'", str("'", *name, "'"));
  }

  PyValue edges = py_literal_parse(rec.fields[c.story_edges], where("story_edges"));
  PyValue types = py_literal_parse(rec.fields[c.edge_types], where("edge_types"));
  const auto& edge_items = py_as_sequence(edges, -1, where("story_edges"));
  const auto& type_items = py_as_sequence(types, -1, where("edge_types"));
  // The noisy sets (tasks 2.x-4.x) type only the chain: the first edge_types.size() edges; the
  // rest are noise edges whose relation is read from the story (clutrr_noise.h).
  check(type_items.size() <= edge_items.size(), where("edge_types"),
        str("at most ", edge_items.size(), " types (one per story edge)"), str(type_items.size()));
  check(!type_items.empty(), where("edge_types"), "at least one type (the chain's)", "[]");
  check(!edge_items.empty(), where("story_edges"), "at least one edge", "[]");
  for (size_t i = 0; i < edge_items.size(); ++i) {
    const std::string w = str(row.where, ": field 'story_edges[", i, "]'");
    const auto& pair = py_as_sequence(edge_items[i], 2, w);
    ClutrrEdge e;
    e.from = py_as_int(pair[0], w);
    e.to = py_as_int(pair[1], w);
    const int64_t n = static_cast<int64_t>(row.names.size());
    check(e.from >= 0 && e.from < n && e.to >= 0 && e.to < n, w,
          str("node indices in [0, ", n, ") (the names in 'genders')"),
          str("(", e.from, ", ", e.to, ")"));
    if (i >= type_items.size()) {
      StatedRelation stated = clutrr_stated_relation(row.story, row.names[e.from], row.genders[e.from],
                                                     row.names[e.to], row.genders[e.to]);
      if (!stated.word) {
        row.unread_noise.push_back(
            str(row.names[e.from], " -> ", row.names[e.to], ": ", stated.reason));
        continue;
      }
      e.word = *stated.word;
      e.chain = false;
      row.edges.push_back(e);
      continue;
    }
    const std::string tw = str(row.where, ": field 'edge_types[", i, "]'");
    e.word = py_as_string(type_items[i], tw);
    check(kin_word_parse(e.word).has_value(), tw, "one of the 22 relation words",
          str("'", e.word, "'"));
    row.edges.push_back(e);
  }

  // The proof's leaves are the chain; the other story edges are noise.
  if (c.proof_state >= 0 && !trim(rec.fields[c.proof_state]).empty()) {
    PyValue proof = py_literal_parse(rec.fields[c.proof_state], where("proof_state"));
    using Triple = std::tuple<std::string, std::string, std::string>;
    auto triple = [&](const PyValue& v) {
      const auto& t = py_as_sequence(v, 3, where("proof_state"));
      return Triple{py_as_string(t[0], where("proof_state")), py_as_string(t[1], where("proof_state")),
                    py_as_string(t[2], where("proof_state"))};
    };
    std::set<Triple> derived;
    std::vector<Triple> used;
    for (const PyValue& step : py_as_sequence(proof, -1, where("proof_state"))) {
      check(step.kind == PyValue::Kind::dict, where("proof_state"),
            "a list of dicts {triple: [triples]}", py_kind_name(step.kind));
      for (const auto& [key, body] : step.entries) {
        derived.insert(triple(key));
        for (const PyValue& t : py_as_sequence(body, -1, where("proof_state"))) used.push_back(triple(t));
      }
    }
    if (!used.empty()) {
      for (auto& e : row.edges) e.chain = false;
      for (const Triple& t : used) {
        if (derived.count(t)) continue;
        bool found = false;
        for (auto& e : row.edges) {
          if (row.names[e.from] == std::get<0>(t) && e.word == std::get<1>(t) &&
              row.names[e.to] == std::get<2>(t)) {
            e.chain = found = true;
          }
        }
        check(found, where("proof_state"), "proof leaves that are story edges",
              str("(", std::get<0>(t), ", ", std::get<1>(t), ", ", std::get<2>(t), ")"));
      }
    }
  }
  return row;
}

}  // namespace

std::vector<ClutrrRow> clutrr_read(const std::string& path, const ClutrrReadOptions& options,
                                   TaskReadReport* report) {
  std::vector<CsvRecord> records = csv_parse(read_file(path), path);
  check(!records.empty(), path, "a CSV header line", "an empty file");
  const CsvRecord& header = records[0];
  Columns c{};
  c.id = csv_column(header, "id", path);
  c.story = csv_column(header, "story", path);
  c.query = csv_column(header, "query", path);
  c.target = csv_column(header, "target", path);
  c.task_name = csv_column(header, "task_name", path);
  c.f_comb = csv_column(header, "f_comb", path);
  c.story_edges = csv_column(header, "story_edges", path);
  c.edge_types = csv_column(header, "edge_types", path);
  c.genders = csv_column(header, "genders", path);
  c.proof_state = optional_column(header, "proof_state");
  c.clean_story = optional_column(header, "clean_story");

  std::vector<ClutrrRow> rows;
  TaskReadReport local;
  for (size_t i = 1; i < records.size(); ++i) {
    try {
      rows.push_back(parse_row(records[i], c, header.fields.size(), path));
      ++local.read;
    } catch (const Error& e) {
      if (!options.skip_invalid) throw;
      local.skipped.push_back(e.what());
    }
  }
  if (report != nullptr) *report = std::move(local);
  return rows;
}

std::string clutrr_noise_type(const std::string& task_name) {
  if (task_name.rfind("task_", 0) == 0 && task_name.size() > 5) {
    switch (task_name[5]) {
      case '1': return "none";
      case '2': return "supporting";
      case '3': return "irrelevant";
      case '4': return "disconnected";
    }
  }
  return "unknown";
}

std::string clutrr_entity_letter(int64_t n, const std::string& where) {
  static const char* letters = "ABCDHJKLMNOPQRSTVXYZ";
  check(n >= 1 && n <= 20, where, "an entity number in 1..20 (20 letters)", std::to_string(n));
  return std::string(1, letters[n - 1]);
}

Task clutrr_to_task(const ClutrrRow& row, const ClutrrConvertOptions& options) {
  auto name = [&](int64_t node) {
    return options.letters ? clutrr_entity_letter(node + 1, row.where + ": field 'genders'")
                           : row.names[node];
  };
  auto name_of = [&](const std::string& person) {
    for (size_t i = 0; i < row.names.size(); ++i) {
      if (row.names[i] == person) return name(static_cast<int64_t>(i));
    }
    return person;
  };
  Task t;
  t.guid = "clutrr-" + row.id;
  for (const ClutrrEdge& e : row.edges) {
    std::string fact = options.letters ? str(name(e.to), " ", name(e.from), " ", e.word)
                                       : str(name(e.to), " is ", name(e.from), "'s ", e.word, ".");
    (e.chain ? t.facts : t.distractors).push_back(fact);
    if (e.chain) ++t.hops;
  }
  t.question = str("How are ", name_of(row.query_from), " and ", name_of(row.query_to),
                   " related to each other ?");
  t.answer = row.target;
  t.source = {{"dataset", "clutrr"},
              {"id", row.id},
              {"task_name", row.task_name},
              {"f_comb", row.f_comb},
              {"noise", clutrr_noise_type(row.task_name)},
              {"story", row.story}};
  if (options.letters) t.source["letters"] = true;
  if (!row.unread_noise.empty()) t.source["noise_unread"] = row.unread_noise;
  return t;
}

}  // namespace reckoning
