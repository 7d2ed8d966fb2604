// TEST-ONLY helpers shared by the test files: catching a reckoning::Error's message, temporary
// files and directories, running a command or the `reckoning` executable, and the golden GPT-2
// files (read with the library's own safetensors loader) with the golden script's next-token loss.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "reckoning/base/error.h"
#include "reckoning/base/io.h"
#include "reckoning/base/safetensors.h"
#include "reckoning/model/gpt2_config.h"
#include "reckoning/model/gpt2_weights.h"
#include "reckoning/model/hf_checkpoint.h"

namespace reckoning::test {

// Under AddressSanitizer (scripts/sanitize.sh) freed memory waits in ASan's quarantine before it is
// reused, so resident-memory figures are not the program's: the tests of memory figures skip there.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kAddressSanitizer = true;
#else
inline constexpr bool kAddressSanitizer = false;
#endif
#define RECKONING_SKIP_MEMORY_FIGURES_UNDER_ASAN()                                                   \
  if (::reckoning::test::kAddressSanitizer)                                                          \
  GTEST_SKIP() << "memory figures under AddressSanitizer are its quarantine's, not the program's"

// The message of the reckoning::Error that `f` throws; "(no error)" when it throws none.
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A path under the system's temporary directory, unique to this process: /tmp/<name>.<pid>.
inline std::string temp_path(const std::string& name) {
  const char* tmp = std::getenv("TMPDIR");
  return path_join(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", name + "." + std::to_string(::getpid()));
}

// Writes `text` to a file called `name` (kept as given: error messages name it) in this process's
// temporary directory temp_path("reckoning_test"), and returns its path.
inline std::string write_temp(const std::string& name, const std::string& text) {
  const std::string dir = temp_path("reckoning_test");
  create_directories(dir);
  const std::string path = path_join(dir, name);
  write_file_atomic(path, text);
  return path;
}

// A fresh, empty directory (temp_path(name); by default named after the running test), removed
// with everything in it at destruction.
class TempDir {
 public:
  TempDir() : TempDir(current_test_name()) {}
  explicit TempDir(const std::string& name) : path_(temp_path(name)) {
    remove_tree(path_);
    create_directories(path_);
  }
  ~TempDir() { remove_tree(path_); }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_join(path_, name); }
  std::string operator/(const std::string& name) const { return file(name); }
  void write(const std::string& name, const std::string& text) const { write_file_atomic(file(name), text); }

 private:
  static std::string current_test_name() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    return info == nullptr ? "reckoning_test" : str("reckoning_", info->test_suite_name(), "_", info->name());
  }

  std::string path_;
};

struct CommandResult {
  int code = -1;    // exit status; -1 when it did not start or did not exit normally
  std::string out;  // what it wrote to stdout (and stderr where the command redirects it)
};

// Runs `command` with /bin/sh and collects its stdout.
inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[65536];
  for (size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) result.out.append(buffer, n);
  const int status = ::pclose(pipe);
  result.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Runs the `reckoning` executable with `args` (shell syntax) on one thread, stdout and stderr together.
inline CommandResult run_cli(const std::string& args) {
  return run_command(std::string(RECKONING_CLI) + " --threads 1 " + args + " 2>&1");
}

// Every tensor of a .safetensors file by name (the library's loader; types as stored).
inline std::map<std::string, torch::Tensor> tensors_by_name(const std::string& path) {
  std::map<std::string, torch::Tensor> out;
  for (auto& [name, tensor] : safetensors_load(path).tensors) out.emplace(name, tensor);
  return out;
}

// Mean cross-entropy over every real next token: logits (B, T, V)[b, t] predicts ids[b, t + 1]
// where mask[b, t + 1] == 1 (right padding). The definition of scripts/golden/make_gpt2_golden.py.
inline torch::Tensor next_token_loss(const torch::Tensor& logits, const torch::Tensor& ids,
                                     const torch::Tensor& mask) {
  const int64_t T = ids.size(1);
  torch::Tensor logp = torch::log_softmax(logits.slice(1, 0, T - 1), -1);                 // (B, T-1, V)
  torch::Tensor target_logp = logp.gather(2, ids.slice(1, 1, T).unsqueeze(2)).squeeze(2);  // (B, T-1)
  torch::Tensor real = mask.slice(1, 1, T).to(logits.dtype());                            // (B, T-1)
  return -(target_logp * real).sum() / real.sum();
}

}  // namespace reckoning::test
