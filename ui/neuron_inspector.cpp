#include "ui/neuron_inspector.h"

#include "plots/qcp.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "plots/plot_theme.h"

namespace normout::ui {

namespace {

QCustomPlot* make_plot(const QString& title, const QString& x, const QString& y, QWidget* parent) {
    auto* p = new QCustomPlot(parent);
    p->setMinimumHeight(160);
    p->plotLayout()->insertRow(0);
    p->plotLayout()->addElement(0, 0, new QCPTextElement(p, title, QFont(parent->font().family(), 9, QFont::Bold)));
    p->xAxis->setLabel(x);
    p->yAxis->setLabel(y);
    p->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    plots::apply_theme(p);
    return p;
}

void set_bars(QCustomPlot* p, const QVector<double>& centres, const QVector<double>& counts, double width,
              const QColor& color) {
    p->clearPlottables();
    auto* bars = new QCPBars(p->xAxis, p->yAxis);
    bars->setWidth(width);
    bars->setPen(QPen(color.darker(120)));
    bars->setBrush(plots::faint(color, 160));
    bars->setData(centres, counts, true);
    p->rescaleAxes();
    p->yAxis->setRangeLower(0);
}

// Histograms of different epochs have different edges: resample counts onto a common grid by
// the overlap of each bin with the grid's cells.
QVector<double> resample(const std::vector<double>& edges, const std::vector<double>& counts, double lo, double hi,
                         int cells) {
    QVector<double> out(cells, 0.0);
    const double cell = (hi - lo) / cells;
    for (std::size_t b = 0; b < counts.size() && b + 1 < edges.size(); ++b) {
        const double a = edges[b], z = edges[b + 1];
        if (!(z > a) || counts[b] == 0) continue;
        for (int c = std::max(0, static_cast<int>((a - lo) / cell)); c < cells; ++c) {
            const double ca = lo + c * cell, cz = ca + cell;
            if (ca >= z) break;
            const double overlap = std::min(z, cz) - std::max(a, ca);
            if (overlap > 0) out[c] += counts[b] * overlap / (z - a);
        }
    }
    return out;
}

}  // namespace

NeuronInspector::NeuronInspector(QWidget* parent)
    : QWidget(parent),
      layer_box_(new QComboBox(this)),
      epoch_slider_(new QSlider(Qt::Horizontal, this)),
      epoch_label_(new QLabel(this)),
      neuron_box_(new QComboBox(this)),
      note_(new QLabel(this)) {
    auto* outer = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer:"), this));
    controls->addWidget(layer_box_, 1);
    controls->addWidget(new QLabel(tr("Epoch:"), this));
    controls->addWidget(epoch_slider_, 2);
    controls->addWidget(epoch_label_);
    controls->addWidget(new QLabel(tr("Neuron:"), this));
    controls->addWidget(neuron_box_);
    outer->addLayout(controls);
    note_->setWordWrap(true);
    outer->addWidget(note_);
    layer_box_->setToolTip(tr("Instrumented layers of the run (instrument.layers)"));
    neuron_box_->setToolTip(tr("Neurons whose own histograms were recorded (instrument.neurons)"));
    epoch_slider_->setToolTip(tr("The epoch whose snapshot is shown"));

    means_ = make_plot(tr("Per-neuron mean ± std, sorted (thesis fig. 3.1/3.2)"), tr("neuron (sorted)"),
                       tr("activation"), this);
    rates_ = make_plot(tr("Per-neuron firing rate, sorted"), tr("neuron (sorted)"), tr("fraction non-zero"), this);
    hist_ = make_plot(tr("Output histogram (non-zero values)"), tr("activation"), tr("count"), this);
    keep_hist_ = make_plot(tr("Keep probabilities"), tr("p"), tr("count"), this);
    neuron_hist_ = make_plot(tr("Neuron histogram"), tr("activation"), tr("count"), this);
    heatmap_ = make_plot(tr("Neuron histogram over epochs"), tr("epoch"), tr("activation"), this);
    auto* grid = new QGridLayout;
    grid->addWidget(means_, 0, 0);
    grid->addWidget(rates_, 0, 1);
    grid->addWidget(hist_, 1, 0);
    grid->addWidget(keep_hist_, 1, 1);
    grid->addWidget(neuron_hist_, 2, 0);
    grid->addWidget(heatmap_, 2, 1);
    outer->addLayout(grid, 1);

    redraw_timer_.setSingleShot(true);
    redraw_timer_.setInterval(40);
    connect(&redraw_timer_, &QTimer::timeout, this, &NeuronInspector::do_redraw);
    connect(layer_box_, &QComboBox::currentIndexChanged, this, [this] {
        refill_choices();
        rebuild();
    });
    connect(epoch_slider_, &QSlider::valueChanged, this, &NeuronInspector::rebuild);
    connect(neuron_box_, &QComboBox::currentIndexChanged, this, &NeuronInspector::rebuild);
    show_run(nullptr);
}

void NeuronInspector::show_run(const RunData* data) {
    data_ = data;
    const QSignalBlocker block(layer_box_);
    layer_box_->clear();
    if (data_)
        for (const auto& l : data_->layers)
            layer_box_->addItem(QStringLiteral("%1: %2").arg(l.index).arg(QString::fromStdString(l.description)),
                                l.index);
    refill_choices();
    rebuild();
}

void NeuronInspector::data_changed() {
    if (!data_) return;
    if (layer_box_->count() != static_cast<int>(data_->layers.size())) {
        show_run(data_);
        return;
    }
    const bool at_end = epoch_slider_->value() == epoch_slider_->maximum();
    refill_choices();
    if (at_end) epoch_slider_->setValue(epoch_slider_->maximum());  // follow a live run
    rebuild();
}

void NeuronInspector::refill_choices() {
    const QSignalBlocker b1(epoch_slider_), b2(neuron_box_);
    const int layer = layer_box_->currentData().toInt();
    int epochs = 0;
    const InstrumentedLayer* info = nullptr;
    if (data_) {
        if (const auto it = data_->layer_epochs.find(layer); it != data_->layer_epochs.end())
            epochs = static_cast<int>(it->second.size());
        for (const auto& l : data_->layers)
            if (l.index == layer) info = &l;
    }
    const int previous = epoch_slider_->value();
    epoch_slider_->setRange(epochs > 0 ? 1 : 0, epochs);
    epoch_slider_->setValue(previous >= 1 && previous <= epochs ? previous : epochs);
    const QVariant current = neuron_box_->currentData();
    neuron_box_->clear();
    if (info)
        for (std::size_t j = 0; j < info->neurons.size(); ++j)
            neuron_box_->addItem(QString::number(info->neurons[j]), int(j));
    const int found = neuron_box_->findData(current);
    if (found >= 0) neuron_box_->setCurrentIndex(found);
}

void NeuronInspector::rebuild() {
    sorted_means_.clear();
    sorted_stds_.clear();
    sorted_rates_.clear();
    histogram_.clear();
    neuron_histogram_.clear();
    heatmap_epochs_ = 0;
    for (QCustomPlot* p : {means_, rates_, hist_, keep_hist_, neuron_hist_, heatmap_}) {
        p->clearPlottables();
        mark_dirty(p);
    }
    const int layer = layer_box_->currentData().toInt();
    const int epoch = epoch_slider_->value();
    epoch_label_->setText(epoch > 0 ? QString::number(epoch) : QStringLiteral("–"));
    if (!data_ || layer_box_->count() == 0) {
        note_->setText(data_ ? tr("This run has no instrumented layers.")
                             : tr("Open or start a run to inspect its neurons (per-epoch snapshots of the "
                                  "instrumented layers)."));
        return;
    }
    const auto it = data_->layer_epochs.find(layer);
    if (it == data_->layer_epochs.end() || epoch < 1 || epoch > static_cast<int>(it->second.size())) {
        note_->setText(tr("No epoch has finished yet: snapshots are taken at the end of each epoch."));
        return;
    }
    note_->clear();
    const LayerEpochSnapshot& s = it->second[static_cast<std::size_t>(epoch - 1)];
    const QColor color = plots::series_color(0);

    // Means with standard deviations, sorted by mean; firing rates sorted on their own.
    std::vector<std::size_t> order(s.neuron_mean.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        const double x = s.neuron_mean[a], y = s.neuron_mean[b];
        return std::isnan(y) ? !std::isnan(x) : x < y;
    });
    QVector<double> x;
    for (std::size_t i = 0; i < order.size(); ++i) {
        x << static_cast<double>(i);
        sorted_means_ << s.neuron_mean[order[i]];
        sorted_stds_ << (order[i] < s.neuron_std.size() ? s.neuron_std[order[i]] : NAN);
    }
    auto* g = means_->addGraph();
    g->setData(x, sorted_means_, true);
    g->setPen(QPen(color, 1.5));
    auto* bars = new QCPErrorBars(means_->xAxis, means_->yAxis);
    bars->setDataPlottable(g);
    bars->setData(sorted_stds_);
    bars->setPen(QPen(plots::faint(color, 90)));
    means_->rescaleAxes();
    means_->yAxis->scaleRange(1.2);
    for (float r : s.neuron_rate)
        sorted_rates_ << r;
    std::sort(sorted_rates_.begin(), sorted_rates_.end());
    auto* rg = rates_->addGraph();
    rg->setData(x.mid(0, sorted_rates_.size()), sorted_rates_, true);
    rg->setPen(QPen(plots::series_color(1), 1.5));
    rates_->rescaleAxes();
    rates_->yAxis->setRange(0, 1.02);

    // Histogram of the layer's non-zero outputs, with the zeros and out-of-range counts noted.
    QVector<double> centres;
    for (std::size_t b = 0; b + 1 < s.hist_edges.size(); ++b) {
        centres << 0.5 * (s.hist_edges[b] + s.hist_edges[b + 1]);
        histogram_ << s.hist_counts[b];
    }
    const double width = s.hist_edges.size() > 1 ? s.hist_edges[1] - s.hist_edges[0] : 1.0;
    set_bars(hist_, centres, histogram_, width, color);
    hist_->xAxis->setLabel(tr("activation (zeros: %1, below: %2, above: %3)")
                               .arg(s.hist_zero, 0, 'f', 0)
                               .arg(s.hist_under, 0, 'f', 0)
                               .arg(s.hist_over, 0, 'f', 0));
    if (!s.keep_hist.empty()) {
        QVector<double> kc, kv;
        for (std::size_t b = 0; b < s.keep_hist.size(); ++b) {
            kc << (b + 0.5) / static_cast<double>(s.keep_hist.size());
            kv << s.keep_hist[b];
        }
        set_bars(keep_hist_, kc, kv, 1.0 / static_cast<double>(s.keep_hist.size()), plots::series_color(2));
    }

    // A tracked neuron: its histogram now, and over all epochs on a common value grid.
    const int j = neuron_box_->currentData().isValid() ? neuron_box_->currentData().toInt() : -1;
    if (j >= 0 && static_cast<std::size_t>(j) < s.neuron_hists.size()) {
        const auto& h = s.neuron_hists[static_cast<std::size_t>(j)];  // [below, bins..., above]
        for (std::size_t b = 1; b + 1 < h.size(); ++b)
            neuron_histogram_ << h[b];
        set_bars(neuron_hist_, centres, neuron_histogram_, width, plots::series_color(3));
        neuron_hist_->xAxis->setLabel(tr("activation of neuron %1 (below: %2, above: %3)")
                                          .arg(neuron_box_->currentText())
                                          .arg(h.front(), 0, 'g', 6)
                                          .arg(h.back(), 0, 'g', 6));
        double lo = INFINITY, hi = -INFINITY;
        for (const auto& e : it->second)
            if (e.hist_edges.size() > 1) {
                lo = std::min(lo, e.hist_edges.front());
                hi = std::max(hi, e.hist_edges.back());
            }
        const int cells = 64, n = static_cast<int>(it->second.size());
        if (std::isfinite(lo) && hi > lo && n > 0) {
            auto* map = new QCPColorMap(heatmap_->xAxis, heatmap_->yAxis);
            map->data()->setSize(n, cells);
            map->data()->setRange(QCPRange(1, n), QCPRange(lo, hi));
            for (int e = 0; e < n; ++e) {
                const auto& snap = it->second[static_cast<std::size_t>(e)];
                if (static_cast<std::size_t>(j) >= snap.neuron_hists.size()) continue;
                const auto& nh = snap.neuron_hists[static_cast<std::size_t>(j)];
                const std::vector<double> counts(nh.begin() + 1, nh.end() - 1);
                const QVector<double> row = resample(snap.hist_edges, counts, lo, hi, cells);
                for (int c = 0; c < cells; ++c)
                    map->data()->setCell(e, c, std::log1p(row[c]));
            }
            map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
            map->rescaleDataRange(true);
            heatmap_->rescaleAxes();
            heatmap_epochs_ = n;
        }
    } else if (s.neuron_hists.empty()) {
        neuron_hist_->xAxis->setLabel(tr("no tracked neurons (set instrument.neurons)"));
    }
}

void NeuronInspector::mark_dirty(QCustomPlot* plot) {
    if (!dirty_.contains(plot)) dirty_.push_back(plot);
    request_redraw();
}

void NeuronInspector::request_redraw() {
    if (!redraw_timer_.isActive()) redraw_timer_.start();
}

void NeuronInspector::do_redraw() {
    if (dirty_.isEmpty()) return;
    for (QCustomPlot* p : std::as_const(dirty_))
        p->replot(QCustomPlot::rpQueuedReplot);
    dirty_.clear();
    ++redraws_;
}

}  // namespace normout::ui
