#pragma once
// One unit's histograms as fractions of its values, for drawing runs of any length together
// (Compare → Units and `normout-lab export --unit`).
#include <QVector>

#include "engine/runfile/layer_stats.h"

namespace normout::ui {

struct UnitFractions {
    QVector<double> x, y;            // bin centres, fraction of the unit's values in each bin
    QVector<double> keep_x, keep_y;  // keep-probability bins (empty without keep probabilities)
    double zero_fraction = 0;        // of the values, exact zeros
    bool empty = true;               // no values at all
};

// Unit 0 of `h` (the rows of read_unit_history hold one unit each).
inline UnitFractions unit_fractions(const UnitHistograms& h) {
    UnitFractions f;
    double n = 0, k = 0;
    for (int s = 0; s < h.bins + 3; ++s)
        n += h.unit(0)[s];
    if (n <= 0) return f;
    f.empty = false;
    f.zero_fraction = h.unit(0)[0] / n;
    for (int b = 0; b < h.bins; ++b) {
        f.x << 0.5 * (h.edges[static_cast<std::size_t>(b)] + h.edges[static_cast<std::size_t>(b) + 1]);
        f.y << h.unit(0)[b + 2] / n;
    }
    for (std::size_t b = 0; b < h.keep.size() && b < static_cast<std::size_t>(kKeepHistogramBins); ++b)
        k += h.keep[b];
    if (k > 0)
        for (int b = 0; b < kKeepHistogramBins; ++b) {
            f.keep_x << (b + 0.5) / kKeepHistogramBins;
            f.keep_y << h.keep[static_cast<std::size_t>(b)] / k;
        }
    return f;
}

}  // namespace normout::ui
