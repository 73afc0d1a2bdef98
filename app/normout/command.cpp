#include "command.h"

#include <algorithm>
#include <utility>

namespace normout::cli {

namespace {

// Filled by the static registrations of the cmd_*.cpp files before main() runs.
std::vector<std::pair<int, AddCommands>>& registry() {
    static std::vector<std::pair<int, AddCommands>> commands;
    return commands;
}

}  // namespace

CommandRegistration::CommandRegistration(int order, AddCommands add) {
    registry().emplace_back(order, add);
}

Subcommands add_registered_commands(CLI::App& app) {
    auto commands = registry();
    std::stable_sort(commands.begin(), commands.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    Subcommands out;
    for (const auto& [order, add] : commands)
        add(app, out);
    return out;
}

}  // namespace normout::cli
