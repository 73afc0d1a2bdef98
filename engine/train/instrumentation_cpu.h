#pragma once
// The instrumentation's per-step work on the CPU in two passes over a layer's values (its input,
// then its output with its keep probabilities), instead of the ~40 tensor operations the device
// path (instrumentation.cpp) queues: on two cores those cost ~9% of a width-1/8 training step,
// these passes ~2%. The results equal the device path's: the same bins by the same float
// arithmetic (tests/test_instrument.cpp compares them); sums are taken in double.
#include <cstdint>
#include <limits>
#include <vector>

namespace normout::cpu_instrument {

// Mean, population variance, max (NaN if any value is NaN) and fraction of exact zeros.
struct Moments {
    double mean = 0, var = 0, max = 0, zero_fraction = 0;
};
Moments moments(const float* x, int64_t n);

// Where one step's values of a layer go. Values are laid out [batch, units, positions] (positions
// 1 for a 2-D layer, H*W for a 4-D one); `p` and `keep`, when not null, are the keep
// probabilities and the kept mask laid out the same.
struct LayerValues {
    const float* x = nullptr;
    const float* p = nullptr;
    const bool* keep = nullptr;
    int64_t batch = 0, units = 0, positions = 1;
};

// The accumulators (all sized by the caller; a null pointer skips its part).
struct Accumulators {
    int bins = 0;             // histogram bins of the layer histogram and of each unit's
    double lo = 0, hi = 1;    // layer histogram range (at::histc semantics: top edge in the last bin)
    double ulo = 0, uhi = 1;  // per-unit histogram range, fixed for the run
    int keep_bins = 0;        // keep-probability bins over [0, 1]
    double* n_sum = nullptr;  // [units] sums, squares and non-zero counts
    double* n_sumsq = nullptr;
    double* n_nonzero = nullptr;
    double* hist = nullptr;          // [bins + 2]: under, bins, over (NaN counted nowhere)
    double* keep_hist = nullptr;     // [keep_bins] (p outside [0, 1] or NaN counted nowhere)
    int64_t* u_hist = nullptr;       // [units * (bins + 3)]: zero, under, bins..., over per unit
    int64_t* u_keep_hist = nullptr;  // [units * keep_bins]
    double* neuron_hist = nullptr;   // [neurons.size() * (bins + 2)], layer range
    std::vector<int> neurons;        // units with their own layer-range histogram
};

// The per-step statistics of the output and the keep mask (the device path's row).
struct StepRow {
    Moments out;
    // Mean p, fraction kept, fractions of p below 0.05 and above 0.95 (NaN without p).
    double mean_p = kNaN, kept = kNaN, p_low = kNaN, p_high = kNaN;
    static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
};

// Adds one step's values to `acc` and returns its statistics.
StepRow accumulate(const LayerValues& v, const Accumulators& acc);

}  // namespace normout::cpu_instrument
