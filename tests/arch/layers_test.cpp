// The layering rule of docs/ARCHITECTURE.md, checked on the sources: a file under a layer's folder
// (include/reckoning/<layer>/, src/<layer>/) includes headers of its own layer or of lower ones,
// never of a higher one; data/'s sub-folders (proofwriter/, clutrr/) do not include each other.
// Every header and source sits in a known layer folder.
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <dirent.h>
#include <sys/stat.h>

#include <gtest/gtest.h>

namespace {

// Bottom to top: a layer may include itself and what is listed before it.
const std::vector<std::string> kLayers = {"base", "dist", "data", "text", "model", "meta",
                                          "eval", "train", "report", "perf", "cli"};

int rank_of(const std::string& layer) {
  auto it = std::find(kLayers.begin(), kLayers.end(), layer);
  return it == kLayers.end() ? -1 : static_cast<int>(it - kLayers.begin());
}

// "data/clutrr/clutrr.h" -> {"data", "clutrr"}; "base/io.h" -> {"base", ""}.
std::pair<std::string, std::string> layer_of(const std::string& relative) {
  const size_t a = relative.find('/');
  if (a == std::string::npos) return {"", ""};
  const std::string layer = relative.substr(0, a);
  const size_t b = relative.find('/', a + 1);
  return {layer, b == std::string::npos ? "" : relative.substr(a + 1, b - a - 1)};
}

// The violations in one file's text: "<file>: includes <header> (<from> may not include <to>)".
std::vector<std::string> violations(const std::string& file, const std::string& relative, const std::string& text) {
  std::vector<std::string> out;
  const auto [layer, sub] = layer_of(relative);
  if (rank_of(layer) < 0) {
    out.push_back(file + ": not in a layer folder (" + relative + ")");
    return out;
  }
  static const std::regex include_re(R"re(#include\s+"reckoning/([^"]+)")re");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), include_re); it != std::sregex_iterator(); ++it) {
    const std::string header = (*it)[1];
    const auto [to, to_sub] = layer_of(header);
    if (rank_of(to) < 0) {
      out.push_back(file + ": includes reckoning/" + header + ", which is in no layer folder");
    } else if (rank_of(to) > rank_of(layer)) {
      out.push_back(file + ": includes reckoning/" + header + " (" + layer + " may not include " + to + ")");
    } else if (to == layer && !sub.empty() && !to_sub.empty() && sub != to_sub) {
      out.push_back(file + ": includes reckoning/" + header + " (" + layer + "/" + sub + " may not include " +
                    to + "/" + to_sub + ")");
    }
  }
  return out;
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void list_files(const std::string& dir, std::vector<std::string>& out) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = dir + "/" + name;
    struct stat st{};
    if (::stat(path.c_str(), &st) != 0) continue;
    if (S_ISDIR(st.st_mode)) list_files(path, out);
    else if (ends_with(name, ".h") || ends_with(name, ".cpp")) out.push_back(path);
  }
  ::closedir(d);
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

TEST(Layers, NoLowerLayerIncludesAHigherOne) {
  const std::string root = RECKONING_SOURCE_DIR;
  size_t checked = 0;
  std::vector<std::string> problems;
  for (const std::string base : {root + "/include/reckoning", root + "/src"}) {
    std::vector<std::string> files;
    list_files(base, files);
    for (const auto& f : files) {
      const std::string relative = f.substr(base.size() + 1);
      auto v = violations(f, relative, slurp(f));
      problems.insert(problems.end(), v.begin(), v.end());
      ++checked;
    }
  }
  EXPECT_GT(checked, 90u) << "the source tree was not found under " << root;
  for (const auto& p : problems) ADD_FAILURE() << p;
}

TEST(Layers, TheCheckFindsViolations) {
  // A model file including the trainer, a proofwriter file including clutrr, a file outside any
  // layer: each is reported; lower and same-layer includes are not.
  EXPECT_EQ(violations("f", "model/gpt2.h", "#include \"reckoning/train/trainer.h\"\n").size(), 1u);
  EXPECT_EQ(violations("f", "data/proofwriter/p.cpp", "#include \"reckoning/data/clutrr/kinship.h\"\n").size(), 1u);
  EXPECT_EQ(violations("f", "gpt2.h", "").size(), 1u);
  EXPECT_EQ(violations("f", "model/gpt2.h", "#include \"reckoning/unknown.h\"\n").size(), 1u);
  EXPECT_TRUE(violations("f", "train/trainer.cpp",
                         "#include \"reckoning/eval/evaluate.h\"\n#include \"reckoning/base/io.h\"\n"
                         "#include \"reckoning/train/trainer.h\"\n")
                  .empty());
  EXPECT_TRUE(violations("f", "data/clutrr/clutrr.cpp", "#include \"reckoning/data/task.h\"\n").empty());
}

}  // namespace
