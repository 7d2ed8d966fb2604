// `reckoning`: the command-line front end. Parses arguments, sets the thread count, dispatches to
// the registered subcommand and turns library errors into exit codes (1 = error, 2 = usage).
#include <algorithm>
#include <iostream>
#include <memory>
#include <sstream>

#include <torch/torch.h>

#include "command.h"
#include "reckoning/base/error.h"
#include "reckoning/base/cpu_allocator.h"
#include "reckoning/base/threads.h"

namespace reckoning::cli {

std::vector<CommandEntry>& command_registry() {
  static std::vector<CommandEntry> registry;
  return registry;
}

std::string group_description(const std::vector<std::string>& path, size_t depth) {
  std::string prefix;
  for (size_t i = 0; i <= depth; ++i) prefix += (i ? " " : "") + path[i];
  if (prefix == "data") return "Reasoning data: convert, generate, prove, stats";
  if (prefix == "data generate") return "Generate synthetic reasoning problems";
  if (prefix == "bench") return "Benchmarks (speed and memory)";
  if (prefix == "tokenizer") return "Tokenizers: build a word tokenizer from a corpus";
  return "Commands under '" + prefix + "'";
}

}  // namespace reckoning::cli

int main(int argc, char** argv) {
  using namespace reckoning;
  prepare_thread_environment(argv);  // OpenMP's idle threads yield (threads.h); may re-execute once
  CLI::App app{"reckoning: RECKONING (reasoning through dynamic knowledge encoding) in C++"};
  app.set_version_flag("--version", std::string("reckoning ") + RECKONING_VERSION + " (LibTorch " +
                                        TORCH_VERSION + ")");
  app.require_subcommand(1);
  app.fallthrough();
  app.failure_message(CLI::FailureMessage::help);
  int threads = 0;
  app.add_option("--threads", threads,
                 "Intra-op threads (default: $RECKONING_THREADS, else the CPUs this process may use: "
                 "its affinity mask and cgroup CPU quota)")
      ->check(CLI::NonNegativeNumber);
  int64_t memory_cache_mb = -1;
  app.add_option("--memory-cache-mb", memory_cache_mb,
                 "Freed large CPU blocks (>= 256 KiB) kept for reuse, in MiB; 0 unmaps each at once "
                 "(default: $RECKONING_MEMORY_CACHE_MB, else " + std::to_string(kDefaultCacheMb) + ")")
      ->check(CLI::NonNegativeNumber);

  auto& registry = cli::command_registry();
  std::stable_sort(registry.begin(), registry.end(),
                   [](const auto& a, const auto& b) { return a.order < b.order; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& entry : registry) {
    // "data generate clutrr" nests under the groups "data" and "generate", created on first use.
    std::vector<std::string> path;
    std::istringstream words(entry.name);
    for (std::string word; words >> word;) path.push_back(word);
    CLI::App* parent = &app;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      CLI::App* group = nullptr;
      try {
        group = parent->get_subcommand(path[i]);
      } catch (const CLI::OptionNotFound&) {
        group = parent->add_subcommand(path[i], cli::group_description(path, i));
        group->require_subcommand(1);
        group->failure_message(CLI::FailureMessage::help);
      }
      parent = group;
    }
    CLI::App* sub = parent->add_subcommand(path.back(), entry.description);
    sub->failure_message(CLI::FailureMessage::help);
    runners.emplace_back(sub, entry.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  try {
    configure_threads(threads);
    configure_cpu_allocator(memory_cache_mb);
    for (auto& [sub, run] : runners) {
      if (sub->parsed()) return run();
    }
  } catch (const reckoning::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 2;
}
