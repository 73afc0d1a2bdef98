#pragma once
// Tolerances for rates measured over repeated random draws.
#include <cmath>

namespace normout::test {

// Largest deviation of an observed rate from its probability p over n Bernoulli draws that is
// accepted: z binomial standard errors plus a continuity term.
inline double rate_tolerance(double p, long n, double z) {
    return z * std::sqrt(p * (1.0 - p) / n) + 1.0 / n;
}

// z for a two-sided test at family-wise level alpha over m comparisons (Bonferroni), by bisection
// on the normal tail.
double bonferroni_z(double alpha, long m);

}  // namespace normout::test
