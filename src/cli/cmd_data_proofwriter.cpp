// `reckoning data generate proofwriter` (synthetic ProofWriter theories and questions) and
// `reckoning data prove` (label a question about an English theory, one-off or JSON-lines batch).
// Argument parsing only; the behaviour is in proofwriter_generator.h / proofwriter_english.h.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/data/proofwriter/proofwriter_english.h"
#include "reckoning/data/proofwriter/proofwriter_generator.h"

namespace {

using namespace reckoning;

const cli::RegisterCommand generate(
    "data generate proofwriter",
    "Generate ProofWriter-style theories and questions (RuleTaker vocabulary, CWA or OWA)", 110,
    [](CLI::App& app) -> std::function<int()> {
      auto o = std::make_shared<ProofwriterOptions>();
      auto world = std::make_shared<std::string>("owa");
      auto kind = std::make_shared<std::string>("both");
      auto out = std::make_shared<std::string>();
      auto format = std::make_shared<std::string>("canonical");
      auto distractors = std::make_shared<std::string>("all");
      app.add_option("--depth", o->depth, "Depth D: questions at depths 0..D (default 2)")
          ->check(CLI::Range(0, 10));
      app.add_option("--theories", o->theories, "Number of theories (default 10)")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--world", *world, "owa or cwa (default owa)")
          ->check(CLI::IsMember({"owa", "cwa", "OWA", "CWA"}));
      app.add_option("--kind", *kind, "attribute, relation or both (default both)")
          ->check(CLI::IsMember({"attribute", "relation", "both"}));
      app.add_flag("--negation,!--no-negation", o->negation, "Negated conditions (and, under OWA, "
                   "negative facts and conclusions); default on");
      app.add_option("--seed", o->seed, "Random seed (default 0)");
      app.add_option("--max-facts", o->max_facts, "Facts per theory at most (default 16)")
          ->check(CLI::Range(1, 64));
      app.add_option("--max-rules", o->max_rules, "Rules per theory at most (default 8)")
          ->check(CLI::Range(1, 64));
      app.add_option("--questions", o->questions, "Questions per theory at most (default 18)")
          ->check(CLI::Range(0, 1000));
      app.add_option("--plant-from", o->plant_min_depth,
                     "Plant a depth-D rule chain in sampled theories from this D on (default 4; "
                     "larger than --depth: plain rejection sampling)")
          ->check(CLI::Range(1, 1000));
      app.add_option("--out", *out, "Output JSON-lines file")->required();
      app.add_option("--format", *format, "canonical (Task records, every question as asked) or meta (release records; for "
                     "training data convert them with data convert --balance-polarity)")
          ->check(CLI::IsMember({"canonical", "meta"}));
      app.add_option("--distractors", *distractors, "Distractors per canonical task: K or all")
          ->check([](const std::string& v) -> std::string {
            if (v == "all") return "";
            try {
              size_t used = 0;
              int k = std::stoi(v, &used);
              if (used == v.size() && k >= 0) return "";
            } catch (const std::exception&) {
            }
            return "expected a non-negative integer or 'all', got '" + v + "'";
          });
      return [=] {
        o->world = world_parse(*world, "--world");
        o->kind = theory_kind_parse(*kind, "--kind");
        std::vector<ProofwriterProblem> problems = proofwriter_generate(*o);
        int k = *distractors == "all" ? -1 : std::stoi(*distractors);
        proofwriter_save(*out, problems, *format, k, o->seed);
        size_t questions = 0;
        for (const auto& p : problems) questions += p.questions.size();
        std::cerr << "wrote " << problems.size() << " theories, " << questions << " questions to "
                  << *out << "\n";
        return 0;
      };
    });

const cli::RegisterCommand prove(
    "data prove", "Answer a question about a ProofWriter English theory (true/false/unknown + proof)",
    120, [](CLI::App& app) -> std::function<int()> {
      auto theory = std::make_shared<std::string>();
      auto question = std::make_shared<std::string>();
      auto cwa = std::make_shared<bool>(false);
      auto batch = std::make_shared<bool>(false);
      app.add_option("--theory", *theory, "Text file with the theory in ProofWriter English");
      app.add_option("--question", *question, "The statement to label, e.g. 'The cow is big.'");
      auto owa_flag = app.add_flag("--owa", "Open world (default)");
      app.add_flag("--cwa", *cwa, "Closed world (negation as failure)")->excludes(owa_flag);
      app.add_flag("--batch", *batch,
                   "Read {\"theory\": ..., \"question\": ...[, \"world\": ...]} JSON lines on stdin, "
                   "write {\"answer\", \"depth\", \"proof\"} lines");
      return [=]() -> int {
        World world = *cwa ? World::closed : World::open;
        if (*batch) {
          std::string line;
          for (int64_t n = 1; std::getline(std::cin, line); ++n) {
            if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
            std::string where = str("stdin:", n);
            nlohmann::json request = nlohmann::json::parse(line, nullptr, false);
            nlohmann::json reply = request.is_discarded()
                                       ? nlohmann::json{{"error", where + ": expected a JSON object, got invalid JSON"}}
                                       : english_answer_json(request, world, where);
            std::cout << reply.dump() << "\n";
          }
          return 0;
        }
        if (theory->empty() || question->empty()) {
          std::cerr << "data prove: --theory and --question are required (or --batch)\n";
          return 2;
        }
        Verdict v = english_answer(read_file(*theory), *question, world, *theory);
        std::cout << v.answer << "\ndepth: " << v.depth << "\nproof: " << v.proof << "\n";
        return 0;
      };
    });

}  // namespace
