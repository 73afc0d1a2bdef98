#include "engine/attacks/proportions.h"

#include <algorithm>
#include <cmath>

namespace normout {

double normal_quantile_two_sided(double level) {
    // Solve erfc(z / sqrt 2) = 1 - level by bisection: erfc is monotone, 200 halvings are exact
    // to double precision and this runs a handful of times per diagnosis.
    const double tail = 1.0 - level;
    double lo = 0.0, hi = 40.0;
    for (int i = 0; i < 200; ++i) {
        const double mid = 0.5 * (lo + hi);
        if (std::erfc(mid / std::sqrt(2.0)) > tail)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

Interval wilson_interval(int64_t successes, int64_t n, double z) {
    if (n <= 0) return {0.0, 1.0};
    const double nn = static_cast<double>(n);
    const double p = static_cast<double>(successes) / nn;
    const double z2 = z * z;
    const double centre = (p + z2 / (2 * nn)) / (1 + z2 / nn);
    const double half = z / (1 + z2 / nn) * std::sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    // At p = 0 or 1 the bound is exactly 0 or 1; rounding must not leave it a hair off.
    const double low = successes == 0 ? 0.0 : std::max(0.0, centre - half);
    const double high = successes == n ? 1.0 : std::min(1.0, centre + half);
    return {low, high};
}

Interval paired_difference_interval(const PairedCounts& c, double z) {
    const int64_t n = c.n();
    if (n <= 0) return {-1.0, 1.0};
    const int64_t a_count = c.both + c.only_a, b_count = c.both + c.only_b;
    const double nn = static_cast<double>(n);
    const double p1 = a_count / nn, p2 = b_count / nn;
    const Interval w1 = wilson_interval(a_count, n, z), w2 = wilson_interval(b_count, n, z);
    // Correlation (phi) of the two outcomes; 0 when a margin is empty.
    const double a = static_cast<double>(c.both), b = static_cast<double>(c.only_a), cc = static_cast<double>(c.only_b),
                 d = static_cast<double>(c.neither);
    const double den = (a + b) * (cc + d) * (a + cc) * (b + d);
    const double phi = den > 0 ? (a * d - b * cc) / std::sqrt(den) : 0.0;
    const double l1 = p1 - w1.low, u1 = w1.high - p1, l2 = p2 - w2.low, u2 = w2.high - p2;
    const double delta = std::sqrt(std::max(0.0, l1 * l1 - 2 * phi * l1 * u2 + u2 * u2));
    const double eps = std::sqrt(std::max(0.0, u1 * u1 - 2 * phi * u1 * l2 + l2 * l2));
    const double theta = p1 - p2;
    return {std::max(-1.0, theta - delta), std::min(1.0, theta + eps)};
}

}  // namespace normout
