#include "ui/run_extras.h"

#include <QRegularExpression>
#include <cmath>
#include <map>
#include <optional>

#include "engine/config/config.h"
#include "engine/config/model_spec.h"
#include "engine/config/schedule.h"

namespace normout::ui {

namespace {

// The run's configuration, when it parses (files of other versions may not).
std::optional<RunConfig> config_of(const RunData& run) {
    if (run.config_json.empty()) return std::nullopt;
    try {
        return config_from_json(run.config_json);
    } catch (const std::exception&) {
        return std::nullopt;
    }
}

// The layers of the final table, when the configuration's architecture has a table here.
std::vector<LayerInfo> table_of(const RunConfig& c) {
    try {
        return layer_table(c.model, c.data.dataset == "fashion-mnist" ? 1 : 3, 10);
    } catch (const std::exception&) {
        return {};
    }
}

bool all_zero(const QVector<double>& v) {
    for (double x : v)
        if (x != 0.0 && !std::isnan(x)) return false;
    return true;
}

}  // namespace

XY held_per_epoch(const QVector<double>& epochs, const QVector<double>& values) {
    XY out;
    for (int i = 0; i < epochs.size(); ++i) {
        out.x << epochs[i] - 1;
        out.y << values[i];
    }
    if (!epochs.isEmpty()) {
        out.x << epochs.back();
        out.y << values.back();
    }
    return out;
}

XY step_extra_series(const RunData& run, const std::string& name, double per_epoch) {
    XY out;
    const int c = run.step_extra_index(name);
    if (c < 0) return out;
    for (const auto& s : run.steps) {
        out.x << static_cast<double>(s.global_step) / per_epoch;
        out.y << extra_value(s.extra, c);
    }
    return out;
}

XY epoch_extra_series(const RunData& run, const std::string& name) {
    XY out;
    const int c = run.epoch_extra_index(name);
    if (c < 0) return out;
    for (const auto& e : run.epochs) {
        out.x << e.epoch;
        out.y << extra_value(e.extra, c);
    }
    return out;
}

std::vector<LayerSchedule> layer_schedules(const RunData& run) {
    static const QRegularExpression name_re(QStringLiteral("^layer(\\d+)_(active|temperature|p)$"));
    std::map<int, LayerSchedule> found;
    for (const auto& n : run.epoch_extra) {
        const auto m = name_re.match(QString::fromStdString(n));
        if (!m.hasMatch()) continue;
        LayerSchedule& s = found[m.captured(1).toInt()];
        s.layer = m.captured(1).toInt();
        const XY xy = epoch_extra_series(run, n);
        s.epochs = xy.x;
        if (m.captured(2) == QLatin1String("active")) {
            s.active = xy.y;
        } else {
            s.quantity = m.captured(2);
            s.value = xy.y;
        }
    }
    const auto config = config_of(run);
    const std::vector<LayerInfo> table = config ? table_of(*config) : std::vector<LayerInfo>{};
    std::vector<LayerSchedule> out;
    for (auto& [layer, s] : found) {
        if (s.value.isEmpty()) s.value.fill(NAN, s.epochs.size());
        if (s.active.isEmpty()) s.active.fill(1.0, s.epochs.size());
        const bool known = layer >= 0 && static_cast<std::size_t>(layer) < table.size() &&
                           table[static_cast<std::size_t>(layer)].from_surgery;
        if (known) {
            const LayerSpec& spec = table[static_cast<std::size_t>(layer)].custom;
            s.scheduled = has_schedule(spec);
            if (!s.quantity.isEmpty())
                for (int e = 0; e < config->train.epochs; ++e)
                    s.planned << scheduled_value(spec, e);
        } else {
            // Without the configuration, what was recorded decides.
            for (int i = 0; i < s.epochs.size(); ++i)
                s.scheduled |= s.active[i] != 1.0 || (s.value[i] != s.value[0] && !std::isnan(s.value[i]));
        }
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<PenaltyTerm> penalty_terms(const RunData& run, double per_epoch) {
    static const QRegularExpression name_re(QStringLiteral("^penalty_(l1|l2)_(\\d+)$"));
    std::map<std::pair<int, QString>, std::string> names;  // (layer, kind) -> series name
    for (const auto* list : {&run.step_extra, &run.epoch_extra})
        for (const auto& n : *list)
            if (const auto m = name_re.match(QString::fromStdString(n)); m.hasMatch())
                names[{m.captured(2).toInt(), m.captured(1)}] = n;
    const auto config = config_of(run);
    std::vector<PenaltyTerm> out;
    for (const auto& [key, name] : names) {
        if (config) {
            // A term whose weight is 0 adds nothing to the loss: not worth a curve.
            double weight = -1;
            for (const auto& p : config->train.penalties)
                if (p.layer == key.first) weight = key.second == QLatin1String("l1") ? p.l1 : p.l2;
            if (weight == 0.0) continue;
        }
        PenaltyTerm t{key.first, key.second, step_extra_series(run, name, per_epoch), epoch_extra_series(run, name)};
        if ((!t.steps.empty() || !t.epochs.empty()) && all_zero(t.steps.y) && all_zero(t.epochs.y)) continue;
        out.push_back(std::move(t));
    }
    return out;
}

}  // namespace normout::ui
