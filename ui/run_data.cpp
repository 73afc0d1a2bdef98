#include "ui/run_data.h"

#include <QJsonDocument>
#include <QJsonObject>

namespace normout::ui {

void RunData::apply(const RunUpdate& u) {
    if (u.started) {
        path = u.start.out_path;
        epochs_planned = u.start.epochs;
        steps_per_epoch = u.start.steps_per_epoch;
        layers = u.start.instrumented;
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
    for (const auto& e : u.layer_epochs)
        layer_epochs[e.layer].push_back(e);
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
