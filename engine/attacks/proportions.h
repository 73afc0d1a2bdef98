#pragma once
// Confidence intervals for accuracies measured on a sample of test images: the Wilson score
// interval for one proportion and Newcombe's interval for the difference of two proportions
// measured on the same images (paired). No torch.
#include <cstdint>

namespace normout {

struct Interval {
    double low = 0;
    double high = 0;
};

// The two-sided standard normal quantile for a confidence level (0.95 -> 1.95996).
double normal_quantile_two_sided(double level);

// Wilson score interval of `successes` out of `n` at normal quantile z; [0, 1] when n is 0.
Interval wilson_interval(int64_t successes, int64_t n, double z = 1.959963984540054);

// Counts of two binary outcomes A and B on the same n items.
struct PairedCounts {
    int64_t both = 0;    // A and B
    int64_t only_a = 0;  // A and not B
    int64_t only_b = 0;  // B and not A
    int64_t neither = 0;
    int64_t n() const { return both + only_a + only_b + neither; }
};

// Interval for P(A) - P(B) from paired outcomes: Newcombe's (1998) method 10, which combines the
// two Wilson intervals with the observed correlation of A and B (no continuity correction).
Interval paired_difference_interval(const PairedCounts& counts, double z = 1.959963984540054);

}  // namespace normout
