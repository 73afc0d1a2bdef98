#include "plots/plot_theme.h"

#include "plots/qcp.h"

#include <QApplication>
#include <QPalette>
#include <cmath>

namespace normout::plots {

void apply_theme(QCustomPlot* plot) {
    const QPalette pal = plot->palette();
    const QColor bg = pal.color(QPalette::Base), fg = pal.color(QPalette::Text);
    const bool dark = bg.lightness() < 128;
    const QColor grid = dark ? QColor(80, 80, 80) : QColor(220, 220, 220);
    plot->setBackground(bg);
    for (QCPAxis* axis : {plot->xAxis, plot->yAxis, plot->xAxis2, plot->yAxis2}) {
        axis->setBasePen(QPen(fg));
        axis->setTickPen(QPen(fg));
        axis->setSubTickPen(QPen(fg));
        axis->setTickLabelColor(fg);
        axis->setLabelColor(fg);
        axis->grid()->setPen(QPen(grid, 1, Qt::DotLine));
        axis->grid()->setZeroLinePen(QPen(grid));
    }
    plot->legend->setBrush(QBrush(faint(bg, 220)));
    plot->legend->setBorderPen(QPen(grid));
    plot->legend->setTextColor(fg);
    if (auto* title = qobject_cast<QCPTextElement*>(plot->plotLayout()->element(0, 0))) title->setTextColor(fg);
}

QColor series_color(int i) {
    // Tableau 10: distinct, colour-blind friendly enough, works on both backgrounds.
    static const QColor colors[] = {
        QColor(31, 119, 180), QColor(255, 127, 14),  QColor(44, 160, 44),   QColor(214, 39, 40),  QColor(148, 103, 189),
        QColor(140, 86, 75),  QColor(227, 119, 194), QColor(127, 127, 127), QColor(188, 189, 34), QColor(23, 190, 207)};
    return colors[static_cast<unsigned>(i) % 10];
}

QColor faint(const QColor& c, int alpha) {
    QColor f = c;
    f.setAlpha(alpha);
    return f;
}

QVector<double> ewma(const QVector<double>& values, double alpha) {
    QVector<double> out(values.size(), NAN);
    double m = NAN;
    for (int i = 0; i < values.size(); ++i) {
        const double x = values[i];
        if (std::isfinite(x)) m = std::isfinite(m) ? alpha * x + (1 - alpha) * m : x;
        out[i] = std::isfinite(x) ? m : NAN;
    }
    return out;
}

}  // namespace normout::plots
