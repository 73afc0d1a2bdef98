#include "config_args.h"

#include <sstream>
#include <stdexcept>

#include "engine/config/presets.h"

namespace normout::cli {

void add_config_options(CLI::App* cmd, ConfigArgs& a) {
    cmd->add_option("--preset", a.preset, "Start from a preset (see `normout presets`)");
    cmd->add_option("--config", a.config_file, "JSON configuration file (applied after the preset)")
        ->check(CLI::ExistingFile);
    cmd->add_option("--set", a.sets, "Override a setting, key=value (see `normout settings`); repeatable")->take_all();
    cmd->add_option("--data", a.data_root,
                    "Data directory (searched before $NORMOUT_DATA and the default data directory)");
}

RunConfig resolve_config(const ConfigArgs& a) {
    RunConfig c = a.preset.empty() ? RunConfig{} : preset_config(a.preset);
    if (!a.config_file.empty()) apply_config_file(c, a.config_file);
    for (const auto& s : a.sets)
        apply_override(c, s);
    validate(c);
    return c;
}

std::vector<int> parse_index_list(const std::string& text, const std::string& field) {
    std::vector<int> out;
    std::stringstream ss(text);
    for (std::string part; std::getline(ss, part, ',');) {
        try {
            std::size_t used = 0;
            out.push_back(std::stoi(part, &used));
            if (used != part.size()) throw std::invalid_argument(part);
        } catch (const std::exception&) {
            throw ConfigError(field, "'" + part + "' is not a layer index");
        }
    }
    return out;
}

}  // namespace normout::cli
