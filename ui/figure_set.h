#pragma once
// The thesis-style figure set for a group of runs, written as publication files: per-neuron means
// with standard deviations (figures 3.1/3.2), sparsity, max, mean and standard deviation of the
// instrumented layers over training (3.3-3.10), test loss on a log scale (3.11), accuracy, and
// flatness against robustness when the runs hold those results, and the runs' extra series per
// epoch (robust training accuracy, objective, penalty terms, schedules). Each figure as PDF/SVG/PNG and
// the data behind it as CSV. Works on the offscreen platform (no display).
#include <QString>
#include <QStringList>
#include <cstdint>
#include <utility>
#include <vector>

#include "plots/figure_export.h"
#include "ui/run_data.h"

class QCustomPlot;

namespace normout::ui {

struct FigureSetOptions {
    plots::ExportOptions format;
    QStringList kinds = {"pdf", "svg", "png"};
    double smoothing = 0.02;  // moving-average weight for the per-step curves (1: raw)
    bool group_seeds = true;
    std::vector<int> layers;                     // empty: the instrumented layers of the runs
    std::vector<std::pair<int, int64_t>> units;  // (layer, unit): that unit's figures too
};

// Throws std::runtime_error naming the file that could not be written. Returns the files written.
QStringList export_figure_set(const std::vector<const RunData*>& runs, const QString& folder,
                              const FigureSetOptions& options = {});

// One unit's figures (ui/unit_figures.cpp): its histogram at each run's last epoch, overlaid as
// fractions of its values, its keep probabilities likewise, and per run its histograms over the
// epochs as a heat map. Read from the run files.
QStringList export_unit_figures(const std::vector<const RunData*>& runs, const QString& folder, int layer, int64_t unit,
                                const FigureSetOptions& options);

// Writes a plot in every format of the options and its data as CSV; returns the files.
QStringList save_figure(QCustomPlot* plot, const QString& folder, const QString& stem, const FigureSetOptions& options);

// A plot styled for print (white background, black text) whatever the desktop's palette.
QCustomPlot* make_print_plot(const QString& x_label, const QString& y_label);

}  // namespace normout::ui
