// `normout settings`: every configuration key with its type and meaning.
#include <fmt/format.h>

#include "command.h"
#include "engine/config/config.h"

namespace normout::cli {

namespace {

int run_settings() {
    for (const auto& s : describe_settings())
        fmt::print("{:<30} {:<8} {}\n", s.key, s.type, s.help);
    fmt::print(
        "\nSet them in a JSON file (--config) or with --set key=value; lists and objects take JSON,\n"
        "e.g. --set 'model.surgery=[{{\"op\":\"replace\",\"at\":[48,51],\"layer\":{{\"type\":\"dropout\"}}}}]'\n");
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto* cmd = app.add_subcommand("settings", "List every configuration key with its meaning");
    out.push_back({cmd, [] { return run_settings(); }});
}
}  // namespace

const CommandRegistration registration{50, add_commands};

}  // namespace normout::cli
