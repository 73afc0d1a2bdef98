#pragma once
// The statistics behind `normout report`: Student-t and normal quantiles, intervals for a mean
// over seeds, paired and Welch comparisons, Holm's step-down adjustment, Spearman's rank
// correlation with its interval, the exact binomial test, and the seeds a comparison would need.
// Standard C++ only (no torch, no Qt); the distribution functions are checked against tabulated
// values in tests/test_report_stats.cpp.
#include <cstdint>
#include <string>
#include <vector>

namespace normout::stats {

double normal_cdf(double z);
double normal_quantile(double p);  // p in (0, 1)
// Regularised incomplete beta I_x(a, b).
double incomplete_beta(double a, double b, double x);
double t_cdf(double t, double df);
double t_quantile(double p, double df);  // p in (0, 1), df > 0
// Quantile of Beta(a, b), for Clopper-Pearson intervals.
double beta_quantile(double p, double a, double b);

// Finite values only.
std::vector<double> finite(const std::vector<double>& v);
double mean(const std::vector<double>& v);
double sample_sd(const std::vector<double>& v);  // n - 1 in the denominator; NaN for n < 2

// A mean over seeds with its two-sided t interval (NaN bounds for n < 2).
struct MeanInterval {
    int n = 0;
    double mean = 0, sd = 0, low = 0, high = 0;
};
MeanInterval mean_interval(const std::vector<double>& values, double level = 0.95);

// One observation per seed of two configurations.
struct Observation {
    uint64_t seed = 0;
    double value = 0;
};

// A difference of means a - b: paired by seed when at least two seeds are shared (the
// differences over the shared seeds, a one-sample t test), otherwise Welch's t test over all
// runs. p is two-sided, for "no difference".
struct Comparison {
    std::string method;  // "paired t (n seeds)" | "Welch t" | "" (too few runs)
    bool paired = false;
    int n_a = 0, n_b = 0, n_pairs = 0;
    double effect = 0;  // mean(a) - mean(b), or the mean of the paired differences
    double low = 0, high = 0;
    double df = 0;
    double se = 0;  // standard error of the effect
    double sd = 0;  // paired: sd of the differences; Welch: pooled sd of one run
    double p = 1;   // two-sided
    bool valid() const { return !method.empty(); }
};
Comparison compare(const std::vector<Observation>& a, const std::vector<Observation>& b, double level = 0.95);

// Holm's step-down adjustment of p-values (family-wise error), in the given order.
std::vector<double> holm(const std::vector<double>& p);

// Spearman's rank correlation (ties get average ranks), with a Fisher-z interval using the
// Bonett-Wright variance (1 + r^2/2) / (n - 3), and a two-sided permutation p-value (exact up to
// 8 points, else `permutations` seeded draws).
struct Correlation {
    int n = 0;
    double rho = 0, low = 0, high = 0, p = 1;
    std::string method;
};
Correlation spearman(const std::vector<double>& x, const std::vector<double>& y, double level = 0.95,
                     int permutations = 20000, uint64_t seed = 1);

// k successes of n under H0: rate 1/2. One-sided p for "more than half" and the Clopper-Pearson
// interval of the rate.
struct Proportion {
    int k = 0, n = 0;
    double rate = 0, low = 0, high = 1;
    double p_greater = 1;  // P(X >= k | n, 1/2)
    double p_less = 1;     // P(X <= k | n, 1/2)
};
Proportion proportion(int k, int n, double level = 0.95);

// Seeds (per configuration) a comparison would need for a two-sided t test at level `alpha` to
// detect `effect` with probability `power`, when one run's spread is `sd` (paired: the sd of the
// differences). t-corrected normal approximation. -1 when effect or sd gives no answer (effect
// 0, sd NaN), and the cap when more than `cap` would be needed.
int seeds_needed(double effect, double sd, bool paired, double alpha = 0.05, double power = 0.8, int cap = 10000);

// Runs of the same, fully consistent outcome needed for the binomial test to reach `alpha`.
int binomial_runs_needed(double alpha = 0.05);

}  // namespace normout::stats
