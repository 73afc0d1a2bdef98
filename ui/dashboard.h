#pragma once
// The live dashboard of one run: loss and accuracy, per-layer activation statistics (moving
// averages, raw values faint, a smoothing control), keep probabilities, attack accuracies with
// confidence bands and the masking verdict, Fisher-Rao values; and, where the run records them,
// robust training accuracy, the objective, the layers' schedules and the activation penalties.
#include <QTimer>
#include <QWidget>

#include "ui/run_data.h"

class QComboBox;
class QLabel;
class QSlider;
class QCheckBox;

namespace normout::plots {
class LivePlot;
}

namespace normout::ui {

class Dashboard : public QWidget {
    Q_OBJECT
  public:
    explicit Dashboard(QWidget* parent = nullptr);
    // Shows this run's data; the plots are rebuilt at most ten times a second.
    void show_run(const RunData* data);
    void data_changed();
    void refresh_now();

    plots::LivePlot* loss_plot() const { return loss_; }
    plots::LivePlot* accuracy_plot() const { return accuracy_; }
    plots::LivePlot* layer_plot() const { return layers_; }
    plots::LivePlot* keep_plot() const { return keep_; }
    plots::LivePlot* attack_plot() const { return attacks_; }
    plots::LivePlot* flatness_plot() const { return flatness_; }
    // Shown only for runs with schedules (surgery layers active for some epochs, or a moving
    // temperature or p) and for runs with activation penalties.
    plots::LivePlot* schedule_plot() const { return schedule_; }
    plots::LivePlot* penalty_plot() const { return penalties_; }
    QLabel* verdict_label() const { return verdict_; }
    QComboBox* statistic_box() const { return stat_box_; }
    double smoothing() const;

  private:
    void rebuild();
    void rebuild_extras(double per_epoch, double alpha, bool raw);

    const RunData* data_ = nullptr;
    QTimer refresh_timer_;
    plots::LivePlot *loss_, *accuracy_, *layers_, *keep_, *attacks_, *flatness_, *schedule_, *penalties_;
    QComboBox* stat_box_;
    QComboBox* side_box_;
    QSlider* smoothing_slider_;
    QLabel* smoothing_label_;
    QCheckBox* raw_box_;
    QLabel* verdict_;
    QLabel* empty_;
    QWidget* controls_;
};

}  // namespace normout::ui
