// `normout config`: the configuration a preset, a file and --set give, as JSON.
#include <fmt/format.h>

#include <memory>

#include "command.h"
#include "config_args.h"

namespace normout::cli {

namespace {

int run_config(const ConfigArgs& a) {
    fmt::print("{}\n", config_to_json(resolve_config(a)));
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<ConfigArgs>();
    auto* cmd = app.add_subcommand("config", "Print the resulting configuration as JSON (save it with >)");
    add_config_options(cmd, *a);
    out.push_back({cmd, [a] { return run_config(*a); }});
}
}  // namespace

const CommandRegistration registration{60, add_commands};

}  // namespace normout::cli
