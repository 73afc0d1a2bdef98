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

// Registration of each command file.
void add_flatness_command(CLI::App& app, Subcommands& out);  // cmd_flatness.cpp
void add_attack_command(CLI::App& app, Subcommands& out);    // cmd_attack.cpp
void add_table_command(CLI::App& app, Subcommands& out);     // cmd_table.cpp
void add_sweep_commands(CLI::App& app, Subcommands& out);    // cmd_sweep.cpp: sweep, sweep-status, sweep-task

}  // namespace normout::cli
