// `reckoning answer`: encode knowledge once, answer many questions (answer.h).
#include <iostream>

#include <unistd.h>

#include "command.h"
#include "reckoning/eval/answer.h"
#include "reckoning/base/error.h"

namespace {

using namespace reckoning;

struct AnswerArgs {
  std::string model, facts, knowledge, save_knowledge, dataset, sets;
  int64_t batch_tasks = 8;
  std::vector<std::string> questions;
  bool interactive = false, json = false, merge = false;
  int64_t beams = 1, max_new_tokens = 48;
  std::string device;  // empty: the model's
  std::string labels;
  bool labels_given = false;  // else the model's eval.labels
};

int run_answer(const AnswerArgs& a) {
  ReckoningModel model = reckoning_model_load(a.model);
  fit_default_threads(model.config);
  if (!a.device.empty()) model.run.device = device_from_name(a.device, "--device");
  reckoning_model_to(model, model.device());
  const MatmulDtypeScope matmul_scope(model.matmul_dtype());
  const int given = !a.facts.empty() + !a.knowledge.empty() + !a.sets.empty();
  check(given == 1, "reckoning answer", "exactly one of --facts, --knowledge and --sets",
        given == 0 ? "none" : "several");
  GenerateOptions options;
  options.num_beams = a.beams;
  options.max_new_tokens = a.max_new_tokens;
  const std::string label_spec = a.labels_given ? (a.labels == "none" ? "" : a.labels) : model.run.eval_labels;
  check(label_spec != "auto", "--labels", "a comma-separated list ('auto' is resolved when a model trains)", "'auto'");
  const std::vector<std::string> labels = labels_resolve(label_spec, {}, {}, "--labels");
  // One answer as printed: the label or generated text, or a JSON line (with `set` when given).
  auto print = [&](const std::string& q, const SetAnswer& answer, const std::string* set) {
    nlohmann::json out;
    if (set != nullptr) out["set"] = *set;
    out["question"] = q;
    if (!labels.empty()) {
      nlohmann::json scores = nlohmann::json::object();
      for (size_t i = 0; i < labels.size(); ++i) scores[labels[i]] = answer.log_likelihood[i];
      out["log_likelihood"] = scores;
    }
    out["answer"] = answer.answer;
    if (a.json || set != nullptr) std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    else std::cout << answer.answer << "\n";
    std::cout.flush();
  };
  auto respond_with = [&](const Knowledge& knowledge, const std::string& q, const std::string* set) {
    SetAnswer answer;
    if (labels.empty()) {
      answer.answer = knowledge_answer(model, knowledge, q, options, a.dataset);
    } else {
      const LabelChoice choice = knowledge_choose(model, knowledge, q, labels, a.dataset);
      answer.answer = labels[choice.index];
      answer.log_likelihood = choice.log_likelihood;
    }
    print(q, answer, set);
  };
  if (!a.sets.empty()) {
    // Many knowledge sets: encoded --batch-tasks at a time, and their questions answered in one
    // batch with each set's own weights; one JSON line per answer.
    check(a.save_knowledge.empty() && !a.interactive && a.questions.empty(), "--sets",
          "no --save-knowledge, --question or --interactive (the questions are in the file)", "one of them");
    const std::vector<KnowledgeSet> sets = knowledge_sets_read(a.sets);
    const size_t group = static_cast<size_t>(a.batch_tasks);
    for (size_t first = 0; first < sets.size(); first += group) {
      const std::vector<KnowledgeSet> part(sets.begin() + static_cast<std::ptrdiff_t>(first),
                                           sets.begin() + static_cast<std::ptrdiff_t>(std::min(sets.size(), first + group)));
      if (a.merge) {  // LoRA knowledge folded into each set's weights: answered set by set
        std::vector<std::vector<std::string>> facts;
        for (const KnowledgeSet& set : part) facts.push_back(set.facts);
        std::vector<Knowledge> encoded = knowledge_encode_many(model, facts, a.batch_tasks);
        for (size_t i = 0; i < part.size(); ++i) {
          Knowledge& k = encoded[i];
          if (lora_present(k.weights)) k.weights = lora_merge(k.weights);
          for (const std::string& q : part[i].questions) respond_with(k, q, &part[i].id);
        }
        continue;
      }
      const auto answers = knowledge_answer_sets(model, part, options, labels, a.dataset, a.batch_tasks);
      for (size_t i = 0; i < part.size(); ++i) {
        for (size_t q = 0; q < part[i].questions.size(); ++q) {
          print(part[i].questions[q], answers[i][q], &part[i].id);
        }
      }
    }
    return 0;
  }
  Knowledge knowledge = a.knowledge.empty() ? knowledge_encode(model, facts_read(a.facts))
                                            : knowledge_load(model, a.knowledge);
  if (!a.save_knowledge.empty()) {
    knowledge_save(model, knowledge, a.save_knowledge);
    std::cerr << "knowledge (" << knowledge.facts.size() << " facts) saved to " << a.save_knowledge << "\n";
  }
  // LoRA knowledge folded into the weights: one matrix product per layer fewer per token, same answers.
  if (a.merge && lora_present(knowledge.weights)) knowledge.weights = lora_merge(knowledge.weights);
  auto respond = [&](const std::string& q) { respond_with(knowledge, q, nullptr); };
  for (const auto& q : a.questions) respond(q);
  if (a.interactive || (a.questions.empty() && a.save_knowledge.empty())) {
    const bool tty = ::isatty(0);
    if (tty) std::cerr << "knowledge encoded (" << knowledge.facts.size() << " facts); one question per line, Ctrl-D to end\n> ";
    for (std::string line; std::getline(std::cin, line);) {
      if (line.find_first_not_of(" \t\r") != std::string::npos) respond(line);
      if (tty) std::cerr << "> ";
    }
  }
  return 0;
}

const cli::RegisterCommand answer_command(
    "answer", "Encode facts into a model's weights once, then answer questions about them", 700,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<AnswerArgs>();
      app.add_option("--model", a->model, "Model directory")->required()->check(CLI::ExistingDirectory);
      app.add_option("--facts", a->facts, "Facts: one per line, JSON lines {\"fact\": ...} or a JSON list")
          ->check(CLI::ExistingFile);
      app.add_option("--knowledge", a->knowledge, "A knowledge file saved earlier with --save-knowledge")
          ->check(CLI::ExistingFile);
      app.add_option("--sets", a->sets,
                     "Many knowledge sets: JSON lines {\"id\", \"facts\": [...], \"questions\": [...]}; prints one "
                     "JSON line {\"set\", \"question\", \"answer\"} per question")
          ->check(CLI::ExistingFile);
      app.add_option("--batch-tasks", a->batch_tasks, "With --sets: knowledge sets encoded and answered at once (task-batched)")
          ->check(CLI::PositiveNumber);
      app.add_option("--save-knowledge", a->save_knowledge, "Save the encoded knowledge to this file");
      app.add_flag("--merge", a->merge,
                   "With LoRA knowledge: answer with the adapters folded into the weights (same answers)");
      app.add_option("--question", a->questions, "A question (repeatable); none = read questions from stdin");
      app.add_flag("--interactive", a->interactive, "Read further questions from stdin after --question ones");
      app.add_option("--dataset", a->dataset, "Prompt conventions (proofwriter, clutrr, ...; default: the model's)");
      app.add_option("--beams", a->beams, "Beam width (1 = greedy)")->check(CLI::PositiveNumber);
      app.add_option("--max-new-tokens", a->max_new_tokens, "Answer length limit")->check(CLI::PositiveNumber);
      app.add_option("--device", a->device, "cpu, cuda or cuda:N (default: the model's `device`)");
      CLI::Option* labels = app.add_option("--labels", a->labels,
                     "Constrained answering: the most likely of these comma-separated labels "
                     "(default: the model's eval.labels; 'none' = generate freely)");
      app.add_flag("--json", a->json, "Print {\"question\", \"answer\"} JSON lines (with each label's log-likelihood when constrained)");
      return [a, labels] {
        a->labels_given = labels->count() > 0;
        return run_answer(*a);
      };
    });

}  // namespace
