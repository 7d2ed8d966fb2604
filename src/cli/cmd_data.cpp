// `reckoning data convert|stats` and `reckoning data generate clutrr`: thin wrappers over the data
// readers (proofwriter.h, clutrr.h, clutrr_sg.h, folio.h), the CLUTRR generator and data_stats.h.
#include <iostream>

#include "command.h"
#include "reckoning/data/clutrr/clutrr.h"
#include "reckoning/data/clutrr/clutrr_generator.h"
#include "reckoning/data/clutrr/clutrr_sg.h"
#include "reckoning/data/data_stats.h"
#include "reckoning/base/error.h"
#include "reckoning/data/folio.h"
#include "reckoning/base/io.h"
#include "reckoning/data/proofwriter/proofwriter.h"
#include "reckoning/data/task.h"
#include "reckoning/text/tokenizer.h"

namespace {

using namespace reckoning;

void print_skipped(const TaskReadReport& report) {
  if (report.skipped.empty()) return;
  std::cerr << "skipped " << report.skipped.size() << " invalid record(s):\n";
  for (const std::string& s : report.skipped) std::cerr << "  " << s << "\n";
}

const cli::RegisterCommand convert_command(
    "data convert", "Convert ProofWriter, CLUTRR, CLUTRR-SG or FOLIO files to task JSON lines", 100,
    [](CLI::App& app) -> std::function<int()> {
      struct Args {
        std::string from, in, out, distractors = "all";
        uint64_t seed = 0;
        int64_t min_statements = 2;
        bool balance = false, balance_polarity = false, letters = false, skip_invalid = false;
      };
      auto a = std::make_shared<Args>();
      app.add_option("--from", a->from, "Input format")
          ->required()
          ->check(CLI::IsMember({"proofwriter", "clutrr", "clutrr-sg", "folio"}));
      app.add_option("input", a->in, "Input file (meta-*.jsonl, CLUTRR .csv, CLUTRR-SG lines, FOLIO .jsonl)")
          ->required();
      app.add_option("--out", a->out, "Output task file (.jsonl)")->required();
      app.add_option("--distractors", a->distractors,
                     "proofwriter: distractors per question, K or 'all'")
          ->check([](const std::string& v) -> std::string {
            if (v == "all") return "";
            try {
              size_t used = 0;
              long long k = std::stoll(v, &used);
              if (used == v.size() && k >= 0) return "";
            } catch (const std::exception&) {
            }
            return "expected a non-negative integer or 'all', got '" + v + "'";
          });
      app.add_option("--seed", a->seed, "Seed for distractor sampling and balancing");
      app.add_option("--min-statements", a->min_statements,
                     "proofwriter: drop questions whose proof uses fewer statements")
          ->check(CLI::NonNegativeNumber);
      app.add_flag("--balance", a->balance,
                   "proofwriter: per theory, resample every label to the rarest one's count");
      app.add_flag("--balance-polarity", a->balance_polarity,
                   "proofwriter: over the file, per hop, resample every label x question-polarity "
                   "cell to the rarest one's count (the word 'not' then predicts nothing)");
      app.add_flag("--letters", a->letters, "clutrr, clutrr-sg: facts as letter triples \"Z C son\"");
      app.add_flag("--skip-invalid", a->skip_invalid,
                   "Skip malformed records (listed on stderr) instead of failing");
      return [a] {
        std::vector<Task> tasks;
        TaskReadReport report;
        if (a->from == "proofwriter") {
          ProofWriterOptions o;
          o.distractors = a->distractors == "all" ? -1 : std::stoll(a->distractors);
          o.seed = a->seed;
          o.balance = a->balance;
          o.balance_polarity = a->balance_polarity;
          o.min_statements = a->min_statements;
          o.skip_invalid = a->skip_invalid;
          tasks = proofwriter_read(a->in, o, &report);
        } else if (a->from == "clutrr") {
          ClutrrReadOptions o;
          o.skip_invalid = a->skip_invalid;
          ClutrrConvertOptions c;
          c.letters = a->letters;
          size_t noise = 0, unread = 0;
          for (const ClutrrRow& row : clutrr_read(a->in, o, &report)) {
            tasks.push_back(clutrr_to_task(row, c));
            noise += tasks.back().distractors.size();
            unread += row.unread_noise.size();
          }
          if (noise + unread > 0) {
            std::cout << "noise facts: " << noise << " read from their story sentences (distractors), "
                      << unread << " left out (their sentence does not determine the relation; "
                      << "listed in source.noise_unread)\n";
          }
        } else if (a->from == "clutrr-sg") {
          TaskReadOptions o;
          o.skip_invalid = a->skip_invalid;
          for (const auto& ex : clutrr_sg_read(a->in, o, &report)) {
            tasks.push_back(clutrr_sg_to_task(ex, a->letters));
          }
        } else {
          TaskReadOptions o;
          o.skip_invalid = a->skip_invalid;
          tasks = folio_read(a->in, o, &report);
        }
        print_skipped(report);
        tasks_save(a->out, tasks);
        std::cout << "wrote " << tasks.size() << " tasks to " << a->out << "\n";
        return 0;
      };
    });

std::string join_lines(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

const cli::RegisterCommand generate_clutrr_command(
    "data generate clutrr", "Generate CLUTRR-style kinship puzzles (family-tree simulation)", 120,
    [](CLI::App& app) -> std::function<int()> {
      struct Args {
        std::vector<int64_t> hops{2, 4, 6}, test_hops;
        int64_t per_hop = 1000, valid_per_hop = 100, test_per_hop = 100, noise_count = 1;
        int32_t generations = 0, max_children = 3;
        std::string noise = "none", style = "names", out, out_dir, format = "jsonl";
        uint64_t seed = 0;
      };
      auto a = std::make_shared<Args>();
      app.add_option("--hops", a->hops, "Chain lengths (comma-separated)")
          ->delimiter(',')
          ->check(CLI::Range(1, 20))
          ->capture_default_str();
      app.add_option("--per-hop", a->per_hop, "Problems per chain length (train split with --out-dir)")
          ->check(CLI::NonNegativeNumber)
          ->capture_default_str();
      app.add_option("--noise", a->noise, "Distractor type")
          ->check(CLI::IsMember({"none", "supporting", "irrelevant", "disconnected"}))
          ->capture_default_str();
      app.add_option("--noise-count", a->noise_count, "Noise units per problem")
          ->check(CLI::Range(1, 5));
      app.add_option("--style", a->style, "names: sentences with names; letters: \"Z C son\"")
          ->check(CLI::IsMember({"names", "letters"}))
          ->capture_default_str();
      app.add_option("--format", a->format, "Output format (clutrr-sg: the CLUTRR-SG line format)")
          ->check(CLI::IsMember({"jsonl", "clutrr-sg"}))
          ->capture_default_str();
      app.add_option("--seed", a->seed, "Seed")->capture_default_str();
      app.add_option("--generations", a->generations, "Family generations (0: 3 up to 4 hops, else 4)")
          ->check(CLI::Range(0, 6));
      app.add_option("--max-children", a->max_children, "Children per couple, at most")
          ->check(CLI::Range(1, 6));
      auto* out = app.add_option("--out", a->out, "Output file");
      auto* dir = app.add_option("--out-dir", a->out_dir,
                                 "Write train.jsonl, valid.jsonl, test.jsonl (train/valid on --hops, "
                                 "test on --test-hops)");
      out->excludes(dir);
      app.add_option("--test-hops", a->test_hops, "Test chain lengths with --out-dir (default: 2..10)")
          ->delimiter(',')
          ->check(CLI::Range(1, 20));
      app.add_option("--valid-per-hop", a->valid_per_hop, "Validation problems per chain length")
          ->check(CLI::NonNegativeNumber);
      app.add_option("--test-per-hop", a->test_per_hop, "Test problems per chain length")
          ->check(CLI::NonNegativeNumber);
      return [a, out, dir] {
        ClutrrGeneratorOptions options;
        options.noise = clutrr_noise_parse(a->noise);
        options.noise_count = a->noise_count;
        options.letters = a->style == "letters";
        options.family.generations = a->generations;
        options.family.max_children = a->max_children;
        if (dir->count() > 0) {
          check(a->format == "jsonl", "--format", "jsonl with --out-dir", a->format);
          ClutrrSplitRequest r;
          r.train_hops = a->hops;
          if (!a->test_hops.empty()) r.test_hops = a->test_hops;
          r.train_per_hop = a->per_hop;
          r.valid_per_hop = a->valid_per_hop;
          r.test_per_hop = a->test_per_hop;
          r.seed = a->seed;
          r.options = options;
          ClutrrSplits s = clutrr_generate_splits(r);
          tasks_save(path_join(a->out_dir, "train.jsonl"), s.train);
          tasks_save(path_join(a->out_dir, "valid.jsonl"), s.valid);
          tasks_save(path_join(a->out_dir, "test.jsonl"), s.test);
          std::cout << "wrote " << s.train.size() << " train, " << s.valid.size() << " valid, "
                    << s.test.size() << " test tasks to " << a->out_dir << "\n";
          return 0;
        }
        check(out->count() > 0, "data generate clutrr", "--out FILE or --out-dir DIR", "neither");
        ClutrrGenerateRequest r;
        r.hops = a->hops;
        r.per_hop = a->per_hop;
        r.seed = a->seed;
        r.options = options;
        r.sg_format = a->format == "clutrr-sg";
        ClutrrGenerated g = clutrr_generate(r);
        if (r.sg_format) write_file_atomic(a->out, join_lines(g.sg_lines));
        else tasks_save(a->out, g.tasks);
        std::cout << "wrote " << g.tasks.size() << " problems to " << a->out << "\n";
        return 0;
      };
    });

const cli::RegisterCommand stats_command(
    "data stats", "Statistics of a task file: per hop, labels, facts, distractors, tokens", 140,
    [](CLI::App& app) -> std::function<int()> {
      struct Args {
        std::string in, tokenizer;
        bool json = false, skip_invalid = false;
      };
      auto a = std::make_shared<Args>();
      app.add_option("input", a->in, "Task file (.jsonl)")->required();
      app.add_option("--tokenizer", a->tokenizer,
                     "Model or tokenizer directory: count tokens per fact with its tokenizer "
                     "(default: whitespace-separated words)");
      app.add_flag("--json", a->json, "Print JSON instead of a table");
      app.add_flag("--skip-invalid", a->skip_invalid, "Skip malformed records (listed on stderr)");
      return [a] {
        TaskReadOptions o;
        o.skip_invalid = a->skip_invalid;
        TaskReadReport report;
        std::vector<Task> tasks = tasks_load(a->in, o, &report);
        print_skipped(report);
        DataStats s;
        if (a->tokenizer.empty()) {
          s = data_stats(tasks);
        } else {
          std::shared_ptr<Tokenizer> tokenizer = tokenizer_load(a->tokenizer);
          s = data_stats(
              tasks, [tokenizer](const std::string& text) { return tokenizer->encode(text).size(); },
              tokenizer->kind() + " (" + a->tokenizer + ")");
        }
        if (a->json) std::cout << data_stats_to_json(s).dump(2) << "\n";
        else std::cout << data_stats_format(s);
        return 0;
      };
    });

}  // namespace
