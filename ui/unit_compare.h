#pragma once
// Compare → Units: one unit of one layer overlaid across the compared runs (same architecture),
// e.g. a baseline against NormOut: its activation histogram and its keep-probability histogram
// at an epoch, as fractions of the unit's values so that runs of any length compare. Read from
// the run files on demand (one unit's row per epoch), never all units of all runs.
#include <QWidget>
#include <map>
#include <tuple>
#include <vector>

#include "ui/run_data.h"

class QComboBox;
class QLabel;
class QSpinBox;

namespace normout::plots {
class LivePlot;
}

namespace normout::ui {

class UnitCompare : public QWidget {
    Q_OBJECT
  public:
    explicit UnitCompare(QWidget* parent = nullptr);
    // The runs compared (CompareView owns them; they outlive the next call).
    void set_runs(const std::vector<const RunData*>& runs);
    void select(int layer, int64_t unit, int epoch);  // epoch -1: each run's last

    QComboBox* layer_box() const { return layer_box_; }
    QSpinBox* unit_box() const { return unit_box_; }
    plots::LivePlot* histograms() const { return hist_; }
    plots::LivePlot* keep_histograms() const { return keep_; }
    QString note() const;

  private:
    void refill_layers();
    void redraw();
    const std::vector<UnitHistograms>* history(std::size_t run, int layer, int64_t unit, QString* error);

    std::vector<const RunData*> runs_;
    std::vector<std::string> labels_;
    // (run, layer, unit) -> that unit's histograms over the epochs, as read
    std::map<std::tuple<std::size_t, int, int64_t>, std::vector<UnitHistograms>> cache_;
    QComboBox* layer_box_;
    QSpinBox* unit_box_;
    QSpinBox* epoch_box_;
    QLabel* note_;
    plots::LivePlot *hist_, *keep_;
};

}  // namespace normout::ui
