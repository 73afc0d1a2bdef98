#include "engine/config/schedule.h"

#include <algorithm>
#include <cmath>

namespace normout {

bool layer_active(const LayerSpec& spec, int epoch) {
    return epoch >= spec.active_from && (spec.active_until <= 0 || epoch < spec.active_until);
}

std::string scheduled_quantity(const LayerSpec& spec) {
    if (spec.type == "normout" && spec.variant.find("softmax") != std::string::npos) return "temperature";
    if (spec.type == "dropout") return "p";
    return "";
}

double scheduled_value(const LayerSpec& spec, int epoch) {
    const std::string q = scheduled_quantity(spec);
    if (q.empty()) return std::nan("");
    const double v0 = q == "temperature" ? spec.temperature : spec.p;
    if (spec.schedule == "constant" || spec.schedule_until <= spec.schedule_from) return v0;
    const double v1 = spec.schedule_to;
    const double f = std::clamp(
        static_cast<double>(epoch - spec.schedule_from) / static_cast<double>(spec.schedule_until - spec.schedule_from),
        0.0, 1.0);
    if (f <= 0.0) return v0;
    if (f >= 1.0) return v1;
    if (spec.schedule == "cosine") return v1 + (v0 - v1) * 0.5 * (1.0 + std::cos(M_PI * f));
    return v0 + (v1 - v0) * f;
}

LayerSpec layer_at_epoch(const LayerSpec& spec, int epoch) {
    LayerSpec out = spec;
    const std::string q = scheduled_quantity(spec);
    if (q == "temperature") out.temperature = scheduled_value(spec, epoch);
    if (q == "p") out.p = scheduled_value(spec, epoch);
    return out;
}

bool has_schedule(const LayerSpec& spec) {
    return spec.active_from > 0 || spec.active_until > 0 ||
           (spec.schedule != "constant" && !scheduled_quantity(spec).empty());
}

}  // namespace normout

namespace normout {

std::vector<ScheduleColumn> schedule_columns(const std::vector<LayerInfo>& table) {
    std::vector<ScheduleColumn> out;
    for (std::size_t i = 0; i < table.size(); ++i) {
        const LayerInfo& l = table[i];
        if (!l.from_surgery || (l.kind != "NormOut" && l.kind != "Dropout")) continue;
        const int index = static_cast<int>(i);
        const std::string prefix = "layer" + std::to_string(index) + "_";
        out.push_back({prefix + "active", index, "active"});
        const std::string q = scheduled_quantity(l.custom);
        if (!q.empty()) out.push_back({prefix + q, index, q});
    }
    return out;
}

std::vector<double> schedule_values(const std::vector<LayerInfo>& table, int epoch) {
    std::vector<double> out;
    for (const auto& c : schedule_columns(table)) {
        const LayerSpec& spec = table[static_cast<std::size_t>(c.layer)].custom;
        out.push_back(c.quantity == "active" ? (layer_active(spec, epoch) ? 1.0 : 0.0) : scheduled_value(spec, epoch));
    }
    return out;
}

}  // namespace normout
