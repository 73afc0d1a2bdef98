#pragma once
// Built-in presets: `quick` (a demo that trains in minutes on two cores), one per row of the
// thesis's Table 3.1, and the experiments of its future work (future/*, section 4.3).
#include <string>
#include <vector>

#include "engine/config/config.h"

namespace normout {

struct Preset {
    std::string name;   // "thesis/temporal-softmax-48-51-T100"
    std::string title;  // the thesis's row label, e.g. "Temporal Softmax 48 51 (T=100)"
    std::string description;
    RunConfig config;
    double thesis_train_accuracy = -1;  // Table 3.1, percent; -1 when not a thesis row
    double thesis_test_accuracy = -1;
    std::string thesis_section;  // where in the thesis the experiment comes from, e.g. "4.3.1"
};

const std::vector<Preset>& presets();
// The future/* presets (presets_future.cpp), part of presets().
std::vector<Preset> future_presets();
const Preset* find_preset(const std::string& name);
RunConfig preset_config(const std::string& name);  // throws ConfigError naming "preset"

}  // namespace normout
