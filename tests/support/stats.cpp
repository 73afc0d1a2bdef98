#include "stats.h"

namespace normout::test {

double bonferroni_z(double alpha, long m) {
    const double target = alpha / static_cast<double>(m);  // two-sided tail mass
    double lo = 0.0, hi = 40.0;
    for (int i = 0; i < 200; ++i) {
        const double mid = 0.5 * (lo + hi);
        if (std::erfc(mid / std::sqrt(2.0)) > target)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

}  // namespace normout::test
