// `normout`: the lab's command line. Each command lives in its own cmd_<name>.cpp and registers
// itself (command.h); main() only parses, runs the one given and reports its errors.
#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include <csignal>
#include <exception>

#include "command.h"
#include "engine/config/config.h"
#include "engine/data/image_set.h"
#include "engine/runfile/hdf5_handle.h"
#include "engine/version.h"

namespace {

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
    // Past a file-size limit, writes should fail with an error the lab reports, not kill it.
    std::signal(SIGXFSZ, SIG_IGN);
    normout::silence_hdf5_errors();
    const Subcommands commands = add_registered_commands(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    }
    try {
        for (const auto& c : commands)
            if (c.command->parsed()) return c.run();
    } catch (const normout::ConfigError& e) {
        fmt::print(stderr, "normout: invalid configuration: {}\n", e.what());
    } catch (const normout::DataError& e) {
        fmt::print(stderr, "normout: data error: {}\n", e.what());
    } catch (const normout::RunFileError& e) {
        fmt::print(stderr, "normout: run file error: {}\n", e.what());
    } catch (const std::exception& e) {
        fmt::print(stderr, "normout: error: {}\n", e.what());
    }
    return kExitError;
}
