#pragma once
// Colours and styling of the lab's plots, following the application palette (light or dark).
#include <QColor>
#include <QVector>

class QCustomPlot;

namespace normout::plots {

// Applies the palette's window/text colours to axes, grid, legend and background.
void apply_theme(QCustomPlot* plot);
// A qualitative colour cycle readable on light and dark backgrounds.
QColor series_color(int i);
// The same colour, faded for raw (unsmoothed) curves and confidence bands.
QColor faint(const QColor& c, int alpha = 60);
// Exponentially weighted moving average of a series (NaN values are skipped, kept as NaN).
QVector<double> ewma(const QVector<double>& values, double alpha);

}  // namespace normout::plots
