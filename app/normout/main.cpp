// `normout`: the lab's command line. Thin: parses arguments and calls the commands.
#include <fmt/core.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <exception>

#include "commands.h"
#include "engine/config.h"
#include "engine/data/image_set.h"
#include "engine/hdf5_handle.h"
#include "engine/version.h"
#include "subcommand.h"

namespace {

void add_config_options(CLI::App* cmd, normout::cli::ConfigArgs& a) {
    cmd->add_option("--preset", a.preset, "Start from a preset (see `normout presets`)");
    cmd->add_option("--config", a.config_file, "JSON configuration file (applied after the preset)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", a.sets, "Override a setting, key=value (see `normout settings`); repeatable")->take_all();
    cmd->add_option("--data", a.data_root,
                    "Data directory (searched before $NORMOUT_DATA and the default data directory)");
}

std::string version_text() {
    return fmt::format("normout {} ({})\nLibTorch {}, CUDA {}, Qt {}, HDF5 {}", normout::project_version(),
                       normout::code_version(), normout::torch_version(), normout::cuda_version(),
                       normout::qt_version(), normout::hdf5_version());
}

}  // namespace

int main(int argc, char** argv) {
    using namespace normout::cli;
    CLI::App app{"NormOut Lab: synaptic-failure dropout experiments (train, inspect and benchmark runs)", "normout"};
    app.set_version_flag("--version", version_text());
    app.require_subcommand(1);

    TrainArgs train;
    auto* c_train = app.add_subcommand("train", "Train a model and record the run in an HDF5 file");
    add_config_options(c_train, train.config);
    c_train->add_option("--out", train.out, "Run file to write (.h5)")->required();
    c_train->add_flag("--force", train.force, "Overwrite an existing run file");
    c_train->add_option("--max-steps", train.max_steps, "Stop cleanly after this many training steps");
    c_train->add_flag("--quiet", train.quiet, "Print only errors");

    ResumeArgs resume;
    auto* c_resume = app.add_subcommand("resume", "Continue a stopped or interrupted run from its newest checkpoint");
    c_resume->add_option("run", resume.run, "Run file (.h5)")->required();
    c_resume->add_option("--data", resume.data_root, "Data directory (as for train)");
    c_resume->add_option("--max-steps", resume.max_steps, "Stop cleanly at this global step");
    c_resume->add_flag("--quiet", resume.quiet, "Print only errors");

    ConfigArgs layers;
    bool layers_json = false;
    auto* c_layers = app.add_subcommand("layers", "Print the indexed layer table (for layer surgery)");
    add_config_options(c_layers, layers);
    c_layers->add_flag("--json", layers_json, "Machine-readable output");

    bool presets_json = false;
    auto* c_presets = app.add_subcommand("presets", "List the presets (quick and the thesis's Table 3.1 rows)");
    c_presets->add_flag("--json", presets_json, "Machine-readable output");
    std::string presets_export;
    c_presets->add_option("--export", presets_export,
                          "Write each preset as a configuration file (NAME.json, '/' as '-') into this folder");

    auto* c_settings = app.add_subcommand("settings", "List every configuration key with its meaning");

    ConfigArgs config;
    auto* c_config = app.add_subcommand("config", "Print the resulting configuration as JSON (save it with >)");
    add_config_options(c_config, config);

    std::string info_path;
    bool info_json = false;
    bool info_layers = false;
    auto* c_info = app.add_subcommand("info", "Show a run file: configuration, status and metrics");
    c_info->add_option("run", info_path, "Run file (.h5)")->required();
    c_info->add_flag("--json", info_json, "Machine-readable output");
    c_info->add_flag("--layers", info_layers,
                     "Final moving averages of the instrumented layers' statistics (thesis tables 3.2/3.3)");

    FetchArgs fetch;
    auto* c_data = app.add_subcommand("data", "Manage data sets");
    c_data->require_subcommand(1);
    auto* c_fetch = c_data->add_subcommand("fetch", "Download, verify and unpack a data set (cifar10)");
    c_fetch->add_option("dataset", fetch.dataset, "Data set to fetch")->required()->check(CLI::IsMember({"cifar10"}));
    c_fetch->add_option("--data", fetch.data_root, "Data directory to unpack into");
    c_fetch->add_option("--url", fetch.url, "Download from this address instead of the official one");
    c_fetch->add_option("--md5", fetch.md5, "Expected MD5 checksum (default: the official release's)");
    c_fetch->add_option("--archive", fetch.archive, "Unpack this already downloaded file instead")
        ->check(CLI::ExistingFile);
    c_fetch->add_flag("--force", fetch.force, "Replace an existing copy");
    c_fetch->add_flag("--keep-archive", fetch.keep_archive, "Keep the downloaded .tar.gz");

    BenchArgs bench;
    auto* c_bench = app.add_subcommand("bench", "Images per second of the training step and of the data pipeline");
    add_config_options(c_bench, bench.config);
    c_bench->add_option("--steps", bench.steps, "Timed steps")->check(CLI::Range(1, 100000));
    c_bench->add_option("--warmup", bench.warmup, "Untimed warm-up steps")->check(CLI::Range(0, 1000));
    c_bench->add_flag("--json", bench.json, "Print one JSON line");

    // Past a file-size limit, writes should fail with an error the lab reports, not kill it.
    std::signal(SIGXFSZ, SIG_IGN);
    normout::silence_hdf5_errors();
    // Commands that live in files of their own (see subcommand.h).
    Subcommands registered;
    add_attack_command(app, registered);
    add_flatness_command(app, registered);
    add_table_command(app, registered);
    add_sweep_commands(app, registered);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }

    try {
        if (c_train->parsed()) return run_train(train);
        if (c_resume->parsed()) return run_resume(resume);
        if (c_layers->parsed()) return run_layers(layers, layers_json);
        if (c_presets->parsed())
            return presets_export.empty() ? run_presets(presets_json) : export_presets(presets_export);
        if (c_settings->parsed()) return run_settings();
        if (c_config->parsed()) return run_config(config);
        if (c_info->parsed())
            return info_layers ? run_info_layers(info_path, info_json) : run_info(info_path, info_json);
        if (c_fetch->parsed()) return run_fetch(fetch);
        if (c_bench->parsed()) return run_bench(bench);
        for (const auto& r : registered)
            if (r.command->parsed()) return r.run();
    } catch (const normout::ConfigError& e) {
        fmt::print(stderr, "normout: invalid configuration: {}\n", e.what());
        return kExitError;
    } catch (const normout::DataError& e) {
        fmt::print(stderr, "normout: data error: {}\n", e.what());
        return kExitError;
    } catch (const normout::RunFileError& e) {
        fmt::print(stderr, "normout: run file error: {}\n", e.what());
        return kExitError;
    } catch (const std::exception& e) {
        fmt::print(stderr, "normout: error: {}\n", e.what());
        return kExitError;
    }
    return kExitError;
}
