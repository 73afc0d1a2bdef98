#include "ui/run_data.h"

#include <QJsonDocument>
#include <QJsonObject>
#include <algorithm>
#include <cmath>

namespace normout::ui {

void RunData::apply(const RunUpdate& u) {
    if (u.started) {
        path = u.start.out_path;
        epochs_planned = u.start.epochs;
        steps_per_epoch = u.start.steps_per_epoch;
        layers = u.start.instrumented;
        step_extra = u.start.step_extra;
        epoch_extra = u.start.epoch_extra;
        status = "running";
        // A resumed run continues the history that was loaded from its file.
        while (!steps.empty() && steps.back().global_step > u.start.first_step)
            steps.pop_back();
        for (auto& [layer, rows] : layer_steps)
            while (!rows.empty() && rows.back().global_step > u.start.first_step)
                rows.pop_back();
    }
    steps.insert(steps.end(), u.steps.begin(), u.steps.end());
    epochs.insert(epochs.end(), u.epochs.begin(), u.epochs.end());
    for (const auto& s : u.layer_steps)
        layer_steps[s.layer].push_back(s);
    for (const auto& e : u.layer_epochs) {
        LayerEpochSnapshot kept = e;
        if (!e.unit_hists.empty()) unit_latest[e.layer] = unit_histograms_of(e);
        kept.unit_hists.clear();
        kept.unit_hists.shrink_to_fit();
        kept.unit_keep_hists.clear();
        kept.unit_keep_hists.shrink_to_fit();
        layer_epochs[e.layer].push_back(std::move(kept));
        if (const auto it = epoch_so_far.find(e.layer); it != epoch_so_far.end() && it->second.epoch <= e.epoch)
            epoch_so_far.erase(it);
    }
    for (const auto& e : u.layer_epoch_so_far) {
        const auto done = layer_epochs.find(e.layer);
        if (done == layer_epochs.end() || done->second.empty() || done->second.back().epoch < e.epoch)
            epoch_so_far[e.layer] = e;
    }
    for (const auto& [table, rows] : u.analysis) {
        auto& t = analysis.tables[table].rows;
        t.insert(t.end(), rows.begin(), rows.end());
    }
    if (u.paused_changed) status = u.paused ? "paused" : "running";
    if (u.finished) {
        status = to_string(u.outcome.status);
        status_message = u.outcome.message;
    }
}

namespace {

int index_of(const std::vector<std::string>& names, const std::string& name) {
    const auto it = std::find(names.begin(), names.end(), name);
    return it == names.end() ? -1 : static_cast<int>(it - names.begin());
}

}  // namespace

int RunData::step_extra_index(const std::string& name) const {
    return index_of(step_extra, name);
}

int RunData::epoch_extra_index(const std::string& name) const {
    return index_of(epoch_extra, name);
}

double extra_value(const std::vector<double>& extra, int index) {
    return index >= 0 && static_cast<std::size_t>(index) < extra.size() ? extra[static_cast<std::size_t>(index)]
                                                                        : std::nan("");
}

UnitHistograms unit_histograms_of(const LayerEpochSnapshot& s) {
    UnitHistograms h;
    h.layer = s.layer;
    h.epoch = s.epoch;
    h.bins = s.unit_edges.size() > 1 ? static_cast<int>(s.unit_edges.size()) - 1 : 0;
    h.units = h.bins > 0 ? static_cast<int64_t>(s.unit_hists.size()) / (h.bins + 3) : 0;
    h.edges = s.unit_edges;
    h.counts = s.unit_hists;
    h.keep = s.unit_keep_hists;
    return h;
}

void thin_for_compare(RunData& run, std::size_t max_layer_rows) {
    for (auto& [layer, snaps] : run.layer_epochs)
        if (snaps.size() > 1) snaps.erase(snaps.begin(), snaps.end() - 1);
    for (auto& [layer, rows] : run.layer_steps) {
        if (rows.size() <= max_layer_rows || max_layer_rows < 2) continue;
        const std::size_t k = (rows.size() + max_layer_rows - 2) / (max_layer_rows - 1);
        std::vector<LayerStepStats> kept;
        kept.reserve(rows.size() / k + 2);
        for (std::size_t i = 0; i + 1 < rows.size(); i += k)
            kept.push_back(rows[i]);
        kept.push_back(rows.back());
        rows = std::move(kept);
    }
}

RunData load_run_data(const std::string& path) {
    const RunInfo info = read_run(path);
    RunData d;
    d.path = path;
    d.name = info.header.name;
    d.preset = info.header.preset;
    d.status = info.status;
    d.status_message = info.status_message;
    d.config_json = info.header.config_json;
    d.epochs = info.epochs;
    d.steps = info.steps;
    d.step_extra = info.header.step_extra;
    d.epoch_extra = info.header.epoch_extra;
    const QJsonObject config = QJsonDocument::fromJson(QByteArray::fromStdString(info.header.config_json)).object();
    d.epochs_planned = config["train"].toObject()["epochs"].toInt();
    InstrumentData inst = read_instrumentation(path);
    d.layers = inst.layers;
    d.layer_steps = std::move(inst.steps);
    d.layer_epochs = std::move(inst.epochs);
    d.ewma_alpha = inst.ewma_alpha > 0 ? inst.ewma_alpha : 0.02;
    d.analysis = read_analysis(path);
    return d;
}

}  // namespace normout::ui
