#include "ui/unit_compare.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>
#include <exception>
#include <limits>

#include "engine/runfile/run_file_instrument.h"
#include "engine/runfile/tables.h"
#include "plots/live_plot.h"
#include "plots/plot_theme.h"
#include "ui/unit_fractions.h"

namespace normout::ui {

namespace {

// The instrumented layers every run has, with the same number of units: index -> units.
std::map<int, int64_t> common_layers(const std::vector<const RunData*>& runs) {
    std::map<int, int64_t> out;
    if (runs.empty()) return out;
    for (const auto& l : runs.front()->layers)
        out[l.index] = l.units;
    for (const RunData* r : runs) {
        std::map<int, int64_t> mine;
        for (const auto& l : r->layers)
            mine[l.index] = l.units;
        for (auto it = out.begin(); it != out.end();) {
            const auto m = mine.find(it->first);
            it = m == mine.end() || m->second != it->second ? out.erase(it) : std::next(it);
        }
    }
    return out;
}

}  // namespace

UnitCompare::UnitCompare(QWidget* parent)
    : QWidget(parent),
      layer_box_(new QComboBox(this)),
      unit_box_(new QSpinBox(this)),
      epoch_box_(new QSpinBox(this)),
      note_(new QLabel(this)),
      hist_(new plots::LivePlot(tr("The unit's activations across runs"), tr("activation"),
                                tr("fraction of the unit's values"))),
      keep_(new plots::LivePlot(tr("The unit's keep probabilities across runs"), tr("p"),
                                tr("fraction of the unit's values"))) {
    unit_box_->setRange(0, 0);
    unit_box_->setToolTip(tr("The unit (feature, or channel of a 4-D layer)"));
    epoch_box_->setRange(0, 100000);
    epoch_box_->setSpecialValueText(tr("last"));
    epoch_box_->setToolTip(tr("The epoch (last: each run's last epoch with per-unit histograms)"));
    layer_box_->setToolTip(tr("Instrumented layers all compared runs have, with the same units"));
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Layer")));
    controls->addWidget(layer_box_, 1);
    controls->addWidget(new QLabel(tr("Unit")));
    controls->addWidget(unit_box_);
    controls->addWidget(new QLabel(tr("Epoch")));
    controls->addWidget(epoch_box_);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(controls);
    note_->setWordWrap(true);
    layout->addWidget(note_);
    layout->addWidget(hist_, 2);
    layout->addWidget(keep_, 1);
    hist_->set_placeholder(tr("Compare runs that record per-unit histograms of the same layer."));
    keep_->set_placeholder(tr("Keep probabilities exist for NormOut and Dropout layers."));
    connect(layer_box_, &QComboBox::currentIndexChanged, this, [this] {
        const QSignalBlocker block(unit_box_);
        unit_box_->setRange(0, std::max(0, layer_box_->currentData(Qt::UserRole + 1).toInt() - 1));
        redraw();
    });
    connect(unit_box_, &QSpinBox::valueChanged, this, &UnitCompare::redraw);
    connect(epoch_box_, &QSpinBox::valueChanged, this, &UnitCompare::redraw);
}

void UnitCompare::set_runs(const std::vector<const RunData*>& runs) {
    runs_ = runs;
    cache_.clear();
    std::vector<std::string> configs, names;
    for (const RunData* r : runs_) {
        configs.push_back(r->config_json);
        names.push_back(r->name.empty() ? r->path : r->name);
    }
    labels_ = run_labels(configs, names);
    refill_layers();
}

void UnitCompare::refill_layers() {
    const int previous = layer_box_->currentData().isValid() ? layer_box_->currentData().toInt() : -1;
    {
        const QSignalBlocker block(layer_box_);
        layer_box_->clear();
        for (const auto& [index, units] : common_layers(runs_)) {
            QString description;
            for (const auto& l : runs_.front()->layers)
                if (l.index == index) description = QString::fromStdString(l.description);
            layer_box_->addItem(tr("%1: %2 (%3 units)").arg(index).arg(description).arg(units), index);
            layer_box_->setItemData(layer_box_->count() - 1, static_cast<int>(units), Qt::UserRole + 1);
        }
        const int found = layer_box_->findData(previous);
        if (found >= 0) layer_box_->setCurrentIndex(found);
    }
    const QSignalBlocker block(unit_box_);
    unit_box_->setRange(0, std::max(0, layer_box_->currentData(Qt::UserRole + 1).toInt() - 1));
    redraw();
}

void UnitCompare::select(int layer, int64_t unit, int epoch) {
    const QSignalBlocker b1(layer_box_), b2(unit_box_), b3(epoch_box_);
    const int found = layer_box_->findData(layer);
    if (found >= 0) layer_box_->setCurrentIndex(found);
    unit_box_->setRange(0, std::max(0, layer_box_->currentData(Qt::UserRole + 1).toInt() - 1));
    unit_box_->setValue(static_cast<int>(unit));
    epoch_box_->setValue(std::max(epoch, 0));
    redraw();
}

QString UnitCompare::note() const {
    return note_->text();
}

const std::vector<UnitHistograms>* UnitCompare::history(std::size_t run, int layer, int64_t unit, QString* error) {
    const auto key = std::make_tuple(run, layer, unit);
    if (const auto it = cache_.find(key); it != cache_.end()) return &it->second;
    try {
        if (cache_.size() > 4 * runs_.size()) cache_.clear();  // a few units of each run
        return &(cache_[key] = read_unit_history(runs_[run]->path, layer, unit));
    } catch (const std::exception& e) {
        *error = QString::fromStdString(e.what());
        return nullptr;
    }
}

void UnitCompare::redraw() {
    hist_->clear_series();
    keep_->clear_series();
    note_->clear();
    if (runs_.empty() || layer_box_->count() == 0) {
        note_->setText(runs_.empty() ? QString() : tr("The compared runs share no instrumented layer."));
        hist_->request_replot();
        keep_->request_replot();
        return;
    }
    const int layer = layer_box_->currentData().toInt();
    const int64_t unit = unit_box_->value();
    const int wanted = epoch_box_->value();  // 0: last
    QStringList problems;
    for (std::size_t r = 0; r < runs_.size(); ++r) {
        QString error;
        const auto* rows = history(r, layer, unit, &error);
        const QString label = QString::fromStdString(labels_[r]);
        if (!rows || rows->empty()) {
            problems << tr("%1: %2").arg(label, error.isEmpty() ? tr("no per-unit histograms") : error);
            continue;
        }
        const UnitHistograms* h = &rows->back();
        if (wanted > 0) {
            h = nullptr;
            for (const auto& row : *rows)
                if (row.epoch == wanted) h = &row;
            if (!h) {
                problems << tr("%1: no epoch %2").arg(label).arg(wanted);
                continue;
            }
        }
        const UnitFractions f = unit_fractions(*h);
        if (f.empty) continue;
        const QColor color = plots::series_color(static_cast<int>(r));
        const int s = hist_->add_series(
            tr("%1, epoch %2 (zeros %3%)").arg(label).arg(h->epoch).arg(100.0 * f.zero_fraction, 0, 'f', 1), color);
        hist_->set_data(s, f.x, f.y);
        if (!f.keep_x.isEmpty())
            keep_->set_data(keep_->add_series(tr("%1, epoch %2").arg(label).arg(h->epoch), color), f.keep_x, f.keep_y);
    }
    if (!problems.isEmpty()) note_->setText(problems.join(QStringLiteral("; ")));
    hist_->fit();
    keep_->fit();
    hist_->request_replot();
    keep_->request_replot();
}

}  // namespace normout::ui
