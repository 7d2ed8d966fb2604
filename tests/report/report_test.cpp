// The run report (report.h) on synthetic run directories (report_test_runs.h): grouping runs into
// arms and their labels, the seed spread, every section and chart of the page, notes for missing
// files, errors that name the file and line; and one tiny real training run through the report, so
// that the trainer's eval.jsonl rate table is what the report reads.
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <filesystem>
#include <regex>

#include <unistd.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/report/report.h"
#include "reckoning/report/svg_chart.h"
#include "reckoning/train/trainer.h"
#include "support/test_util.h"
#include "report/report_test_runs.h"


using namespace reckoning;
using namespace reckoning::test;
using ::testing::HasSubstr;
using ::testing::Not;
namespace fs = std::filesystem;

namespace {

// Two arms (static, per-layer) x two seeds.
std::vector<std::string> two_arms(const TempDir& t) {
  std::vector<std::string> dirs;
  for (const char* mode : {"static", "per-layer"}) {
    for (int64_t seed : {1, 2}) {
      SyntheticRun r;
      r.lr_mode = mode;
      r.seed = seed;
      r.hop_accuracy = std::string(mode) == "static" ? std::vector<double>{0.2 * seed, 0.1}
                                                     : std::vector<double>{0.5 + 0.1 * seed, 0.3};
      const std::string dir = t / (std::string(mode) + "-seed" + std::to_string(seed));
      synthetic_run_write(dir, r);
      dirs.push_back(dir);
    }
  }
  return dirs;
}

std::vector<ReportRun> load_all(const std::vector<std::string>& dirs) {
  std::vector<ReportRun> runs;
  for (const auto& d : dirs) runs.push_back(report_run_load(d));
  return runs;
}

}  // namespace

TEST(Report, SeedSpreadIsMeanMinMax) {
  SeedSpread s = seed_spread({0.2, 0.4, 0.9});
  EXPECT_EQ(s.n, 3);
  EXPECT_NEAR(s.mean, 0.5, 1e-12);
  EXPECT_EQ(s.min, 0.2);
  EXPECT_EQ(s.max, 0.9);
  EXPECT_EQ(seed_spread({}).n, 0);
  EXPECT_EQ(seed_spread({0.7}).mean, 0.7);
}

TEST(Report, RunsWithTheSameConfigExceptSeedAndPathsFormOneArm) {
  TempDir t("arms");
  std::vector<std::string> dirs = two_arms(t);
  std::vector<ReportArm> arms = report_arms(load_all(dirs));
  ASSERT_EQ(arms.size(), 2u);
  EXPECT_EQ(arms[0].label, "inner.lr_mode=static");
  EXPECT_EQ(arms[1].label, "inner.lr_mode=per-layer");
  ASSERT_EQ(arms[0].runs.size(), 2u);
  EXPECT_EQ(arms[0].runs[0].name, "static-seed1");
  EXPECT_EQ(arms[0].runs[1].name, "static-seed2");
  EXPECT_EQ(arms[1].runs[1].name, "per-layer-seed2");
  EXPECT_FALSE(arms[0].config.contains("seed"));

  // --label wins; a trailing slash does not matter.
  std::vector<ReportArm> named = report_arms(load_all(dirs), {{dirs[3] + "/", "learned <rates>"}});
  EXPECT_EQ(named[1].label, "learned <rates>");
  EXPECT_EQ(named[0].label, "inner.lr_mode=static");

  // One arm: nothing differs, so the label is the first run's directory name.
  std::vector<ReportArm> one = report_arms(load_all({dirs[0], dirs[1]}));
  ASSERT_EQ(one.size(), 1u);
  EXPECT_EQ(one[0].label, "static-seed1");

  // A key that matters (multi_task) splits runs of the same mode.
  SyntheticRun other;
  other.lr_mode = "static";
  other.multi_task = true;
  synthetic_run_write(t / "static-mt", other);
  std::vector<ReportArm> three = report_arms(load_all({dirs[0], dirs[1], dirs[2], t / "static-mt"}));
  ASSERT_EQ(three.size(), 3u);
  EXPECT_EQ(three[0].label, "inner.lr_mode=static, multi_task=false");
  EXPECT_EQ(three[2].label, "inner.lr_mode=static, multi_task=true");
}

TEST(Report, LoadsRatesInRateSpaceAndMeanTestInnerLosses) {
  TempDir t("load");
  SyntheticRun r;
  synthetic_run_write(t / "run", r);
  ReportRun run = report_run_load(t / "run");
  EXPECT_EQ(run.steps.size(), 40u);
  EXPECT_EQ(run.validations.size(), 4u);
  ASSERT_TRUE(run.validations[0].rates.has_value());
  EXPECT_EQ(run.validations[0].rates->rows, synthetic_rows(r));
  ASSERT_TRUE(run.best_rates.has_value());
  EXPECT_EQ(run.best_rates->rows, synthetic_rows(r));
  EXPECT_EQ(run.best_rates->mode, "per-layer");
  // The checkpoint stores log(rate); the report shows the rate.
  std::vector<std::vector<double>> expected = synthetic_rates(r, r.steps);
  for (size_t g = 0; g < expected.size(); ++g) {
    for (size_t k = 0; k < 3; ++k) EXPECT_NEAR(run.best_rates->values[g][k], expected[g][k], 1e-6 * expected[g][k]);
  }
  // Tasks' inner_losses {4+i, 3, 2, 1+i}, i = 0..3: means {5.5, 3, 2, 2.5}.
  EXPECT_THAT(run.test_inner_losses, ::testing::ElementsAre(5.5, 3.0, 2.0, 2.5));
  ASSERT_TRUE(run.test.has_value());
  EXPECT_NEAR(run.test->by_hops.at(4).label_accuracy, 0.3, 1e-12);
  EXPECT_TRUE(run.missing.empty());
}

TEST(Report, PageHasEverySectionAndNonEmptyCharts) {
  TempDir t("page");
  std::vector<ReportArm> arms = report_arms(load_all(two_arms(t)), {});
  const std::string html = report_html(arms);
  for (const char* id : {"arms", "accuracy", "curves", "rates", "rates-evolution", "inner-loss", "recall"}) {
    EXPECT_THAT(html, HasSubstr(str("<section id=\"", id, "\">"))) << id;
  }
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("http"))) << "no network resources";
  // Charts: accuracy bars, loss, validation accuracy, 2 best-rate heatmaps, 2 x 3 evolution
  // heatmaps (validations at 10, 20, 30, 40: first, middle, last), inner loss.
  std::vector<std::string> svgs = svg_elements(html);
  EXPECT_EQ(svgs.size(), 1u + 2u + 2u + 6u + 1u);
  for (const std::string& svg : svgs) {
    EXPECT_TRUE(std::regex_search(svg, std::regex("<(rect|polyline|path|circle)[^>]*>"))) << svg.substr(0, 200);
    EXPECT_THAT(svg, HasSubstr("</text>"));  // labelled
  }
  // The seed spread in the table: static 2 hops {0.2, 0.4} -> 30.0% (20.0%-40.0%), n=2.
  EXPECT_THAT(html, HasSubstr("30.0% <span class=\"spread\">(20.0%&ndash;40.0%)</span> <span class=\"n\">n=2</span>"));
  // per-layer 2 hops {0.6, 0.7}: 65.0%.
  EXPECT_THAT(html, HasSubstr("65.0% <span class=\"spread\">(60.0%&ndash;70.0%)"));
  EXPECT_THAT(html, HasSubstr("chance (majority answer)"));
  EXPECT_THAT(html, HasSubstr("12.5% / 5.0%"));  // chance: majority / uniform
  // Evolution panels at the first, middle and last validation.
  EXPECT_THAT(html, HasSubstr("validation at step 10"));
  EXPECT_THAT(html, HasSubstr("validation at step 30"));
  EXPECT_THAT(html, HasSubstr("validation at step 40"));
  // Heatmap cells carry their values as tooltips; the rates span > 3x, so the scale is logarithmic.
  EXPECT_THAT(html, HasSubstr("<title>h.1, step 2: "));
  EXPECT_THAT(html, HasSubstr("log scale"));
  // Not multi-task: recall not measured; one distractor count: no distractor breakdown.
  EXPECT_THAT(html, HasSubstr("Recall was not measured"));
  EXPECT_THAT(html, Not(HasSubstr("Per number of encoded distractors")));
  // Inner loss table: training mean of the last steps, and the test tasks' means.
  EXPECT_THAT(html, HasSubstr("3 &rarr; 2 &rarr; 1.5"));
  EXPECT_THAT(html, HasSubstr("5.5 &rarr; 3 &rarr; 2 &rarr; 2.5"));
}

TEST(Report, RecallAndDistractorsShownWhenPresent) {
  TempDir t("recall");
  SyntheticRun r;
  r.multi_task = true;
  r.distractors = {0, 2};
  synthetic_run_write(t / "mt", r);
  const std::string html = report_html(report_arms(load_all({t / "mt"})));
  EXPECT_THAT(html, Not(HasSubstr("Recall was not measured")));
  EXPECT_THAT(html, HasSubstr("Per number of encoded distractors"));
  EXPECT_THAT(html, HasSubstr("2 distractors"));
  // Recall = accuracy / 2: 2 hops 0.5 -> 25.0%.
  EXPECT_THAT(html, HasSubstr("<td>25.0% <span class=\"n\">n=1</span></td>"));
}

TEST(Report, MarkdownHasBestValidationTestPerHopSpreadAndChance) {
  TempDir t("markdown");
  const std::string md = report_markdown(report_arms(load_all(two_arms(t))));
  // static: 2 hops 0.2 / 0.4 over seeds, 4 hops 0.1; the best validation is the last (scale 1):
  // overall (0.2+0.1)/2 and (0.4+0.1)/2. 40 steps at 3 s each = 2 minutes.
  EXPECT_THAT(md, HasSubstr("| arm | seeds | best valid | 2 hops | 4 hops | test overall | steps | train min |\n"));
  EXPECT_THAT(md, HasSubstr("| inner.lr_mode=static | 2 | 20.0 (15.0-25.0) | 30.0 (20.0-40.0) | 10.0 | "
                            "20.0 (15.0-25.0) | 40, 40 | 2 |\n"));
  EXPECT_THAT(md, HasSubstr("| inner.lr_mode=per-layer | 2 | 47.5 (45.0-50.0) | 65.0 (60.0-70.0) | 30.0 | "));
  EXPECT_THAT(md, HasSubstr("| chance (majority answer) | | | 12.5 | 12.5 | "));
  EXPECT_THAT(md, Not(HasSubstr("recall |")));  // single-task runs
  EXPECT_THAT(md, Not(HasSubstr("distractors |")));  // one distractor count only
  // Multi-task runs add both recall columns (overall 0.4: recall 0.2, any order 0.3); two
  // distractor counts add the second table.
  SyntheticRun mt;
  mt.multi_task = true;
  mt.hop_accuracy = {0.5, 0.3};
  mt.distractors = {0, 4};
  synthetic_run_write(t / "mt", mt);
  const std::string md_mt = report_markdown(report_arms(load_all({t / "mt"})));
  EXPECT_THAT(md_mt, HasSubstr("| test overall | recall | recall any order | steps | train min |\n"));
  EXPECT_THAT(md_mt, HasSubstr("| 40.0 | 20.0 | 30.0 | 40 | 2 |\n"));
  EXPECT_THAT(md_mt, HasSubstr("| arm | seeds | 0 distractors | 4 distractors | test overall | recall | recall any order |\n"));
  // Every table row has as many cells as its header.
  std::istringstream lines(md + "\n" + md_mt);
  size_t columns = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("|", 0) != 0) {
      columns = 0;
      continue;
    }
    const size_t n = static_cast<size_t>(std::count(line.begin(), line.end(), '|'));
    if (columns == 0) columns = n;
    EXPECT_EQ(n, columns) << line;
  }
}

TEST(Report, MissingFilesBecomeNotes) {
  TempDir t("missing");
  SyntheticRun r;
  r.test_report = r.eval = r.checkpoint = false;
  synthetic_run_write(t / "bare", r);
  ReportRun run = report_run_load(t / "bare");
  EXPECT_THAT(run.missing, ::testing::ElementsAre("eval.jsonl", "test_report.json", "checkpoints/best/inner_lrs.safetensors"));
  const std::string html = report_html(report_arms({run}));
  EXPECT_THAT(html, HasSubstr("No run has a test_report.json"));
  EXPECT_THAT(html, HasSubstr("No run has an eval.jsonl"));
  EXPECT_THAT(html, HasSubstr("no checkpoints/best/inner_lrs.safetensors"));
  EXPECT_THAT(html, HasSubstr("eval.jsonl has no rate tables"));
  EXPECT_THAT(html, HasSubstr("bare: no test_report.json"));
  for (const char* id : {"accuracy", "curves", "rates", "rates-evolution", "inner-loss", "recall"}) {
    EXPECT_THAT(html, HasSubstr(str("<section id=\"", id, "\">"))) << id;
  }
}

TEST(Report, MalformedFilesNameFileAndLine) {
  TempDir t("bad");
  SyntheticRun r;
  synthetic_run_write(t / "run", r);
  const std::string metrics = t / "run/metrics.jsonl";
  std::string text = read_file(metrics);
  write_file_atomic(metrics, text.substr(0, text.find('\n') + 1) + "{\"step\": 2, \"loss\": \n" + text.substr(text.find('\n') + 1));
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }), HasSubstr("metrics.jsonl:2: expected a JSON object"));

  write_file_atomic(metrics, "{\"step\": 1, \"loss\": 2}\n{\"step\": 2, \"loss\": \"high\"}\n");
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }),
              HasSubstr("metrics.jsonl:2: field 'loss': expected a number, got \"high\""));

  write_file_atomic(metrics, "{\"step\": 1, \"loss\": 2}\n");
  write_file_atomic(t / "run/eval.jsonl", "\n{\"step\": 10}\n");
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }), HasSubstr("eval.jsonl:2: field 'valid': expected present"));

  write_file_atomic(t / "run/eval.jsonl", "{\"step\": 10, \"valid\": {\"overall\": {\"n\": 3, \"label_accuracy\": 1}, "
                                          "\"by_hops\": {\"two\": {}}}}\n");
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }),
              HasSubstr("eval.jsonl:1: field 'valid': field 'by_hops': expected integer keys, got 'two'"));

  fs::remove(t / "run/eval.jsonl");
  write_file_atomic(t / "run/test_report.json", "{\"by_hops\": {}}");
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }), HasSubstr("test_report.json: field 'overall'"));

  fs::remove(t / "run/config.json");
  EXPECT_THAT(error_of([&] { report_run_load(t / "run"); }), HasSubstr("config.json: expected the run's resolved configuration"));
  EXPECT_THAT(error_of([&] { report_write({t / "run"}, {"nolabel"}, t / "out.html"); }), HasSubstr("--label 'nolabel'"));
}

TEST(Report, TextIsEscaped) {
  TempDir t("escape");
  std::vector<std::string> dirs = two_arms(t);
  report_write(dirs, {dirs[0] + "=<b>static & \"x\"</b>"}, t / "report.html");
  const std::string html = read_file(t / "report.html");
  EXPECT_THAT(html, HasSubstr("&lt;b&gt;static &amp; &quot;x&quot;&lt;/b&gt;"));
  EXPECT_THAT(html, Not(HasSubstr("<b>static")));
  EXPECT_EQ(html_escape("a<'&'>"), "a&lt;&#39;&amp;&#39;&gt;");
}

TEST(Report, ChartTicksAreRoundAndCoverTheRange) {
  std::vector<double> unit = chart_ticks(0, 1, 5);
  ASSERT_EQ(unit.size(), 6u);
  for (size_t i = 0; i < unit.size(); ++i) EXPECT_NEAR(unit[i], 0.2 * static_cast<double>(i), 1e-12);
  std::vector<double> ticks = chart_ticks(3, 297, 6);
  EXPECT_EQ(ticks.front(), 50);
  EXPECT_EQ(ticks.back(), 250);
  EXPECT_EQ(chart_number(0.003), "0.003");
  EXPECT_EQ(chart_number(0.0001), "0.0001");
}

// A real (tiny) training run: the trainer's eval.jsonl carries the rate table the report draws.
TEST(Report, TinyTrainingRunRendersEveryChart) {
  TempDir t("train");
  std::vector<Task> tasks;
  const std::vector<std::string> letters{"A", "B", "C", "D", "H", "J", "K", "L"};
  const std::vector<std::string> rel{"son", "daughter", "father", "mother"};
  for (int i = 0; i < 12; ++i) {
    Task task;
    task.guid = "t" + std::to_string(i);
    task.facts = {letters[(i + 3) % 8] + " " + letters[i % 8] + " " + rel[i % 4]};
    task.question = "How are " + letters[i % 8] + " and " + letters[(i + 3) % 8] + " related to each other ?";
    task.answer = rel[(i + 1) % 4];
    task.hops = 2 + 2 * (i % 2);
    task.source = {{"dataset", "clutrr-sg"}};
    tasks.push_back(task);
  }
  tasks_save(t / "train.jsonl", tasks);
  RunConfig c;
  c.data_train = c.data_valid = t / "train.jsonl";
  c.model_n_layer = 1;
  c.model_n_embd = 16;
  c.model_n_head = 2;
  c.model_n_ctx = 48;
  c.inner_steps = 2;
  c.inner_lr = 1e-2;
  c.outer_batch_tasks = 2;
  c.outer_max_steps = 4;
  c.eval_every = 2;
  c.eval_max_new_tokens = 3;
  c.run_dir = t / "run";
  c.threads = 1;
  TrainOptions quiet;
  quiet.progress = false;
  train(c, quiet);
  ReportRun run = report_run_load(c.run_dir);
  ASSERT_EQ(run.validations.size(), 2u);
  ASSERT_TRUE(run.validations[1].rates.has_value());
  EXPECT_EQ(run.validations[1].rates->rows, (std::vector<std::string>{"embeddings", "h.0", "ln_f"}));
  ASSERT_TRUE(run.best_rates.has_value());
  EXPECT_EQ(run.best_rates->values.size(), 3u);
  report_write({c.run_dir}, {}, t / "report.html");
  const std::string html = read_file(t / "report.html");
  // No test report (train() alone does not test): loss, validation, best rates, 2 evolution panels, inner loss.
  EXPECT_EQ(svg_elements(html).size(), 6u);
  EXPECT_THAT(html, HasSubstr("No run has a test_report.json"));
}
