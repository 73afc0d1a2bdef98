// The configuration readers (engine/config): configuration JSON (config_from_json, overlays,
// configuration files), `--set key=value` overrides, validation and the layer table. Each
// documents ConfigError for bad input; anything else escaping, a crash or a sanitizer report is a
// finding. A configuration that validates must also survive the way run files and sweep plans
// store it: config_to_json, then config_from_json, gives back the same configuration.
//
// Input: mode:u8 preset:u8 text. By mode % 4:
//   0  the text is a complete configuration (config_from_json)
//   1  the text is a JSON overlay on the preset's configuration (apply_json_overlay)
//   2  the text is lines of key=value applied to the preset's configuration (apply_override),
//      one after another as repeated --set options are
//   3  the text is a configuration file (load_config_file, and apply_config_file on the preset)
// preset % (number of presets + 1) picks the preset; the last value means the defaults.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "engine/config/config.h"
#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "fuzz/fuzz_common.h"

namespace {

[[noreturn]] void finding(const std::string& what, const std::string& json) {
    std::fprintf(stderr, "FINDING: %s\nconfiguration:\n%s\n", what.c_str(), json.substr(0, 4000).c_str());
    std::abort();
}

// What a valid configuration is used for: the layer table (`normout layers`, the lab) and storage.
void use(const normout::RunConfig& c) {
    try {
        normout::validate(c);
    } catch (const normout::ConfigError&) {
        return;
    }
    for (int channels : {1, 3}) {
        const auto table = normout::layer_table(c.model, channels, 10);
        for (const auto& layer : table)
            layer.describe();
        normout::custom_layer_indices(table);
    }
    const std::string json = normout::config_to_json(c);
    normout::RunConfig back;
    try {
        back = normout::config_from_json(json);
        normout::validate(back);
    } catch (const normout::ConfigError& e) {
        finding(std::string("a valid configuration does not read back: ") + e.what(), json);
    }
    if (normout::config_to_json(back) != json) finding("a valid configuration reads back differently", json);
}

normout::RunConfig start(uint8_t choice) {
    const auto& all = normout::presets();
    const size_t k = choice % (all.size() + 1);
    return k < all.size() ? all[k].config : normout::RunConfig{};
}

}  // namespace

namespace {
void one_input(const uint8_t* data, size_t size) {
    fuzz::Cursor in{data, size};
    const int mode = in.byte() % 4;
    normout::RunConfig config = start(in.byte());
    const std::string text = in.rest();
    try {
        switch (mode) {
            case 0:
                config = normout::config_from_json(text);
                break;
            case 1:
                normout::apply_json_overlay(config, text);
                break;
            case 2: {
                size_t begin = 0;
                while (begin <= text.size()) {
                    size_t end = text.find('\n', begin);
                    if (end == std::string::npos) end = text.size();
                    try {
                        normout::apply_override(config, std::string_view(text).substr(begin, end - begin));
                    } catch (const normout::ConfigError&) {
                        // a refused override leaves the configuration as it was; go on with the next
                    }
                    begin = end + 1;
                }
                break;
            }
            default: {
                static const std::string path = fuzz::scratch("config") + "/config.json";
                fuzz::write_file(path, text);
                try {
                    use(normout::load_config_file(path));
                } catch (const normout::ConfigError&) {
                }
                normout::apply_config_file(config, path);
                break;
            }
        }
    } catch (const normout::ConfigError&) {
    }
    use(config);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    one_input(data, size);
    return 0;
}
