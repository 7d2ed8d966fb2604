// Answering questions over new knowledge with a trained model: the knowledge (a list of facts) is
// encoded into the weights once by the inner loop, and every question reuses the adapted weights.
// The adapted weights can be saved as a "knowledge file" and loaded again, so that a knowledge
// base is encoded once and queried later.
//
// A knowledge file is a safetensors file holding the adapted tensors (only those the inner loop
// changes) under their GPT-2 names, with metadata: format "reckoning-knowledge", the facts (JSON),
// the inner trace, and a fingerprint of the base model, checked on load so that knowledge is
// never applied to a different model.
#pragma once

#include <string>
#include <vector>

#include "reckoning/eval/labels.h"
#include "reckoning/model/generate.h"
#include "reckoning/meta/reckoning_model.h"

namespace reckoning {

struct Knowledge {
  std::vector<std::string> facts;
  DecoderWeights weights;                // adapted weights (untouched tensors shared with the model)
  std::vector<InnerStepTrace> trace;  // inner loss etc. per step
};

// Encodes `facts` (at least one) with the model's inner loop, deterministically (no dropout).
Knowledge knowledge_encode(const ReckoningModel& model, const std::vector<std::string>& facts);

// Encodes several knowledge sets at once: `batch_tasks` sets at a time through one task-batched
// inner loop (inner_loop_tasks); each result equals knowledge_encode of that set (up to
// floating-point rounding) and holds its own adapted weights.
std::vector<Knowledge> knowledge_encode_many(const ReckoningModel& model,
                                             const std::vector<std::vector<std::string>>& sets,
                                             int64_t batch_tasks = 8);

// One knowledge set and its questions, a line of a `reckoning answer --sets` file:
// {"id": "...", "facts": ["...", ...], "questions": ["...", ...]} ("id" optional: the line number).
struct KnowledgeSet {
  std::string id;
  std::vector<std::string> facts, questions;
};
// Reads such a JSON-lines file; errors name the file, the line and the field.
std::vector<KnowledgeSet> knowledge_sets_read(const std::string& path);

// The generated answer to `question` given encoded knowledge; `dataset` picks the prompt
// conventions (empty = the model's training data's).
std::string knowledge_answer(const ReckoningModel& model, const Knowledge& knowledge,
                             const std::string& question, const GenerateOptions& options,
                             const std::string& dataset = "");

// Constrained answering (labels.h): the most likely of `labels` as the answer to `question`.
LabelChoice knowledge_choose(const ReckoningModel& model, const Knowledge& knowledge,
                             const std::string& question, const std::vector<std::string>& labels,
                             const std::string& dataset = "");

// Many knowledge sets answered at once: `batch_tasks` sets at a time, their facts encoded by one
// task-batched inner loop and all their questions answered in one batch, each with its own set's
// weights (constrained to `labels` when not empty; greedy decoding batched, beam search one
// question at a time). Per set, per question: what knowledge_answer / knowledge_choose give for it
// alone, up to floating-point rounding.
struct SetAnswer {
  std::string answer;
  std::vector<double> log_likelihood;  // per label, when constrained
};
std::vector<std::vector<SetAnswer>> knowledge_answer_sets(const ReckoningModel& model,
                                                          const std::vector<KnowledgeSet>& sets,
                                                          const GenerateOptions& options,
                                                          const std::vector<std::string>& labels,
                                                          const std::string& dataset = "",
                                                          int64_t batch_tasks = 8);

void knowledge_save(const ReckoningModel& model, const Knowledge& knowledge, const std::string& path);
Knowledge knowledge_load(const ReckoningModel& model, const std::string& path);

// A fingerprint of a model's weights and configuration (hex string).
std::string model_fingerprint(const ReckoningModel& model);

// Reads facts: a JSON-lines file ({"fact": ...} or {"text": ...} per line), a JSON list of
// strings, or plain text with one fact per line. Errors name the file and line.
std::vector<std::string> facts_read(const std::string& path);

}  // namespace reckoning
