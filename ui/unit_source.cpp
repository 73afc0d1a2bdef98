#include "ui/unit_source.h"

#include <QObject>
#include <exception>

#include "engine/runfile/run_file_instrument.h"

namespace normout::ui {

namespace {

// Unit `unit` of an epoch's table, alone (units 1), as read_unit_history gives them.
UnitHistograms one_unit(const UnitHistograms& h, int64_t unit) {
    UnitHistograms u;
    u.layer = h.layer;
    u.epoch = h.epoch;
    u.units = 1;
    u.bins = h.bins;
    u.edges = h.edges;
    u.counts.assign(h.unit(unit), h.unit(unit) + h.bins + 3);
    if (!h.keep.empty())
        u.keep.assign(h.keep.begin() + unit * kKeepHistogramBins, h.keep.begin() + (unit + 1) * kKeepHistogramBins);
    return u;
}

std::size_t finished_epochs(const RunData& run, int layer) {
    const auto it = run.layer_epochs.find(layer);
    return it == run.layer_epochs.end() ? 0 : it->second.size();
}

}  // namespace

void UnitSource::clear() {
    epochs_.clear();
    so_far_.reset();
    history_ = History{};
    combined_.clear();
}

const UnitHistograms* UnitSource::epoch(const RunData& run, int layer, int epoch, QString* error) {
    if (run.path != path_) {
        clear();
        path_ = run.path;
    }
    if (const auto it = run.epoch_so_far.find(layer); it != run.epoch_so_far.end() && it->second.epoch == epoch) {
        so_far_ = unit_histograms_of(it->second);
        if (so_far_->units > 0) return &*so_far_;
        *error = QObject::tr("The epoch in progress has no per-unit histograms yet.");
        return nullptr;
    }
    if (const auto it = run.unit_latest.find(layer); it != run.unit_latest.end() && it->second.epoch == epoch)
        return &it->second;
    const auto key = std::make_pair(layer, epoch);
    if (const auto it = epochs_.find(key); it != epochs_.end()) return &it->second;
    if (run.path.empty()) {
        *error = QObject::tr("This run has no file to read per-unit histograms from.");
        return nullptr;
    }
    try {
        if (epochs_.size() >= 8) epochs_.clear();  // a few epochs of a layer, not the whole run
        return &(epochs_[key] = read_unit_histograms(run.path, layer, epoch));
    } catch (const std::exception& e) {
        epochs_.erase(key);
        *error = QObject::tr("No per-unit histograms for this epoch: %1").arg(QString::fromStdString(e.what()));
        return nullptr;
    }
}

bool UnitSource::extends_from_memory(const RunData& run, int layer, int64_t unit, std::size_t finished) const {
    if (history_.layer != layer || history_.unit != unit || history_.finished + 1 != finished) return false;
    const auto it = run.unit_latest.find(layer);
    if (it == run.unit_latest.end() || unit >= it->second.units) return false;
    const int epoch = it->second.epoch;
    // Only the epoch right after the rows held (an epoch that reached the file twice, or a gap, is read again).
    return static_cast<std::size_t>(epoch) == finished &&
           (history_.rows.empty() ? epoch == 1 : history_.rows.back().epoch == epoch - 1);
}

const std::vector<UnitHistograms>& UnitSource::history(const RunData& run, int layer, int64_t unit, QString* error) {
    if (run.path != path_) {
        clear();
        path_ = run.path;
    }
    const std::size_t finished = finished_epochs(run, layer);
    if (extends_from_memory(run, layer, unit, finished)) {
        // A live run finished the next epoch: it is in memory, no file read on the GUI thread.
        history_.rows.push_back(one_unit(run.unit_latest.at(layer), unit));
        history_.finished = finished;
    }
    if (history_.layer != layer || history_.unit != unit || history_.finished != finished) {
        history_ = History{layer, unit, finished, {}};
        if (!run.path.empty()) {
            try {
                history_.rows = read_unit_history(run.path, layer, unit);
            } catch (const std::exception& e) {
                *error = QObject::tr("Unit history unavailable: %1").arg(QString::fromStdString(e.what()));
            }
        }
        // A live run's newest finished epoch may not have reached the file yet.
        if (const auto it = run.unit_latest.find(layer);
            it != run.unit_latest.end() && unit < it->second.units &&
            (history_.rows.empty() || history_.rows.back().epoch < it->second.epoch))
            history_.rows.push_back(one_unit(it->second, unit));
    }
    combined_ = history_.rows;
    if (const auto it = run.epoch_so_far.find(layer); it != run.epoch_so_far.end()) {
        const UnitHistograms h = unit_histograms_of(it->second);
        if (unit < h.units && (combined_.empty() || combined_.back().epoch < h.epoch))
            combined_.push_back(one_unit(h, unit));
    }
    return combined_;
}

}  // namespace normout::ui
