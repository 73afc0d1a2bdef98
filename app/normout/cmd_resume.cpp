// `normout resume`: continue a stopped or interrupted run exactly, from its newest checkpoint.
#include <memory>

#include "command.h"
#include "run_training.h"

namespace normout::cli {

namespace {

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<ResumeArgs>();
    auto* cmd = app.add_subcommand("resume", "Continue a stopped or interrupted run from its newest checkpoint");
    cmd->add_option("run", a->run, "Run file (.h5)")->required();
    cmd->add_option("--data", a->data_root, "Data directory (as for train)");
    cmd->add_option("--max-steps", a->max_steps, "Stop cleanly at this global step");
    cmd->add_flag("--quiet", a->quiet, "Print only errors");
    out.push_back({cmd, [a] { return run_resume(*a); }});
}

}  // namespace

const CommandRegistration registration{20, add_commands};

}  // namespace normout::cli
