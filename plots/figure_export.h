#pragma once
// Publication export of a plot: PNG at a chosen DPI, PDF and SVG as vector graphics (legends and
// axis labels included), at a chosen size and font; and the data behind the plot as CSV.
#include <QString>

class QCustomPlot;

namespace normout::plots {

struct ExportOptions {
    double width_mm = 160;  // a journal column is ~85 mm, a page ~170 mm
    double height_mm = 100;
    double dpi = 300;        // PNG only
    QString font_family;     // empty: the plot's own
    double font_points = 9;  // size of tick labels; titles and labels are scaled from it
};

// Writes `path` in the format of its extension (.png, .pdf, .svg). Returns an error message, or
// an empty string on success. The plot is restored afterwards.
QString export_plot(QCustomPlot* plot, const QString& path, const ExportOptions& options = {});

// The data of every named curve: "series,x,y" rows, plus error bars or band edges where present.
QString export_csv(QCustomPlot* plot, const QString& path);

}  // namespace normout::plots
