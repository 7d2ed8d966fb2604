// `reckoning report`: load the runs, group them into arms, write the page and the markdown; see report.h.
#include "reckoning/report/report.h"

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"

namespace reckoning {

void report_write(const std::vector<std::string>& run_dirs, const std::vector<std::string>& labels,
                  const std::string& out, const ReportOptions& options, const std::string& markdown_out) {
  check(!run_dirs.empty(), "reckoning report", "at least one run directory", "none");
  std::map<std::string, std::string> label_of;
  for (const std::string& item : labels) {
    const size_t eq = item.find('=');  // NAME may contain '=' ("inner.lr_mode=static")
    check(eq != std::string::npos && eq > 0 && eq + 1 < item.size(), str("--label '", item, "'"), "DIR=NAME",
          "no '=' with text on both sides");
    label_of[item.substr(0, eq)] = item.substr(eq + 1);
  }
  std::vector<ReportRun> runs;
  for (const std::string& dir : run_dirs) runs.push_back(report_run_load(dir));
  const std::vector<ReportArm> arms = report_arms(std::move(runs), label_of);
  write_file_atomic(out, report_html(arms, options));
  if (!markdown_out.empty()) write_file_atomic(markdown_out, report_markdown(arms));
}

}  // namespace reckoning
