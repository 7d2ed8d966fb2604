// Subcommand registry of the `reckoning` executable. Each src/cli/cmd_*.cpp registers its
// subcommands with static RegisterCommand objects (names may be nested paths such as
// "data generate clutrr"); main.cpp builds the CLI11 app from the registry.
// The executable only parses arguments and dispatches: all behaviour lives in the library.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "reckoning/base/enum_table.h"

namespace reckoning::cli {

// An option whose allowed values are an enum's names (its one table, base/enum_table.h): the
// help text lists them and the default, a wrong value is refused by CLI11 naming the choices.
template <typename E>
CLI::Option* add_enum_option(CLI::App& app, const std::string& name, E& value, const std::string& help) {
  std::vector<std::string> names;
  for (const auto& entry : enum_names<E>()) names.push_back(entry.name);
  return app
      .add_option_function<std::string>(
          name, [&value, name](const std::string& text) { value = enum_parse<E>(text, name); },
          help + " (" + enum_choices<E>(" | ") + "; default " + enum_name(value) + ")")
      ->check(CLI::IsMember(names));
}

// Adds options to the subcommand's app and returns the function that runs it (exit code).
using CommandSetup = std::function<std::function<int()>(CLI::App& app)>;

struct CommandEntry {
  std::string name;  // "tokenize", or a nested path "data generate clutrr"
  std::string description;
  int order;  // position in `reckoning --help` (data flow order)
  CommandSetup setup;
};

std::vector<CommandEntry>& command_registry();

// Help text of an intermediate group ("data", "data generate", "bench").
std::string group_description(const std::vector<std::string>& path, size_t depth);

struct RegisterCommand {
  RegisterCommand(std::string name, std::string description, int order, CommandSetup setup) {
    command_registry().push_back({std::move(name), std::move(description), order, std::move(setup)});
  }
};

}  // namespace reckoning::cli
