// ctest-labels: browser
// The run report in a real browser: Debian's headless Chromium lays out a report of two small arms
// (synthetic runs, report_test_runs.h). A copy of the page gets a probe script (the report itself
// has none) that measures every chart's <svg> and its drawn elements with getBBox() and writes the
// numbers into the DOM, which --dump-dom returns; a screenshot must be a real PNG of the window's
// size and much larger than the screenshot of a blank page of the same size (a blank or
// single-colour image compresses to almost nothing).
// Chromium missing is a FAILURE, not a skip: scripts/install-deps.sh installs it (CI runs this).
#include <gtest/gtest.h>
#include <gmock/gmock.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <sstream>

#include <unistd.h>

#include "reckoning/base/io.h"
#include "reckoning/report/report.h"
#include "report/report_test_runs.h"

using namespace reckoning;
using namespace reckoning::test;
namespace fs = std::filesystem;

namespace {

// RECKONING_CHROMIUM, else chromium / chromium-browser on PATH; empty if none.
std::string find_chromium() {
  if (const char* env = std::getenv("RECKONING_CHROMIUM"); env != nullptr && *env) return env;
  const char* path = std::getenv("PATH");
  std::stringstream dirs(path ? path : "/usr/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    for (const char* name : {"chromium", "chromium-browser"}) {
      const fs::path candidate = fs::path(dir) / name;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate.string();
    }
  }
  return "";
}

std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Runs chromium headless with `args`; returns stdout (stderr goes to `log`).
std::string chromium(const std::string& binary, const std::string& profile, const std::string& args,
                     const std::string& log) {
  const std::string command = "timeout 90 " + shell_quote(binary) +
                              " --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run "
                              "--user-data-dir=" + shell_quote(profile) + " " + args + " 2>>" + shell_quote(log);
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  std::array<char, 4096> buffer;
  for (size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) out.append(buffer.data(), n);
  ::pclose(pipe);
  return out;
}

uint32_t big_endian(const std::string& bytes, size_t at) {
  return (uint32_t(uint8_t(bytes[at])) << 24) | (uint32_t(uint8_t(bytes[at + 1])) << 16) |
         (uint32_t(uint8_t(bytes[at + 2])) << 8) | uint32_t(uint8_t(bytes[at + 3]));
}

// Measures every <svg> after layout: "svg I W H DRAWN" lines, DRAWN = rect/path/polyline/circle
// elements whose bounding box has a non-zero width or height.
const char* kProbe = R"(<script>
const lines = [];
document.querySelectorAll('svg').forEach((svg, i) => {
  const box = svg.getBoundingClientRect();
  let drawn = 0;
  svg.querySelectorAll('rect, path, polyline, circle').forEach(e => {
    const b = e.getBBox();
    if (b.width > 0 || b.height > 0) drawn++;
  });
  lines.push(`svg ${i} ${Math.round(box.width)} ${Math.round(box.height)} ${drawn}`);
});
const pre = document.createElement('pre');
pre.id = 'probe';
pre.textContent = lines.join('\n');
document.body.appendChild(pre);
</script>)";

}  // namespace

TEST(ReportBrowser, ChromiumDrawsEveryChart) {
  const std::string binary = find_chromium();
  ASSERT_FALSE(binary.empty()) << "Chromium not found (looked for RECKONING_CHROMIUM, chromium, chromium-browser on "
                                  "PATH): install it with scripts/install-deps.sh (apt-get install chromium)";
  const std::string dir = (fs::temp_directory_path() / ("reckoning_report_browser_" + std::to_string(::getpid()))).string();
  reckoning::remove_tree(dir);
  fs::create_directories(dir);
  std::vector<std::string> runs;
  for (const char* mode : {"static", "per-layer"}) {
    for (int64_t seed : {1, 2}) {
      SyntheticRun r;
      r.lr_mode = mode;
      r.seed = seed;
      r.distractors = {0, 1};
      r.hop_accuracy = {0.3 + 0.1 * static_cast<double>(seed), std::string(mode) == "static" ? 0.15 : 0.35};
      runs.push_back(path_join(dir, std::string(mode) + "-" + std::to_string(seed)));
      synthetic_run_write(runs.back(), r);
    }
  }
  const std::string report = path_join(dir, "report.html");
  report_write(runs, {}, report);
  const std::string html = read_file(report);
  const size_t expected_svgs = svg_elements(html).size();
  ASSERT_EQ(expected_svgs, 13u);  // hops + distractors bars, 2 curves, 2 rate maps, 6 evolution maps, inner loss

  // Layout: every chart has a size and drawn elements.
  std::string probed = html;
  probed.insert(probed.rfind("</body>"), kProbe);
  const std::string probe_page = path_join(dir, "probe.html");
  write_file_atomic(probe_page, probed);
  const std::string log = path_join(dir, "chromium.log");
  const std::string dom = chromium(binary, path_join(dir, "profile"), "--dump-dom " + shell_quote("file://" + probe_page), log);
  const size_t at = dom.find("<pre id=\"probe\">");
  ASSERT_NE(at, std::string::npos) << "no probe output in the dumped DOM; chromium log:\n"
                                   << (file_exists(log) ? read_file(log) : "") << "\nDOM head: " << dom.substr(0, 500);
  std::istringstream lines(dom.substr(at + 16, dom.find("</pre>", at) - at - 16));
  size_t measured = 0;
  for (std::string word; lines >> word;) {
    size_t index = 0;
    double width = 0, height = 0;
    int drawn = 0;
    lines >> index >> width >> height >> drawn;
    EXPECT_EQ(word, "svg");
    EXPECT_GT(width, 100) << "svg " << index;
    EXPECT_GT(height, 100) << "svg " << index;
    EXPECT_GE(drawn, 3) << "svg " << index << " has too few drawn elements";
    ++measured;
  }
  EXPECT_EQ(measured, expected_svgs);

  // Screenshot: a PNG of the window's size, far larger than a blank page's.
  auto screenshot = [&](const std::string& page, const std::string& png) {
    chromium(binary, path_join(dir, "profile"),
             "--window-size=1400,2400 --screenshot=" + shell_quote(png) + " " + shell_quote("file://" + page), log);
    EXPECT_TRUE(file_exists(png)) << "no screenshot " << png << "; chromium log:\n" << read_file(log);
    return file_exists(png) ? read_file(png) : std::string();
  };
  const std::string blank_page = path_join(dir, "blank.html");
  write_file_atomic(blank_page, "<!DOCTYPE html><html><body></body></html>\n");
  const std::string png = screenshot(report, path_join(dir, "report.png"));
  const std::string blank = screenshot(blank_page, path_join(dir, "blank.png"));
  ASSERT_GT(png.size(), 24u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(big_endian(png, 16), 1400u);
  EXPECT_EQ(big_endian(png, 20), 2400u);
  EXPECT_GT(png.size(), 10 * blank.size()) << "report.png " << png.size() << " bytes vs blank " << blank.size();
  EXPECT_GT(png.size(), 50000u);
  reckoning::remove_tree(dir);
}
