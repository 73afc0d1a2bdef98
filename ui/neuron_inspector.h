#pragma once
// The neuron inspector: for a layer and an epoch, the per-neuron means with their standard
// deviations as error bars, sorted (thesis figures 3.1/3.2), the firing rates, the histogram of
// the layer's outputs and of its keep probabilities; for a tracked neuron, its histogram at that
// epoch and a heat map of its histograms over all epochs. Like LivePlot, redraws are capped at 25
// per second whatever the update rate: updates rebuild the plots' data at once and mark them dirty,
// and one coalesced redraw (a single-shot 40 ms timer) replots the dirty ones.
#include <QTimer>
#include <QVector>
#include <QWidget>

#include "ui/run_data.h"

class QComboBox;
class QLabel;
class QSlider;
class QCustomPlot;

namespace normout::ui {

class NeuronInspector : public QWidget {
    Q_OBJECT
  public:
    explicit NeuronInspector(QWidget* parent = nullptr);
    void show_run(const RunData* data);
    void data_changed();

    // What the plots show (tests check the data, not pixels).
    QVector<double> sorted_means() const { return sorted_means_; }
    QVector<double> sorted_stds() const { return sorted_stds_; }
    QVector<double> sorted_rates() const { return sorted_rates_; }
    QVector<double> histogram() const { return histogram_; }
    QVector<double> neuron_histogram() const { return neuron_histogram_; }
    int heatmap_epochs() const { return heatmap_epochs_; }
    QComboBox* layer_box() const { return layer_box_; }
    QSlider* epoch_slider() const { return epoch_slider_; }
    QComboBox* neuron_box() const { return neuron_box_; }
    // Coalesced redraws so far (each replots the plots marked dirty since the previous one).
    int redraw_count() const { return redraws_; }

  private:
    void refill_choices();
    void rebuild();  // rebuilds the plots' data, marks them dirty and requests a redraw
    void mark_dirty(QCustomPlot* plot);
    void request_redraw();  // at most one redraw every 40 ms happens
    void do_redraw();

    const RunData* data_ = nullptr;
    QComboBox* layer_box_;
    QSlider* epoch_slider_;
    QLabel* epoch_label_;
    QComboBox* neuron_box_;
    QLabel* note_;
    QCustomPlot *means_, *rates_, *hist_, *keep_hist_, *neuron_hist_, *heatmap_;
    QVector<double> sorted_means_, sorted_stds_, sorted_rates_, histogram_, neuron_histogram_;
    int heatmap_epochs_ = 0;
    QVector<QCustomPlot*> dirty_;
    QTimer redraw_timer_;
    int redraws_ = 0;
};

}  // namespace normout::ui
