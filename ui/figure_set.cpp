#include "ui/figure_set.h"

#include <QDir>
#include <QPalette>
#include <QRegularExpression>
#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <set>
#include <stdexcept>

#include "plots/plot_theme.h"
#include "plots/qcp.h"
#include "ui/compare_data.h"
#include "ui/run_extras.h"

namespace normout::ui {

namespace {

void add_curves(QCustomPlot* plot, const std::vector<Curve>& curves) {
    int c = 0;
    for (const Curve& curve : curves) {
        const QColor color = plots::series_color(c++);
        QCPGraph* g = plot->addGraph();
        g->setName(curve.label);
        g->setPen(QPen(color, 1.5));
        g->setData(curve.x, curve.y, std::is_sorted(curve.x.begin(), curve.x.end()));
        if (!curve.low.isEmpty()) {
            QCPGraph* lo = plot->addGraph();
            QCPGraph* hi = plot->addGraph();
            lo->setData(curve.x, curve.low);
            hi->setData(curve.x, curve.high);
            lo->setPen(Qt::NoPen);
            hi->setPen(Qt::NoPen);
            hi->setBrush(plots::faint(color, 50));
            hi->setChannelFillGraph(lo);
            lo->removeFromLegend();
            hi->removeFromLegend();
        }
        if (curve.x.size() <= 12) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 4));
    }
    plot->rescaleAxes();
}

}  // namespace

QCustomPlot* make_print_plot(const QString& x_label, const QString& y_label) {
    auto* plot = new QCustomPlot;
    QPalette light;
    light.setColor(QPalette::Base, Qt::white);
    light.setColor(QPalette::Window, Qt::white);
    light.setColor(QPalette::Text, Qt::black);
    light.setColor(QPalette::WindowText, Qt::black);
    plot->setPalette(light);
    plots::apply_theme(plot);
    plot->xAxis->setLabel(x_label);
    plot->yAxis->setLabel(y_label);
    plot->legend->setVisible(true);
    plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    plot->resize(800, 500);
    return plot;
}

QStringList save_figure(QCustomPlot* plot, const QString& folder, const QString& stem, const FigureSetOptions& o) {
    QStringList written;
    plot->legend->setVisible(plot->legend->itemCount() > 0);
    for (const QString& kind : o.kinds) {
        const QString path = QDir(folder).filePath(stem + "." + kind);
        const QString error = plots::export_plot(plot, path, o.format);
        if (!error.isEmpty()) throw std::runtime_error(error.toStdString());
        written << path;
    }
    const QString csv = QDir(folder).filePath(stem + ".csv");
    const QString error = plots::export_csv(plot, csv);
    if (!error.isEmpty()) throw std::runtime_error(error.toStdString());
    written << csv;
    return written;
}

QStringList export_figure_set(const std::vector<const RunData*>& runs, const QString& folder,
                              const FigureSetOptions& o) {
    if (runs.empty()) throw std::runtime_error("no runs to draw");
    if (!QDir().mkpath(folder)) throw std::runtime_error(folder.toStdString() + ": cannot create the folder");
    QStringList written;
    auto save = [&](QCustomPlot* plot, const QString& stem) { written << save_figure(plot, folder, stem, o); };

    std::vector<int> layers = o.layers;
    if (layers.empty()) {
        std::set<int> found;
        for (const RunData* r : runs)
            for (const auto& l : r->layers)
                found.insert(l.index);
        layers.assign(found.begin(), found.end());
    }

    // Figures 3.1/3.2: per-neuron means with standard deviations, sorted, at the last epoch.
    int figure = 1;
    for (int layer : layers) {
        std::unique_ptr<QCustomPlot> plot(
            make_print_plot(QObject::tr("neuron (sorted by mean)"), QObject::tr("activation")));
        int c = 0;
        for (const RunData* r : runs) {
            const auto it = r->layer_epochs.find(layer);
            if (it == r->layer_epochs.end() || it->second.empty()) continue;
            const LayerEpochSnapshot& s = it->second.back();
            std::vector<std::size_t> order(s.neuron_mean.size());
            std::iota(order.begin(), order.end(), 0);
            std::sort(order.begin(), order.end(),
                      [&](std::size_t a, std::size_t b) { return s.neuron_mean[a] < s.neuron_mean[b]; });
            QVector<double> x, y, low, high;
            for (std::size_t i = 0; i < order.size(); ++i) {
                const double sd = order[i] < s.neuron_std.size() ? s.neuron_std[order[i]] : NAN;
                x << static_cast<double>(i);
                y << s.neuron_mean[order[i]];
                low << y.back() - sd;
                high << y.back() + sd;
            }
            // The standard deviations as a band: a thousand error bars per run overplot each other.
            const QColor color = plots::series_color(c++);
            const QString name = QString::fromStdString(r->name.empty() ? r->path : r->name);
            QCPGraph* lo = plot->addGraph();
            QCPGraph* hi = plot->addGraph();
            lo->setName(name + QObject::tr(" mean - sd"));
            hi->setName(name + QObject::tr(" mean + sd"));
            for (QCPGraph* b : {lo, hi}) {
                b->setPen(QPen(plots::faint(color, 90), 0.5));
                b->removeFromLegend();
            }
            lo->setData(x, low, true);
            hi->setData(x, high, true);
            hi->setBrush(plots::faint(color, 40));
            hi->setChannelFillGraph(lo);
            QCPGraph* g = plot->addGraph();
            g->setName(name);
            g->setPen(QPen(color, 1.8));
            g->setData(x, y, true);
        }
        if (plot->graphCount() == 0) continue;
        // Means rise to the right when sorted: the legend goes where the curves are low.
        plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignLeft);
        plot->rescaleAxes();
        plot->yAxis->scaleRange(1.15);
        save(plot.get(), QStringLiteral("fig3_%1_neuron_means_layer%2").arg(figure++).arg(layer));
    }

    // Figures 3.3-3.10: statistics of each layer's output over training.
    figure = std::max(figure, 3);
    const std::pair<const char*, const char*> stats[] = {{"sparsity", "sparsity"},
                                                         {"max", "maximum activation"},
                                                         {"mean", "mean activation"},
                                                         {"std", "standard deviation"}};
    for (const auto& [field, label] : stats)
        for (int layer : layers) {
            Metric m{Metric::Kind::Layer, field, layer, false};
            const auto curves = compare(runs, m, o.smoothing, o.group_seeds);
            bool any = false;
            for (const auto& c : curves)
                any |= !c.x.isEmpty();
            if (!any) continue;
            std::unique_ptr<QCustomPlot> plot(make_print_plot(QObject::tr("epoch"), QObject::tr(label)));
            add_curves(plot.get(), curves);
            save(plot.get(), QStringLiteral("fig3_%1_%2_layer%3").arg(figure++).arg(field).arg(layer));
        }

    // Figure 3.11: test loss, log scale.
    {
        Metric m{Metric::Kind::Epoch, "test_loss"};
        std::unique_ptr<QCustomPlot> plot(make_print_plot(QObject::tr("epoch"), QObject::tr("test loss")));
        add_curves(plot.get(), compare(runs, m, 1.0, o.group_seeds));
        plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
        plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        plot->rescaleAxes();
        save(plot.get(), QStringLiteral("fig3_%1_test_loss").arg(std::max(figure, 11)));
    }
    {
        Metric m{Metric::Kind::Epoch, "test_accuracy"};
        std::unique_ptr<QCustomPlot> plot(make_print_plot(QObject::tr("epoch"), QObject::tr("test accuracy")));
        add_curves(plot.get(), compare(runs, m, 1.0, o.group_seeds));
        save(plot.get(), QStringLiteral("test_accuracy"));
    }

    // The runs' extra series per epoch (ui/run_extras.h): robust training accuracy, the objective,
    // the penalty terms (log scale), and the layers' schedules where some run schedules them.
    std::vector<std::string> extras;
    std::set<int> scheduled;
    for (const RunData* r : runs) {
        for (const auto& n : r->epoch_extra)
            if (std::find(extras.begin(), extras.end(), n) == extras.end()) extras.push_back(n);
        for (const LayerSchedule& s : layer_schedules(*r))
            if (s.scheduled) scheduled.insert(s.layer);
    }
    static const QRegularExpression schedule_re(QStringLiteral("^layer(\\d+)_(active|temperature|p)$"));
    for (const std::string& name : extras) {
        const QString field = QString::fromStdString(name);
        const auto schedule = schedule_re.match(field);
        if (schedule.hasMatch() && !scheduled.count(schedule.captured(1).toInt())) continue;
        Metric m;
        m.field = field;  // an epoch metric
        std::unique_ptr<QCustomPlot> plot(make_print_plot(QObject::tr("epoch"), m.y_label()));
        add_curves(plot.get(), compare(runs, m, 1.0, o.group_seeds));
        if (schedule.hasMatch()) {
            // A setting in effect during each epoch: held over the epoch it is recorded at.
            for (int i = 0; i < plot->graphCount(); ++i)
                plot->graph(i)->setLineStyle(QCPGraph::lsStepRight);
            plot->yAxis->scaleRange(1.1);
        }
        if (field.startsWith(QLatin1String("penalty_"))) {
            plot->yAxis->setScaleType(QCPAxis::stLogarithmic);
            plot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
            plot->rescaleAxes();
        }
        save(plot.get(), field);
    }

    // Flatness against robustness (section 4.3.1) when runs hold both.
    for (const Metric& m : available_metrics(runs)) {
        if (m.kind != Metric::Kind::Attack) continue;
        const auto points = flatness_vs(runs, "fisher_rao_empirical", m);
        if (points.size() < 2) continue;
        std::unique_ptr<QCustomPlot> plot(make_print_plot(QObject::tr("Fisher-Rao norm (empirical)"), m.title()));
        QCPGraph* g = plot->addGraph();
        g->setName(m.title());
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, plots::series_color(0), 7));
        QVector<double> x, y;
        double min_x = points.front().x, max_x = points.front().x;
        for (const auto& p : points) {
            min_x = std::min(min_x, p.x);
            max_x = std::max(max_x, p.x);
        }
        const double mid_x = (min_x + max_x) / 2;
        for (const auto& p : points) {
            x << p.x;
            y << p.y;
            auto* label = new QCPItemText(plot.get());
            label->position->setCoords(p.x, p.y);
            // Labels point inwards, so that those of the outermost runs stay inside the plot.
            label->setPositionAlignment((p.x > mid_x ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignBottom);
            label->setText(p.label);
        }
        g->setData(x, y);
        plot->rescaleAxes();
        plot->xAxis->scaleRange(1.2);
        plot->yAxis->scaleRange(1.2);
        QString stem = m.norm.isEmpty() ? QStringLiteral("flatness_vs_%1").arg(m.attack)
                                        : QStringLiteral("flatness_vs_%1_%2").arg(m.attack, m.norm);
        save(plot.get(), stem);
    }
    for (const auto& [layer, unit] : o.units)
        written << export_unit_figures(runs, folder, layer, unit, o);
    return written;
}

}  // namespace normout::ui
