#include "ui/neuron_inspector.h"

#include "plots/qcp.h"

#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QIntValidator>
#include <QLabel>
#include <QListWidget>
#include <QMouseEvent>
#include <QSlider>
#include <QVBoxLayout>
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <optional>
#include <utility>

#include "engine/runfile/notable_units.h"
#include "plots/plot_theme.h"
#include "plots/replot_queue.h"

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
      note_(new QLabel(this)),
      selection_(new QLabel(this)),
      notable_box_(new QComboBox(this)),
      notable_list_(new QListWidget(this)),
      notable_note_(new QLabel(this)) {
    auto* outer = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer:"), this));
    controls->addWidget(layer_box_, 1);
    controls->addWidget(new QLabel(tr("Epoch:"), this));
    controls->addWidget(epoch_slider_, 2);
    controls->addWidget(epoch_label_);
    controls->addWidget(new QLabel(tr("Unit:"), this));
    controls->addWidget(neuron_box_);
    outer->addLayout(controls);
    note_->setWordWrap(true);
    outer->addWidget(note_);
    selection_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    outer->addWidget(selection_);
    layer_box_->setToolTip(tr("Instrumented layers of the run (instrument.layers)"));
    neuron_box_->setEditable(true);
    neuron_box_->setInsertPolicy(QComboBox::NoInsert);
    neuron_box_->setValidator(new QIntValidator(0, std::numeric_limits<int>::max(), neuron_box_));
    neuron_box_->setMinimumContentsLength(6);
    neuron_box_->setToolTip(
        tr("Type a unit's index, pick a tracked neuron (instrument.neurons), or click a unit "
           "in the sorted plots"));
    epoch_slider_->setToolTip(
        tr("The epoch whose snapshot is shown (the last position follows the epoch in "
           "progress while a run trains)"));

    means_ = make_plot(tr("Per-unit mean ± std, sorted (thesis fig. 3.1/3.2) — click to select"), tr("unit (sorted)"),
                       tr("activation"), this);
    rates_ = make_plot(tr("Per-unit firing rate, sorted — click to select"), tr("unit (sorted)"),
                       tr("fraction non-zero"), this);
    hist_ = make_plot(tr("Output histogram (non-zero values)"), tr("activation"), tr("count"), this);
    keep_hist_ = make_plot(tr("Keep probabilities"), tr("p"), tr("count"), this);
    neuron_hist_ = make_plot(tr("Selected unit: histogram"), tr("activation"), tr("count"), this);
    unit_keep_ = make_plot(tr("Selected unit: keep probabilities"), tr("p"), tr("count"), this);
    heatmap_ = make_plot(tr("Selected unit over epochs (log counts)"), tr("epoch"), tr("activation"), this);
    auto* notable = new QWidget(this);
    auto* nl = new QVBoxLayout(notable);
    nl->setContentsMargins(0, 0, 0, 0);
    nl->addWidget(new QLabel(tr("Notable units of the layer at this epoch:"), notable));
    notable_box_->addItem(tr("Dead (only zeros)"), static_cast<int>(NotableKind::Dead));
    notable_box_->addItem(tr("Always firing (never zero)"), static_cast<int>(NotableKind::Saturated));
    notable_box_->addItem(tr("Never dropped (p ≥ 0.95 throughout)"), static_cast<int>(NotableKind::Undropped));
    notable_box_->addItem(tr("Most changed since epoch 1"), static_cast<int>(NotableKind::Changed));
    nl->addWidget(notable_box_);
    nl->addWidget(notable_list_, 1);
    notable_note_->setWordWrap(true);
    nl->addWidget(notable_note_);
    notable_list_->setToolTip(tr("Click a unit to select it"));
    auto* grid = new QGridLayout;
    grid->addWidget(means_, 0, 0);
    grid->addWidget(rates_, 0, 1);
    grid->addWidget(hist_, 1, 0);
    grid->addWidget(keep_hist_, 1, 1);
    grid->addWidget(neuron_hist_, 2, 0);
    grid->addWidget(unit_keep_, 2, 1);
    grid->addWidget(heatmap_, 3, 0);
    grid->addWidget(notable, 3, 1);
    outer->addLayout(grid, 1);

    redraw_timer_.setSingleShot(true);
    redraw_timer_.setInterval(40);
    connect(&redraw_timer_, &QTimer::timeout, this, &NeuronInspector::do_redraw);
    refresh_timer_.setSingleShot(true);
    refresh_timer_.setInterval(100);
    connect(&refresh_timer_, &QTimer::timeout, this, &NeuronInspector::refresh);
    connect(layer_box_, &QComboBox::currentIndexChanged, this, [this] {
        refill_choices();
        rebuild();
    });
    connect(epoch_slider_, &QSlider::valueChanged, this, &NeuronInspector::rebuild);
    connect(neuron_box_, &QComboBox::currentTextChanged, this, [this](const QString& text) {
        bool ok = false;
        const int unit = text.toInt(&ok);
        if (ok && unit != selected_) select_unit(unit);
    });
    connect(notable_box_, &QComboBox::currentIndexChanged, this, &NeuronInspector::rebuild);
    connect(notable_list_, &QListWidget::itemClicked, this,
            [this](QListWidgetItem* item) { select_unit(item->data(Qt::UserRole).toLongLong()); });
    for (auto [plot, by_rate] : {std::pair{means_, false}, std::pair{rates_, true}}) {
        QCustomPlot* p = plot;
        const bool rate = by_rate;
        connect(p, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { press_pos_ = e->pos(); });
        connect(p, &QCustomPlot::mouseRelease, this, [this, p, rate](QMouseEvent* e) { on_plot_click(p, e, rate); });
    }
    show_run(nullptr);
}

void NeuronInspector::show_run(const RunData* data) {
    data_ = data;
    stale_ = false;
    units_.clear();
    selected_ = -1;
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
    stale_ = true;
    // Hidden, nothing is computed until shown; shown, one rebuild per 100 ms whatever the update rate.
    if (isVisible() && !refresh_timer_.isActive()) refresh_timer_.start();
}

void NeuronInspector::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    if (stale_) refresh();
}

void NeuronInspector::refresh() {
    if (!stale_ || !data_) return;
    stale_ = false;
    if (layer_box_->count() != static_cast<int>(data_->layers.size())) {
        show_run(data_);
        return;
    }
    const bool at_end = epoch_slider_->value() == epoch_slider_->maximum();
    refill_choices();
    if (at_end) epoch_slider_->setValue(epoch_slider_->maximum());  // follow a live run
    rebuild();
}

void NeuronInspector::select_unit(int64_t unit) {
    const InstrumentedLayer* info = nullptr;
    if (data_)
        for (const auto& l : data_->layers)
            if (l.index == layer_box_->currentData().toInt()) info = &l;
    selected_ = info && unit >= 0 && unit < info->units ? unit : -1;
    {
        const QSignalBlocker block(neuron_box_);
        neuron_box_->setEditText(selected_ >= 0 ? QString::number(selected_) : QString());
    }
    rebuild();
}

QString NeuronInspector::selection_text() const {
    return selection_->text();
}

void NeuronInspector::on_plot_click(QCustomPlot* plot, QMouseEvent* event, bool by_rate) {
    if ((event->pos() - press_pos_).manhattanLength() > 3) return;  // a drag of the view, not a click
    if (!plot->axisRect()->rect().contains(event->pos())) return;
    const auto& order = by_rate ? rate_order_ : mean_order_;
    if (order.empty()) return;
    const double x = plot->xAxis->pixelToCoord(event->pos().x());
    const auto rank =
        static_cast<std::size_t>(std::clamp<long>(std::lround(x), 0, static_cast<long>(order.size()) - 1));
    select_unit(static_cast<int64_t>(order[rank]));
}

void NeuronInspector::refill_choices() {
    const QSignalBlocker b1(epoch_slider_), b2(neuron_box_);
    const int layer = layer_box_->currentData().toInt();
    int epochs = 0;
    const InstrumentedLayer* info = nullptr;
    if (data_) {
        if (const auto it = data_->layer_epochs.find(layer); it != data_->layer_epochs.end())
            epochs = static_cast<int>(it->second.size());
        if (const auto it = data_->epoch_so_far.find(layer);
            it != data_->epoch_so_far.end() && it->second.epoch == epochs + 1)
            ++epochs;  // the epoch in progress
        for (const auto& l : data_->layers)
            if (l.index == layer) info = &l;
    }
    const int previous = epoch_slider_->value();
    epoch_slider_->setRange(epochs > 0 ? 1 : 0, epochs);
    epoch_slider_->setValue(previous >= 1 && previous <= epochs ? previous : epochs);
    if (info && selected_ >= info->units) selected_ = -1;
    neuron_box_->clear();
    if (info)
        for (int n : info->neurons)
            neuron_box_->addItem(QString::number(n), n);
    neuron_box_->setEditText(selected_ >= 0 ? QString::number(selected_) : QString());
}

const LayerEpochSnapshot* NeuronInspector::current_snapshot() const {
    if (!data_) return nullptr;
    const int layer = layer_box_->currentData().toInt();
    const int epoch = epoch_slider_->value();
    const auto it = data_->layer_epochs.find(layer);
    const int finished = it == data_->layer_epochs.end() ? 0 : static_cast<int>(it->second.size());
    if (epoch >= 1 && epoch <= finished) return &it->second[static_cast<std::size_t>(epoch - 1)];
    if (const auto live = data_->epoch_so_far.find(layer);
        live != data_->epoch_so_far.end() && epoch == finished + 1 && live->second.epoch == epoch)
        return &live->second;
    return nullptr;
}

void NeuronInspector::rebuild() {
    sorted_means_.clear();
    sorted_stds_.clear();
    sorted_rates_.clear();
    histogram_.clear();
    neuron_histogram_.clear();
    unit_keep_histogram_.clear();
    mean_order_.clear();
    rate_order_.clear();
    heatmap_epochs_ = 0;
    in_progress_ = false;
    for (QCustomPlot* p : {means_, rates_, hist_, keep_hist_, neuron_hist_, unit_keep_, heatmap_}) {
        p->clearPlottables();
        mark_dirty(p);
    }
    notable_list_->clear();
    notable_note_->clear();
    selection_->clear();
    const int epoch = epoch_slider_->value();
    epoch_label_->setText(epoch > 0 ? QString::number(epoch) : QStringLiteral("–"));
    if (!data_ || layer_box_->count() == 0) {
        note_->setText(data_ ? tr("This run has no instrumented layers.")
                             : tr("Open or start a run to inspect its neurons (per-epoch snapshots of the "
                                  "instrumented layers)."));
        return;
    }
    const LayerEpochSnapshot* snap = current_snapshot();
    if (!snap) {
        note_->setText(tr("No epoch has data yet: snapshots are taken during and at the end of each epoch."));
        return;
    }
    const LayerEpochSnapshot& s = *snap;
    const auto done = data_->layer_epochs.find(s.layer);
    in_progress_ = done == data_->layer_epochs.end() || epoch > static_cast<int>(done->second.size());
    if (in_progress_) epoch_label_->setText(tr("%1 (in progress)").arg(epoch));
    note_->clear();
    const QColor color = plots::series_color(0);

    // Means with standard deviations, sorted by mean; firing rates sorted on their own.
    mean_order_.resize(s.neuron_mean.size());
    std::iota(mean_order_.begin(), mean_order_.end(), 0);
    std::stable_sort(mean_order_.begin(), mean_order_.end(), [&](std::size_t a, std::size_t b) {
        const double x = s.neuron_mean[a], y = s.neuron_mean[b];
        return std::isnan(y) ? !std::isnan(x) : x < y;
    });
    QVector<double> x;
    for (std::size_t i = 0; i < mean_order_.size(); ++i) {
        x << static_cast<double>(i);
        sorted_means_ << s.neuron_mean[mean_order_[i]];
        sorted_stds_ << (mean_order_[i] < s.neuron_std.size() ? s.neuron_std[mean_order_[i]] : NAN);
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
    rate_order_.resize(s.neuron_rate.size());
    std::iota(rate_order_.begin(), rate_order_.end(), 0);
    std::stable_sort(rate_order_.begin(), rate_order_.end(),
                     [&](std::size_t a, std::size_t b) { return s.neuron_rate[a] < s.neuron_rate[b]; });
    for (std::size_t i : rate_order_)
        sorted_rates_ << s.neuron_rate[i];
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

    // The per-unit histograms of this epoch (the notable units need them, the selected unit too).
    const NotableKind kind = static_cast<NotableKind>(notable_box_->currentData().toInt());
    QString error;
    std::optional<UnitHistograms> first;
    if (kind == NotableKind::Changed && epoch > 1)
        if (const UnitHistograms* h = units_.epoch(*data_, s.layer, 1, &error)) first = *h;
    const UnitHistograms* units = units_.epoch(*data_, s.layer, epoch, &error);
    if (kind == NotableKind::Changed && epoch == 1)
        first = units ? std::optional<UnitHistograms>(*units) : std::nullopt;
    rebuild_notable(units, first ? &*first : nullptr);
    if (!units) notable_note_->setText(error);
    rebuild_unit(s, units);
}

void NeuronInspector::rebuild_notable(const UnitHistograms* units, const UnitHistograms* first) {
    if (!units) return;
    const NotableKind kind = static_cast<NotableKind>(notable_box_->currentData().toInt());
    std::vector<NotableUnit> found;
    try {
        found = notable_units(*units, kind, first, 50);
    } catch (const std::invalid_argument& e) {
        notable_note_->setText(QString::fromStdString(e.what()));
        return;
    }
    for (const NotableUnit& n : found) {
        auto* item = new QListWidgetItem(kind == NotableKind::Changed
                                             ? tr("unit %1 — distance %2").arg(n.unit).arg(n.score, 0, 'f', 3)
                                             : tr("unit %1 — %2 values").arg(n.unit).arg(n.score, 0, 'f', 0),
                                         notable_list_);
        item->setData(Qt::UserRole, QVariant::fromValue<qlonglong>(n.unit));
        if (n.unit == selected_) item->setSelected(true);
    }
    notable_note_->setText(tr("%1 of %2 units").arg(found.size()).arg(units->units));
}

void NeuronInspector::rebuild_unit(const LayerEpochSnapshot& s, const UnitHistograms* units) {
    if (selected_ < 0) {
        neuron_hist_->xAxis->setLabel(tr("click a unit in a sorted plot, or type its index"));
        return;
    }
    const auto u = static_cast<std::size_t>(selected_);
    // Where the selected unit stands: its ranks in both sorted plots, marked there.
    const auto mean_rank =
        static_cast<std::size_t>(std::find(mean_order_.begin(), mean_order_.end(), u) - mean_order_.begin());
    const auto rate_rank =
        static_cast<std::size_t>(std::find(rate_order_.begin(), rate_order_.end(), u) - rate_order_.begin());
    const QColor mark = plots::series_color(3);
    auto marker = [&](QCustomPlot* plot, std::size_t rank, double value) {
        auto* m = plot->addGraph();
        m->setLineStyle(QCPGraph::lsNone);
        m->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, mark, plots::faint(mark, 120), 10));
        m->setData({static_cast<double>(rank)}, {value}, true);
    };
    QString text = tr("Unit %1 of %2").arg(selected_).arg(mean_order_.size());
    if (mean_rank < mean_order_.size()) {
        marker(means_, mean_rank, sorted_means_[static_cast<int>(mean_rank)]);
        text += tr(": rank %1 by mean (%2 ± %3)")
                    .arg(mean_rank + 1)
                    .arg(s.neuron_mean[u], 0, 'g', 4)
                    .arg(u < s.neuron_std.size() ? s.neuron_std[u] : NAN, 0, 'g', 4);
    }
    if (rate_rank < rate_order_.size()) {
        marker(rates_, rate_rank, sorted_rates_[static_cast<int>(rate_rank)]);
        text += tr(", firing rate %1 (rank %2)").arg(s.neuron_rate[u], 0, 'f', 3).arg(rate_rank + 1);
    }
    selection_->setText(text);

    const QColor color = plots::series_color(3);
    if (units && selected_ < units->units && units->bins > 0) {
        // Per-unit bins, fixed for the whole run.
        const double* c = units->unit(selected_);
        QVector<double> centres;
        for (int b = 0; b < units->bins; ++b) {
            centres << 0.5 *
                           (units->edges[static_cast<std::size_t>(b)] + units->edges[static_cast<std::size_t>(b) + 1]);
            neuron_histogram_ << c[b + 2];
        }
        set_bars(neuron_hist_, centres, neuron_histogram_, units->edges[1] - units->edges[0], color);
        neuron_hist_->xAxis->setLabel(tr("unit %1, epoch %2%3 — zeros %4, below %5, above %6")
                                          .arg(selected_)
                                          .arg(units->epoch)
                                          .arg(in_progress_ ? tr(" so far") : QString())
                                          .arg(c[0], 0, 'f', 0)
                                          .arg(c[1], 0, 'f', 0)
                                          .arg(c[units->bins + 2], 0, 'f', 0));
        if (!units->keep.empty()) {
            QVector<double> kc;
            for (int b = 0; b < kKeepHistogramBins; ++b) {
                kc << (b + 0.5) / kKeepHistogramBins;
                unit_keep_histogram_ << units->keep[static_cast<std::size_t>(selected_ * kKeepHistogramBins + b)];
            }
            set_bars(unit_keep_, kc, unit_keep_histogram_, 1.0 / kKeepHistogramBins, plots::series_color(2));
        } else {
            unit_keep_->xAxis->setLabel(tr("p (this layer drops nothing)"));
        }
        // Its histograms over the epochs: same bins in every epoch, so rows line up.
        QString error;
        const auto& history = units_.history(*data_, s.layer, selected_, &error);
        if (!history.empty()) {
            const int n = static_cast<int>(history.size()), bins = history.front().bins;
            auto* map = new QCPColorMap(heatmap_->xAxis, heatmap_->yAxis);
            map->data()->setSize(n, bins);
            const double lo = history.front().edges.front(), hi = history.front().edges.back(), cell = (hi - lo) / bins;
            map->data()->setRange(QCPRange(history.front().epoch, history.back().epoch),
                                  QCPRange(lo + cell / 2, hi - cell / 2));
            for (int e = 0; e < n; ++e)
                for (int b = 0;
                     b < bins && b + 2 < static_cast<int>(history[static_cast<std::size_t>(e)].counts.size()); ++b)
                    map->data()->setCell(
                        e, b, std::log1p(history[static_cast<std::size_t>(e)].counts[static_cast<std::size_t>(b) + 2]));
            map->setGradient(QCPColorGradient(QCPColorGradient::gpThermal));
            map->setInterpolate(false);  // one cell per epoch and bin, as recorded
            map->rescaleDataRange(true);
            heatmap_->rescaleAxes();
            if (n == 1) heatmap_->xAxis->setRange(history.front().epoch - 0.5, history.front().epoch + 0.5);
            heatmap_epochs_ = n;
        } else if (!error.isEmpty()) {
            heatmap_->xAxis->setLabel(error);
        }
        return;
    }
    // Runs recorded before per-unit histograms: a tracked neuron's own histogram, on the layer's
    // bins of each epoch (resampled onto a common grid for the heat map).
    const InstrumentedLayer* info = nullptr;
    for (const auto& l : data_->layers)
        if (l.index == s.layer) info = &l;
    std::size_t j = s.neuron_hists.size();
    if (info)
        for (std::size_t k = 0; k < info->neurons.size(); ++k)
            if (info->neurons[k] == selected_) j = k;
    if (j >= s.neuron_hists.size()) {
        neuron_hist_->xAxis->setLabel(tr("no histogram of unit %1 in this run (it predates per-unit histograms; "
                                         "instrument.neurons tracks chosen units)")
                                          .arg(selected_));
        return;
    }
    QVector<double> centres;
    for (std::size_t b = 0; b + 1 < s.hist_edges.size(); ++b)
        centres << 0.5 * (s.hist_edges[b] + s.hist_edges[b + 1]);
    const double width = s.hist_edges.size() > 1 ? s.hist_edges[1] - s.hist_edges[0] : 1.0;
    const auto& h = s.neuron_hists[j];  // [below, bins..., above]
    for (std::size_t b = 1; b + 1 < h.size(); ++b)
        neuron_histogram_ << h[b];
    set_bars(neuron_hist_, centres, neuron_histogram_, width, color);
    neuron_hist_->xAxis->setLabel(tr("activation of unit %1 (below: %2, above: %3)")
                                      .arg(selected_)
                                      .arg(h.front(), 0, 'g', 6)
                                      .arg(h.back(), 0, 'g', 6));
    const auto it = data_->layer_epochs.find(s.layer);
    if (it == data_->layer_epochs.end()) return;
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
            if (j >= snap.neuron_hists.size()) continue;
            const auto& nh = snap.neuron_hists[j];
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
        plots::ReplotQueue::instance().request(p);
    dirty_.clear();
    ++redraws_;
}

}  // namespace normout::ui
