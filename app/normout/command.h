#pragma once
// One way to add a command to `normout`: a file cmd_<name>.cpp ends with
//     const CommandRegistration registration{ORDER, add_<name>_command};
// where add_<name>_command adds its CLI11 subcommand, with options bound to state it owns, and
// the function that runs it. ORDER places the command in `normout --help`. main() parses and
// runs the one that was given; errors are thrown and reported by main().
#include <CLI/CLI.hpp>

#include <functional>
#include <vector>

namespace normout::cli {

struct Subcommand {
    CLI::App* command = nullptr;
    std::function<int()> run;  // returns the process exit code
};
using Subcommands = std::vector<Subcommand>;
using AddCommands = void (*)(CLI::App& app, Subcommands& out);

struct CommandRegistration {
    CommandRegistration(int order, AddCommands add);
};

// Adds every registered command to `app`, in their order.
Subcommands add_registered_commands(CLI::App& app);

// Exit codes.
constexpr int kExitOk = 0;
constexpr int kExitError = 1;      // bad input: configuration, data, files
constexpr int kExitFailed = 3;     // the run failed while training
constexpr int kExitDiverged = 4;   // the loss became NaN or infinite
constexpr int kExitStopped = 130;  // stopped by Ctrl-C (the file is valid)

}  // namespace normout::cli
