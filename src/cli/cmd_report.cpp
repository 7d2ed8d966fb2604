// `reckoning report RUN_DIR... --out report.html`: one self-contained HTML page comparing trained
// runs (report.h, docs/REPORT.md).
#include <iostream>

#include "command.h"
#include "reckoning/report/report.h"

namespace {

using namespace reckoning;

struct ReportArgs {
  std::vector<std::string> run_dirs, labels;
  std::string out = "report.html", markdown;
  std::string title = "RECKONING run report";
  int64_t last_steps = 50;
};

const cli::RegisterCommand report_command(
    "report", "Write an HTML report (accuracy, curves, learned rates) comparing trained run directories", 650,
    [](CLI::App& app) -> std::function<int()> {
      auto a = std::make_shared<ReportArgs>();
      app.add_option("run_dirs", a->run_dirs, "Run directories written by `reckoning train` (seeds of one "
                                              "configuration are grouped into one arm)")
          ->required()
          ->check(CLI::ExistingDirectory);
      app.add_option("--out", a->out, "Output HTML file (written atomically)")->capture_default_str();
      app.add_option("--markdown", a->markdown,
                     "Also write the accuracy tables (best validation, test per hop, recall, time) as markdown");
      app.add_option("--label", a->labels, "Name the arm of a run: --label runs/a=static (repeatable)");
      app.add_option("--title", a->title, "Page title")->capture_default_str();
      app.add_option("--inner-loss-steps", a->last_steps, "Average the training inner loss over the last N steps")
          ->capture_default_str()
          ->check(CLI::PositiveNumber);
      return [a] {
        ReportOptions options;
        options.title = a->title;
        options.inner_loss_last_steps = a->last_steps;
        report_write(a->run_dirs, a->labels, a->out, options, a->markdown);
        std::cerr << "wrote " << a->out << (a->markdown.empty() ? "" : " and " + a->markdown) << "\n";
        return 0;
      };
    });

}  // namespace
