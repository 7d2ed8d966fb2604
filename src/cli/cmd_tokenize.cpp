// `reckoning tokenize` (JSON lines text <-> ids with a model directory's tokenizer) and
// `reckoning tokenizer build` (a word tokenizer from a corpus). Argument parsing only; the
// behaviour is in tokenizer.h / word_tokenizer.h.
#include <iostream>
#include <string>

#include <nlohmann/json.hpp>

#include "command.h"
#include "reckoning/base/error.h"
#include "reckoning/text/tokenizer.h"
#include "reckoning/text/word_tokenizer.h"

namespace {

using reckoning::check;
using reckoning::str;

// Reads JSON lines from stdin, writes one JSON line per input line; errors name "stdin:N".
int run_tokenize(const std::string& dir, bool decode) {
  std::unique_ptr<reckoning::Tokenizer> tokenizer = reckoning::tokenizer_load(dir);
  const char* field = decode ? "ids" : "text";
  std::string line;
  for (int64_t line_no = 1; std::getline(std::cin, line); ++line_no) {
    std::string where = str("stdin:", line_no);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      reckoning::throw_error(where, "a JSON object", str("invalid JSON (", e.what(), ")"));
    }
    check(record.is_object(), where, str("a JSON object with a field '", field, "'"),
          record.dump().substr(0, 60));
    std::string at = str(where, ": field '", field, "'");
    check(record.contains(field), at, decode ? "an array of integers" : "a string", "none");
    const nlohmann::json& value = record[field];
    nlohmann::json out;
    if (decode) {
      check(value.is_array(), at, "an array of integers", value.dump().substr(0, 60));
      std::vector<int64_t> ids;
      for (const nlohmann::json& id : value) {
        check(id.is_number_integer(), at, "an array of integers",
              str("an array holding ", id.dump().substr(0, 60)));
        ids.push_back(id.get<int64_t>());
      }
      try {
        out["text"] = tokenizer->decode(ids);
      } catch (const reckoning::Error& e) {
        throw reckoning::Error(str(at, ": ", e.what()));
      }
    } else {
      check(value.is_string(), at, "a string", value.dump().substr(0, 60));
      out["ids"] = tokenizer->encode(value.get<std::string>());
    }
    // Ids that cut a UTF-8 character decode to partial bytes; JSON output shows them as U+FFFD.
    std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  }
  std::cout.flush();
  return 0;
}

const reckoning::cli::RegisterCommand tokenize(
    "tokenize",
    "Encode JSON lines {\"text\": ...} from stdin to {\"ids\": [...]} (or --decode the reverse) "
    "with a model directory's tokenizer",
    200, [](CLI::App& app) -> std::function<int()> {
      auto dir = std::make_shared<std::string>();
      auto decode = std::make_shared<bool>(false);
      app.add_option("--tokenizer", *dir,
                     "Model directory holding the tokenizer (vocab.json+merges.txt, "
                     "tokenizer.json, encoder.json+vocab.bpe or word_tokenizer.json)")
          ->required()
          ->check(CLI::ExistingDirectory);
      app.add_flag("--decode", *decode, "Read {\"ids\": [...]} lines, write {\"text\": ...}");
      return [dir, decode] { return run_tokenize(*dir, *decode); };
    });

const reckoning::cli::RegisterCommand tokenizer_build(
    "tokenizer build",
    "Build a word tokenizer (whole GPT-2 pre-tokens + byte fallback) from a corpus into a model "
    "directory",
    201, [](CLI::App& app) -> std::function<int()> {
      struct Options {
        std::string corpus, out;
        std::vector<std::string> fields{"text"};
        int64_t min_count = 1;
        int64_t max_size = 0;
      };
      auto o = std::make_shared<Options>();
      app.add_option("--corpus", o->corpus,
                     "Corpus: JSON lines (.jsonl/.json) or plain text, one text per line")
          ->required()
          ->check(CLI::ExistingFile);
      app.add_option("--out", o->out, "Model directory to write word_tokenizer.json into")->required();
      app.add_option("--field", o->fields,
                     "JSON-lines field(s) holding a string or an array of strings (default: text)")
          ->take_all();
      app.add_option("--min-count", o->min_count, "Keep words seen at least this often")
          ->check(CLI::PositiveNumber);
      app.add_option("--max-size", o->max_size,
                     "Largest vocabulary size, 256 bytes + EOS included (0 = no limit)")
          ->check(CLI::NonNegativeNumber);
      return [o] {
        std::vector<std::string> corpus = reckoning::word_tokenizer_read_corpus(o->corpus, o->fields);
        auto tokenizer = reckoning::word_tokenizer_build(corpus, o->min_count, o->max_size);
        tokenizer->save(o->out);
        nlohmann::json summary = {{"out", o->out},
                                  {"texts", corpus.size()},
                                  {"words", tokenizer->words().size()},
                                  {"vocab_size", tokenizer->vocab_size()},
                                  {"eos_id", tokenizer->eos_id()}};
        std::cout << summary.dump() << "\n";
        return 0;
      };
    });

}  // namespace
