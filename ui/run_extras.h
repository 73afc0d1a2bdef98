#pragma once
// The extra series a run records (RunData::step_extra, epoch_extra; docs/run-file.md) grouped for
// plotting: each surgery layer's schedule (temperature or p, active window), the activation
// penalties, and single named series (robust_accuracy, objective). No widgets: the dashboard and
// the figure set share it.
#include <QString>
#include <QVector>
#include <string>
#include <vector>

#include "ui/run_data.h"

namespace normout::ui {

struct XY {
    QVector<double> x, y;
    bool empty() const { return x.isEmpty(); }
};

// Per-epoch values as a step curve on the dashboard's epoch axis, where epoch e (from 1) spans
// (e - 1, e]: the value of epoch e held from e - 1 to e, i.e. points (e - 1, v_e) and a last
// point (n, v_n) closing the final step (draw with a left step line).
XY held_per_epoch(const QVector<double>& epochs, const QVector<double>& values);

// A named extra series per step (step k at k / per_epoch on the epoch axis) or per epoch; empty
// when the run does not record it.
XY step_extra_series(const RunData& run, const std::string& name, double per_epoch);
XY epoch_extra_series(const RunData& run, const std::string& name);

struct LayerSchedule {
    int layer = 0;                          // index in the final table
    QString quantity;                       // "temperature", "p", or "" (the layer has only an active window)
    QVector<double> epochs, value, active;  // as recorded, per epoch (value NaN without a quantity)
    QVector<double> planned;                // the configuration's value in epochs 1..planned (may be empty)
    // Whether it is a schedule worth a plot: the configuration gives the layer an active window
    // or a moving value, or the recorded values change (when the configuration cannot be read).
    bool scheduled = false;
};

// Every layer with schedule columns (layer<L>_active, layer<L>_temperature, layer<L>_p), by index.
std::vector<LayerSchedule> layer_schedules(const RunData& run);

struct PenaltyTerm {
    int layer = 0;
    QString kind;  // "l1" or "l2"
    XY steps;      // per step, on the epoch axis
    XY epochs;     // per epoch (the mean over its steps)
};

// The penalty terms (penalty_l1_<L>, penalty_l2_<L>), by layer then kind, leaving out those with
// weight 0 in the configuration or with only zeros recorded.
std::vector<PenaltyTerm> penalty_terms(const RunData& run, double per_epoch);

}  // namespace normout::ui
