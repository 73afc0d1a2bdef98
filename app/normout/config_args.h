#pragma once
// The options every command that builds a configuration shares: a preset, a file, then --set
// overrides, in that order, and the data folder.
#include <CLI/CLI.hpp>

#include <string>
#include <vector>

#include "engine/config/config.h"

namespace normout::cli {

struct ConfigArgs {
    std::string preset;
    std::string config_file;
    std::vector<std::string> sets;
    std::string data_root;  // --data
};

void add_config_options(CLI::App* cmd, ConfigArgs& args);

// "48,51" -> {48, 51}; throws ConfigError naming `field` for a part that is not an integer.
std::vector<int> parse_index_list(const std::string& text, const std::string& field);

// The configuration the options describe, validated (ConfigError otherwise).
RunConfig resolve_config(const ConfigArgs& args);

}  // namespace normout::cli
