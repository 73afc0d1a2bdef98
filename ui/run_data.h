#pragma once
// Everything the lab shows about one run, as plain values: filled from a run file, or live from
// the training engine through RunUpdate batches. No torch here (ui/ never sees it).
#include <QMetaType>
#include <map>
#include <string>
#include <vector>

#include "engine/runfile/layer_stats.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/session/observer.h"

namespace normout::ui {

// A batch of what the engine reported since the previous batch.
struct RunUpdate {
    bool started = false;
    RunStartInfo start;
    bool has_progress = false;
    StepProgress progress;  // the latest
    std::vector<StepRecord> steps;
    std::vector<EpochRecord> epochs;
    std::vector<LayerStepStats> layer_steps;
    std::vector<LayerEpochSnapshot> layer_epochs;
    std::vector<LayerEpochSnapshot> layer_epoch_so_far;  // the epoch in progress (replaces the last)
    std::vector<std::pair<std::string, std::vector<AnalysisRow>>> analysis;  // table, rows (attacks, flatness)
    std::vector<std::string> messages;
    bool paused_changed = false;
    bool paused = false;
    bool finished = false;
    RunOutcome outcome;
};

struct RunData {
    std::string path;
    std::string name;
    std::string preset;
    std::string status;  // running, finished, stopped, interrupted, diverged, failed
    std::string status_message;
    std::string config_json;
    int epochs_planned = 0;
    int64_t steps_per_epoch = 0;
    std::vector<EpochRecord> epochs;
    std::vector<StepRecord> steps;
    // Names of the steps' and epochs' extra values (RunHeader::step_extra, epoch_extra).
    std::vector<std::string> step_extra, epoch_extra;
    std::vector<InstrumentedLayer> layers;
    std::map<int, std::vector<LayerStepStats>> layer_steps;
    // Finished epochs. Their per-unit histograms are not kept here (100 epochs of a 4096-unit
    // layer would hold ~200 MB): the newest live ones are in unit_latest, the others are read
    // from the run file when asked for (ui/unit_source.h).
    std::map<int, std::vector<LayerEpochSnapshot>> layer_epochs;
    std::map<int, UnitHistograms> unit_latest;       // per layer, the newest finished epoch's
    std::map<int, LayerEpochSnapshot> epoch_so_far;  // per layer, the epoch in progress (live)
    AnalysisData analysis;
    double ewma_alpha = 0.02;

    bool empty() const { return steps.empty() && epochs.empty(); }
    // Column of a named extra series, -1 when the run does not record it.
    int step_extra_index(const std::string& name) const;
    int epoch_extra_index(const std::string& name) const;
    // Appends a batch from the engine.
    void apply(const RunUpdate& update);
};

// Value `index` of a record's extras; NaN when missing (rows written before a series existed).
double extra_value(const std::vector<double>& extra, int index);

// The per-unit histograms a snapshot carries (none when bins or counts are missing).
UnitHistograms unit_histograms_of(const LayerEpochSnapshot& s);

// What the Compare tab keeps of a run, so that dozens of long runs fit in memory (25 runs of
// 100 epochs x 391 steps with two 4096-unit layers took ~1 GB in full, ~0.3 GB so): the last
// epoch's snapshot of each layer (the unit overlays read the file), and of the per-step layer
// statistics every k-th row, at most max_layer_rows per layer, the last row always.
void thin_for_compare(RunData& run, std::size_t max_layer_rows = 4096);

// Reads a run file (all its segments): throws RunFileError with a clear message.
RunData load_run_data(const std::string& path);

}  // namespace normout::ui

Q_DECLARE_METATYPE(normout::ui::RunUpdate)
Q_DECLARE_METATYPE(normout::ui::RunData)
