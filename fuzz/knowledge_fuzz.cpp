// Knowledge files and the answer command's other inputs (eval/answer.h), read against a model: the
// input as a knowledge file (`reckoning answer --knowledge`: a safetensors file whose metadata names
// its format, facts and the model's fingerprint, its tensors the adapted weights), as a facts file
// (`--facts`: lines, JSON lines or a JSON list) and as a knowledge-sets file (`--sets`: JSON lines).
// The model is a tiny one built from scratch, the same on every run (seeded), so that a knowledge
// file it encoded is a seed that reaches past the fingerprint check: with RECKONING_FUZZ_WRITE_SEED
// set to a path, the target writes such a file there and exits (scripts/fuzz.sh does this). Built
// only where the main build's library is there (fuzz/CMakeLists.txt); answer.cpp is instrumented.
#include <cstdlib>
#include <memory>

#include "fuzz_support.h"
#include "reckoning/eval/answer.h"
#include "reckoning/train/trainer.h"

namespace {

reckoning::ReckoningModel* model = nullptr;

reckoning::ReckoningModel tiny_model() {
  reckoning::RunConfig config;
  config.model_n_layer = 1;
  config.model_n_embd = 8;
  config.model_n_head = 2;
  config.model_n_ctx = 32;
  config.inner_steps = 1;
  reckoning::Task task;
  task.guid = "seed";
  task.facts = {"A B son", "B C father"};
  task.question = "How are A and C related ?";
  task.answer = "grandson";
  task.source = {{"dataset", "clutrr-sg"}};
  torch::manual_seed(1);
  return reckoning::model_for_training(config, {task});
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  at::set_num_threads(1);
  model = new reckoning::ReckoningModel(tiny_model());
  if (const char* seed = std::getenv("RECKONING_FUZZ_WRITE_SEED")) {
    reckoning::knowledge_save(*model, reckoning::knowledge_encode(*model, {"A B son", "B C father"}), seed);
    std::exit(0);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = reckoning::fuzz::as_file(data, size, ".knowledge");
  reckoning::fuzz::refusing_clearly([&] {
    const reckoning::Knowledge k = reckoning::knowledge_load(*model, path);
    (void)k;
  });
  reckoning::fuzz::refusing_clearly([&] { (void)reckoning::facts_read(path); });
  reckoning::fuzz::refusing_clearly([&] { (void)reckoning::knowledge_sets_read(path); });
  return 0;
}
