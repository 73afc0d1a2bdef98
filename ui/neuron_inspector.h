#pragma once
// The neuron inspector: for a layer and an epoch (the epoch in progress too, while a run trains),
// the per-unit means with their standard deviations as error bars, sorted (thesis figures
// 3.1/3.2), the sorted firing rates, the histogram of the layer's outputs and of its keep
// probabilities. Clicking a unit in either sorted plot, typing its index or picking it from the
// notable units selects it: its histogram, its keep-probability histogram and its histograms over
// all epochs as a heat map (per-unit bins are fixed for the whole run). A live run's updates
// rebuild the plots' data at most every 100 ms, and only while the inspector is shown; like
// LivePlot, redraws are capped at 25 per second: rebuilds mark plots dirty, and one coalesced
// redraw (a single-shot 40 ms timer) hands them to the ReplotQueue.
#include <QTimer>
#include <QVector>
#include <QWidget>

#include "ui/run_data.h"
#include "ui/unit_source.h"

class QComboBox;
class QLabel;
class QListWidget;
class QSlider;
class QCustomPlot;
class QMouseEvent;

namespace normout::ui {

class NeuronInspector : public QWidget {
    Q_OBJECT
  public:
    explicit NeuronInspector(QWidget* parent = nullptr);
    void show_run(const RunData* data);
    // The run's data grew: rebuilt within 100 ms if shown, when next shown otherwise.
    void data_changed();
    void refresh();  // rebuilds now if data changed since the last rebuild
    // Selects a unit of the current layer (-1: none).
    void select_unit(int64_t unit);

    // What the plots show (tests check the data, not pixels).
    QVector<double> sorted_means() const { return sorted_means_; }
    QVector<double> sorted_stds() const { return sorted_stds_; }
    QVector<double> sorted_rates() const { return sorted_rates_; }
    QVector<double> histogram() const { return histogram_; }
    // The selected unit: its histogram's bins (per-unit histograms; for runs recorded before
    // them, the tracked neuron's), its keep-probability bins, and the epochs in its heat map.
    QVector<double> neuron_histogram() const { return neuron_histogram_; }
    QVector<double> unit_keep_histogram() const { return unit_keep_histogram_; }
    int heatmap_epochs() const { return heatmap_epochs_; }
    int64_t selected_unit() const { return selected_; }
    QString selection_text() const;
    bool showing_epoch_in_progress() const { return in_progress_; }
    QComboBox* layer_box() const { return layer_box_; }
    QSlider* epoch_slider() const { return epoch_slider_; }
    QComboBox* neuron_box() const { return neuron_box_; }
    QComboBox* notable_box() const { return notable_box_; }
    QListWidget* notable_list() const { return notable_list_; }
    QCustomPlot* means_plot() const { return means_; }
    QCustomPlot* rates_plot() const { return rates_; }
    // Coalesced redraws so far (each replots the plots marked dirty since the previous one).
    int redraw_count() const { return redraws_; }

  protected:
    void showEvent(QShowEvent* event) override;

  private:
    void refill_choices();
    void rebuild();  // rebuilds the plots' data, marks them dirty and requests a redraw
    void rebuild_unit(const LayerEpochSnapshot& s, const UnitHistograms* units);
    void rebuild_notable(const UnitHistograms* units, const UnitHistograms* first);
    void on_plot_click(QCustomPlot* plot, QMouseEvent* event, bool by_rate);
    void mark_dirty(QCustomPlot* plot);
    void request_redraw();  // at most one redraw every 40 ms happens
    void do_redraw();
    const LayerEpochSnapshot* current_snapshot() const;

    const RunData* data_ = nullptr;
    UnitSource units_;
    QComboBox* layer_box_;
    QSlider* epoch_slider_;
    QLabel* epoch_label_;
    QComboBox* neuron_box_;
    QLabel* note_;
    QLabel* selection_;
    QComboBox* notable_box_;
    QListWidget* notable_list_;
    QLabel* notable_note_;
    QCustomPlot *means_, *rates_, *hist_, *keep_hist_, *neuron_hist_, *unit_keep_, *heatmap_;
    QVector<double> sorted_means_, sorted_stds_, sorted_rates_, histogram_, neuron_histogram_, unit_keep_histogram_;
    std::vector<std::size_t> mean_order_, rate_order_;  // unit at each rank
    int64_t selected_ = -1;
    bool in_progress_ = false;
    QPoint press_pos_;
    int heatmap_epochs_ = 0;
    QVector<QCustomPlot*> dirty_;
    QTimer redraw_timer_;
    int redraws_ = 0;
    bool stale_ = false;  // data changed since the last rebuild
    QTimer refresh_timer_;
};

}  // namespace normout::ui
