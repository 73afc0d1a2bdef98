#pragma once
// Activation statistics of instrumented layers, as plain values (thesis section 3.2): what the
// engine streams to observers and writes to the run file. No torch here.
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

namespace normout {

// Statistics of one tensor over all its elements. Variance and standard deviation are those of
// the population (divided by n); sparsity is the fraction of exact zeros.
struct ActivationStats {
    double mean = NAN, max = NAN, std = NAN, var = NAN, sparsity = NAN;
};

// Keep-probability statistics of a NormOut or Dropout layer for one batch.
struct KeepStats {
    double mean_p = NAN;         // mean keep probability
    double expected_drop = NAN;  // 1 - mean p
    double realised_drop = NAN;  // fraction of units the sampled mask dropped
    double frac_p_low = NAN;     // fraction of units with p < 0.05
    double frac_p_high = NAN;    // fraction of units with p > 0.95
};

struct LayerStepStats {
    int64_t global_step = 0;
    int layer = 0;  // index in the final layer table
    ActivationStats input, output;
    ActivationStats input_ewma, output_ewma;
    bool has_keep = false;
    KeepStats keep, keep_ewma;
};

// Per-epoch snapshot of one layer: per-unit statistics (units are features, or channels of a 4-D
// layer) over the epoch's training batches and histograms of its output.
struct LayerEpochSnapshot {
    int epoch = 0;
    int layer = 0;
    std::vector<float> neuron_mean, neuron_std, neuron_rate;  // firing rate: fraction non-zero
    // Histogram of the non-zero output values; bins adapt each epoch: [edges[0], edges[bins]]
    // spans the first batch's range widened upwards by half. Bins are [a, b) except the last,
    // [a, b]. Exact zeros and values outside the range are counted apart.
    std::vector<double> hist_edges;   // bins + 1
    std::vector<double> hist_counts;  // bins
    double hist_zero = 0, hist_under = 0, hist_over = 0;
    std::vector<double> keep_hist;                  // 20 bins of p over [0, 1] (NormOut/Dropout layers)
    std::vector<std::vector<double>> neuron_hists;  // per tracked neuron: bins + under + over, same edges
    // Every unit's histogram with bins fixed per layer for the whole run (unit_edges, bins + 1):
    // units x (bins + 3) counts laid out [zero, under, bins..., over]; keep layers also every
    // unit's keep-probability histogram, units x 20 bins over [0, 1]. Empty when not recorded.
    std::vector<double> unit_edges;
    std::vector<double> unit_hists;
    std::vector<double> unit_keep_hists;
};

// One epoch of one layer's per-unit histograms, as read back from a run file.
struct UnitHistograms {
    int layer = 0;
    int epoch = 0;
    int64_t units = 0;
    int bins = 0;
    std::vector<double> edges;   // bins + 1, identical in every epoch of a run
    std::vector<double> counts;  // units x (bins + 3): zero, under, bins..., over
    std::vector<double> keep;    // units x 20 (NormOut/Dropout layers), else empty
    const double* unit(int64_t u) const { return counts.data() + u * (bins + 3); }
};

// A layer the instrumentation watches, as recorded in the run file header.
struct InstrumentedLayer {
    int index = 0;
    std::string kind;
    std::string description;
    int64_t units = 0;         // features, or channels of a 4-D layer
    bool keep = false;         // NormOut or Dropout: keep-probability statistics
    std::vector<int> neurons;  // units with their own histograms
};

// Exponentially weighted moving average; non-finite values are skipped so that one NaN does not
// erase the history.
class Ewma {
  public:
    explicit Ewma(double alpha = 0.02) : alpha_(alpha) {}
    double add(double x) {
        if (std::isfinite(x)) value_ = std::isfinite(value_) ? alpha_ * x + (1 - alpha_) * value_ : x;
        return value_;
    }
    double value() const { return value_; }
    void set(double v) { value_ = v; }

  private:
    double alpha_;
    double value_ = NAN;
};

constexpr int kKeepHistogramBins = 20;

}  // namespace normout
