#pragma once
// Wall-clock budgets of tests that check responsiveness (a GUI that never stalls, a recorder that
// loses at most one flush interval) scale with the build: under AddressSanitizer and UBSan all code
// runs two to three times slower, so `tools/test.sh --sanitize` sets NORMOUT_TEST_TIME_SCALE=3.
#include <cstdlib>

namespace normout::test {

inline double time_scale() {
    const char* s = std::getenv("NORMOUT_TEST_TIME_SCALE");
    const double v = s ? std::atof(s) : 1.0;
    return v >= 1.0 ? v : 1.0;
}

}  // namespace normout::test
