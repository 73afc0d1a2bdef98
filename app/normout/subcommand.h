#pragma once
// Commands defined in their own files register here: each adds its CLI11 subcommand and the
// function that runs it (returning the exit code). main() runs the one that was parsed.
#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace normout::cli {

struct Subcommand {
    CLI::App* command;
    std::function<int()> run;
};
using Subcommands = std::vector<Subcommand>;

}  // namespace normout::cli
