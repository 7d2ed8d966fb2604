#include <chrono>
#include <gtest/gtest.h>
#include "reckoning/eval/evaluate.h"
#include "reckoning/eval/labels.h"
#include "reckoning/meta/inner_loop.h"
#include "reckoning/base/threads.h"
using namespace reckoning;
TEST(Probe, Times) {
  configure_threads(1);
  const ReckoningModel model = reckoning_model_load("/work/main/runs/main-job/checkpoints/best");
  std::vector<Task> tasks = tasks_load("/tmp/test4.jsonl");
  tasks.resize(8);
  std::vector<LmBatch> facts;
  for (auto& t : tasks) facts.push_back(encode_task(t, *model.tokenizer, model.prompt(), {}).facts);
  auto now = [] { return std::chrono::steady_clock::now(); };
  for (int r = 0; r < 3; ++r) {
    auto a = now();
    for (auto& f : facts) inner_loop(model.config, model.weights, model.lrs, model.inner(), f, InnerMode::Evaluate, false);
    auto b = now();
    inner_loop_tasks(model.config, model.weights, model.lrs, model.inner(), facts, InnerMode::Evaluate, false);
    auto c = now();
    EvalOptions o; o.max_new_tokens = eval_generation_budget(model, 0); o.labels = labels_resolve(model.run.eval_labels, tasks, model.prompt(), "x"); o.batch_tasks = 1; if (r == 0) std::printf("labels %zu budget %lld\n", o.labels.size(), (long long)o.max_new_tokens);
    auto r1 = evaluate(model, tasks, o); auto d = now();
    o.batch_tasks = 8; auto r8 = evaluate(model, tasks, o); auto e = now();
    std::printf("inner: 8 x single %.4f s, batched %.4f s; evaluate b1 %.4f b8 %.4f\n",
                std::chrono::duration<double>(b - a).count(), std::chrono::duration<double>(c - b).count(),
                std::chrono::duration<double>(d - c).count(), std::chrono::duration<double>(e - d).count());
  }
}
