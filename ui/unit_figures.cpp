// One unit's figures for `normout-lab export --unit LAYER:UNIT` (declared in figure_set.h).
#include <QDir>
#include <cmath>
#include <memory>
#include <stdexcept>

#include "engine/runfile/run_file_instrument.h"
#include "engine/runfile/tables.h"
#include "plots/plot_theme.h"
#include "plots/qcp.h"
#include "ui/figure_set.h"
#include "ui/unit_fractions.h"

namespace normout::ui {

QStringList export_unit_figures(const std::vector<const RunData*>& runs, const QString& folder, int layer, int64_t unit,
                                const FigureSetOptions& o) {
    std::vector<std::string> configs, names;
    std::vector<std::vector<UnitHistograms>> histories;
    for (const RunData* r : runs) {
        configs.push_back(r->config_json);
        names.push_back(r->name.empty() ? r->path : r->name);
        try {
            histories.push_back(read_unit_history(r->path, layer, unit));
        } catch (const std::exception& e) {
            throw std::runtime_error("unit " + std::to_string(layer) + ":" + std::to_string(unit) + ": " + e.what());
        }
    }
    const auto labels = run_labels(configs, names);
    const QString stem = QStringLiteral("unit_layer%1_unit%2").arg(layer).arg(unit);
    QStringList written;

    std::unique_ptr<QCustomPlot> hist(
        make_print_plot(QObject::tr("activation of unit %1 of layer %2").arg(unit).arg(layer),
                        QObject::tr("fraction of the unit's values")));
    std::unique_ptr<QCustomPlot> keep(
        make_print_plot(QObject::tr("keep probability p"), QObject::tr("fraction of the unit's values")));
    for (std::size_t r = 0; r < runs.size(); ++r) {
        if (histories[r].empty()) continue;
        const UnitHistograms& h = histories[r].back();
        const UnitFractions f = unit_fractions(h);
        if (f.empty) continue;
        const QColor color = plots::series_color(static_cast<int>(r));
        QCPGraph* g = hist->addGraph();
        g->setName(QObject::tr("%1, epoch %2 (zeros %3%)")
                       .arg(QString::fromStdString(labels[r]))
                       .arg(h.epoch)
                       .arg(100.0 * f.zero_fraction, 0, 'f', 1));
        g->setLineStyle(QCPGraph::lsStepCenter);
        g->setPen(QPen(color, 1.5));
        g->setData(f.x, f.y, true);
        if (!f.keep_x.isEmpty()) {
            QCPGraph* kg = keep->addGraph();
            kg->setName(QString::fromStdString(labels[r]));
            kg->setLineStyle(QCPGraph::lsStepCenter);
            kg->setPen(QPen(color, 1.5));
            kg->setData(f.keep_x, f.keep_y, true);
        }

        // This run's unit over the epochs: one column per epoch, bins fixed for the run.
        std::unique_ptr<QCustomPlot> map_plot(make_print_plot(
            QObject::tr("epoch"), QObject::tr("activation of unit %1 of layer %2").arg(unit).arg(layer)));
        const auto& rows = histories[r];
        auto* map = new QCPColorMap(map_plot->xAxis, map_plot->yAxis);
        const int bins = h.bins;
        map->data()->setSize(static_cast<int>(rows.size()), bins);
        const double lo = h.edges.front(), hi = h.edges.back(), cell = (hi - lo) / bins;
        map->data()->setRange(QCPRange(rows.front().epoch, rows.back().epoch), QCPRange(lo + cell / 2, hi - cell / 2));
        for (std::size_t e = 0; e < rows.size(); ++e)
            for (int b = 0; b < bins; ++b)
                map->data()->setCell(static_cast<int>(e), b,
                                     std::log1p(rows[e].counts[static_cast<std::size_t>(b) + 2]));
        map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
        map->setInterpolate(false);
        map->rescaleDataRange(true);
        map->setName(QObject::tr("%1: log(1 + count)").arg(QString::fromStdString(labels[r])));
        map_plot->rescaleAxes();
        written << save_figure(map_plot.get(), folder, stem + QStringLiteral("_epochs_run%1").arg(r + 1), o);
    }
    if (hist->graphCount() > 0) {
        hist->rescaleAxes();
        hist->yAxis->setRangeLower(0);
        written << save_figure(hist.get(), folder, stem + "_histogram", o);
    }
    if (keep->graphCount() > 0) {
        keep->rescaleAxes();
        keep->xAxis->setRange(0, 1);
        keep->yAxis->setRangeLower(0);
        written << save_figure(keep.get(), folder, stem + "_keep", o);
    }
    return written;
}

}  // namespace normout::ui
