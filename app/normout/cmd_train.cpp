// `normout train`: train a configured model and record the run in an HDF5 file.
#include <memory>

#include "command.h"
#include "run_training.h"

namespace normout::cli {

namespace {

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<TrainArgs>();
    auto* cmd = app.add_subcommand("train", "Train a model and record the run in an HDF5 file");
    add_config_options(cmd, a->config);
    cmd->add_option("--out", a->out, "Run file to write (.h5)")->required();
    cmd->add_flag("--force", a->force, "Overwrite an existing run file");
    cmd->add_option("--max-steps", a->max_steps, "Stop cleanly after this many training steps");
    cmd->add_flag("--quiet", a->quiet, "Print only errors");
    out.push_back({cmd, [a] { return run_train(*a); }});
}

}  // namespace

const CommandRegistration registration{10, add_commands};

}  // namespace normout::cli
