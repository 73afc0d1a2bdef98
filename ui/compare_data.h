#pragma once
// Curves for comparing runs: any recorded metric of a run as x (epochs; steps as fractions of
// an epoch) and y, smoothed or not; runs that differ only by seed averaged into a mean with a
// ±1 standard-deviation band; legends naming what differs. No widgets here.
#include <QString>
#include <QVector>
#include <vector>

#include "ui/run_data.h"

namespace normout::ui {

struct Metric {
    enum class Kind { Epoch, Step, Layer, Keep, Attack, Flatness };
    Kind kind = Kind::Epoch;
    QString field;         // epoch: test_loss, ...; step: loss|accuracy; either: the name of an extra
                           // series (RunData::epoch_extra, step_extra); layer: mean|max|std|var|sparsity;
                           // keep: mean_p|expected_drop|realised_drop|frac_p_low|frac_p_high
    int layer = -1;        // layer and keep metrics
    bool input = false;    // layer metrics: the layer's input instead of its output
    QString attack, norm;  // attack metrics
    double eps = 0;
    QString measure;  // flatness metrics
    QString title() const;
    QString y_label() const;
    bool operator==(const Metric& o) const;
};

struct Curve {
    QString label;
    QVector<double> x, y;
    QVector<double> low, high;  // a band (seeds' spread, or a confidence interval) when not empty
};

// The metrics recorded in at least one of the runs.
std::vector<Metric> available_metrics(const std::vector<const RunData*>& runs);

// One run's curve; smoothing is the moving-average weight of the newest value (1: raw).
Curve extract(const RunData& run, const Metric& metric, double smoothing = 1.0);

// One curve per run, or per group of runs differing only by train.seed (mean ± sd) when
// group_seeds; labels from the runs' names or the settings that differ.
std::vector<Curve> compare(const std::vector<const RunData*>& runs, const Metric& metric, double smoothing,
                           bool group_seeds);

// The settings whose values differ between runs: rows of (key, value per run).
std::vector<std::pair<QString, QStringList>> differing_settings(const std::vector<const RunData*>& runs);

// Flatness against robustness (thesis section 4.3.1): one point per run with both results.
struct ScatterPoint {
    QString label;
    double x = 0, y = 0;
};
std::vector<ScatterPoint> flatness_vs(const std::vector<const RunData*>& runs, const QString& measure,
                                      const Metric& robustness);

}  // namespace normout::ui
