#include "engine/report/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <numeric>
#include <random>

namespace normout::stats {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// Continued fraction of the incomplete beta (modified Lentz), converging for x < (a+1)/(a+b+2).
double beta_fraction(double a, double b, double x) {
    const double tiny = 1e-300, eps = 1e-15;
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    if (std::fabs(d) < tiny) d = tiny;
    d = 1 / d;
    double h = d;
    for (int m = 1; m <= 10000; ++m) {
        const double m2 = 2.0 * m;
        double aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        h *= d * c;
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
        d = 1 + aa * d;
        if (std::fabs(d) < tiny) d = tiny;
        c = 1 + aa / c;
        if (std::fabs(c) < tiny) c = tiny;
        d = 1 / d;
        const double delta = d * c;
        h *= delta;
        if (std::fabs(delta - 1) < eps) break;
    }
    return h;
}

// Inverts an increasing function on [lo, hi] by bisection (robust; these are not hot paths).
template <class F>
double bisect(F f, double target, double lo, double hi) {
    for (int i = 0; i < 200 && hi - lo > 1e-15 * std::max(1.0, std::fabs(lo) + std::fabs(hi)); ++i) {
        const double mid = 0.5 * (lo + hi);
        (f(mid) < target ? lo : hi) = mid;
    }
    return 0.5 * (lo + hi);
}

std::vector<double> ranks(const std::vector<double>& v) {
    std::vector<std::size_t> order(v.size());
    std::iota(order.begin(), order.end(), 0);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
    std::vector<double> r(v.size());
    for (std::size_t i = 0; i < order.size();) {
        std::size_t j = i;
        while (j + 1 < order.size() && v[order[j + 1]] == v[order[i]])
            ++j;
        const double average = 0.5 * (static_cast<double>(i) + static_cast<double>(j)) + 1;
        for (std::size_t k = i; k <= j; ++k)
            r[order[k]] = average;
        i = j + 1;
    }
    return r;
}

double pearson(const std::vector<double>& x, const std::vector<double>& y) {
    const double mx = mean(x), my = mean(y);
    double sxy = 0, sxx = 0, syy = 0;
    for (std::size_t i = 0; i < x.size(); ++i) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : kNaN;
}

double two_sided_t_p(double t, double df) {
    if (std::isnan(t)) return kNaN;
    return std::min(1.0, 2 * t_cdf(-std::fabs(t), df));
}

}  // namespace

double normal_cdf(double z) {
    return 0.5 * std::erfc(-z / std::sqrt(2.0));
}

double normal_quantile(double p) {
    if (!(p > 0 && p < 1)) return p == 0 ? -INFINITY : p == 1 ? INFINITY : kNaN;
    return bisect(normal_cdf, p, -40, 40);
}

double incomplete_beta(double a, double b, double x) {
    if (!(x > 0)) return 0;
    if (!(x < 1)) return 1;
    const double front =
        std::exp(std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) + a * std::log(x) + b * std::log1p(-x));
    if (x < (a + 1) / (a + b + 2)) return front * beta_fraction(a, b, x) / a;
    return 1 - front * beta_fraction(b, a, 1 - x) / b;
}

double t_cdf(double t, double df) {
    if (std::isnan(t) || !(df > 0)) return kNaN;
    if (std::isinf(t)) return t > 0 ? 1 : 0;
    const double tail = 0.5 * incomplete_beta(df / 2, 0.5, df / (df + t * t));
    return t > 0 ? 1 - tail : tail;
}

double t_quantile(double p, double df) {
    if (!(p > 0 && p < 1) || !(df > 0)) return kNaN;
    double hi = 10;
    while (t_cdf(hi, df) < std::max(p, 1 - p) && hi < 1e12)
        hi *= 10;
    return bisect([df](double t) { return t_cdf(t, df); }, p, -hi, hi);
}

double beta_quantile(double p, double a, double b) {
    if (!(p > 0)) return 0;
    if (!(p < 1)) return 1;
    return bisect([a, b](double x) { return incomplete_beta(a, b, x); }, p, 0, 1);
}

std::vector<double> finite(const std::vector<double>& v) {
    std::vector<double> out;
    for (double x : v)
        if (std::isfinite(x)) out.push_back(x);
    return out;
}

double mean(const std::vector<double>& v) {
    const auto f = finite(v);
    return f.empty() ? kNaN : std::accumulate(f.begin(), f.end(), 0.0) / static_cast<double>(f.size());
}

double sample_sd(const std::vector<double>& v) {
    const auto f = finite(v);
    if (f.size() < 2) return kNaN;
    const double m = mean(f);
    double s = 0;
    for (double x : f)
        s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(f.size() - 1));
}

MeanInterval mean_interval(const std::vector<double>& values, double level) {
    const auto f = finite(values);
    MeanInterval m;
    m.n = static_cast<int>(f.size());
    m.mean = mean(f);
    m.sd = sample_sd(f);
    if (m.n < 2) {
        m.low = m.high = kNaN;
        return m;
    }
    const double half = t_quantile(0.5 + level / 2, m.n - 1) * m.sd / std::sqrt(static_cast<double>(m.n));
    m.low = m.mean - half;
    m.high = m.mean + half;
    return m;
}

Comparison compare(const std::vector<Observation>& a, const std::vector<Observation>& b, double level) {
    Comparison c;
    std::map<uint64_t, double> by_seed_b;
    std::vector<double> va, vb;
    for (const auto& o : b)
        if (std::isfinite(o.value)) by_seed_b[o.seed] = o.value, vb.push_back(o.value);
    std::vector<double> differences;
    for (const auto& o : a)
        if (std::isfinite(o.value)) {
            va.push_back(o.value);
            const auto it = by_seed_b.find(o.seed);
            if (it != by_seed_b.end()) differences.push_back(o.value - it->second);
        }
    c.n_a = static_cast<int>(va.size());
    c.n_b = static_cast<int>(vb.size());
    const double q = 0.5 + level / 2;
    double t = kNaN;
    if (differences.size() >= 2) {
        const int n = static_cast<int>(differences.size());
        c.paired = true;
        c.n_pairs = n;
        c.method = "paired t over " + std::to_string(n) + " shared seeds";
        c.effect = mean(differences);
        c.sd = sample_sd(differences);
        c.se = c.sd / std::sqrt(static_cast<double>(n));
        c.df = n - 1;
    } else if (va.size() >= 2 && vb.size() >= 2) {
        c.method = "Welch t";
        const double sa = sample_sd(va), sb = sample_sd(vb), na = static_cast<double>(va.size()),
                     nb = static_cast<double>(vb.size());
        c.effect = mean(va) - mean(vb);
        const double ua = sa * sa / na, ub = sb * sb / nb;
        c.se = std::sqrt(ua + ub);
        c.df = (ua + ub) > 0 ? (ua + ub) * (ua + ub) / (ua * ua / (na - 1) + ub * ub / (nb - 1)) : na + nb - 2;
        c.sd = std::sqrt((sa * sa + sb * sb) / 2);
    } else {
        c.effect = mean(va) - mean(vb);
        c.low = c.high = c.p = kNaN;
        return c;
    }
    if (c.se > 0) {
        t = c.effect / c.se;
        c.p = two_sided_t_p(t, c.df);
        const double half = t_quantile(q, c.df) * c.se;
        c.low = c.effect - half;
        c.high = c.effect + half;
    } else {  // every run gave the same difference
        c.p = c.effect == 0 ? 1 : 0;
        c.low = c.high = c.effect;
    }
    return c;
}

std::vector<double> holm(const std::vector<double>& p) {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < p.size(); ++i)
        if (std::isfinite(p[i])) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return p[a] < p[b]; });
    std::vector<double> adjusted(p.size(), kNaN);
    const double m = static_cast<double>(order.size());
    double running = 0;
    for (std::size_t j = 0; j < order.size(); ++j) {
        running = std::max(running, std::min(1.0, (m - static_cast<double>(j)) * p[order[j]]));
        adjusted[order[j]] = running;
    }
    return adjusted;
}

Correlation spearman(const std::vector<double>& x, const std::vector<double>& y, double level, int permutations,
                     uint64_t seed) {
    Correlation c;
    std::vector<double> fx, fy;
    for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i)
        if (std::isfinite(x[i]) && std::isfinite(y[i])) fx.push_back(x[i]), fy.push_back(y[i]);
    c.n = static_cast<int>(fx.size());
    c.low = c.high = c.rho = c.p = kNaN;
    if (c.n < 3) return c;
    const auto rx = ranks(fx), ry = ranks(fy);
    c.rho = pearson(rx, ry);
    if (std::isnan(c.rho)) return c;
    if (c.n > 3) {
        const double r = std::clamp(c.rho, -0.999999, 0.999999);
        const double se = std::sqrt((1 + r * r / 2) / (c.n - 3));
        const double z = std::atanh(r), zq = normal_quantile(0.5 + level / 2);
        c.low = std::tanh(z - zq * se);
        c.high = std::tanh(z + zq * se);
    }
    const double observed = std::fabs(c.rho) - 1e-12;
    std::vector<double> perm = ry;
    int64_t hits = 0, total = 0;
    if (c.n <= 8) {
        std::sort(perm.begin(), perm.end());
        do {
            const double r = pearson(rx, perm);
            hits += std::fabs(r) >= observed;
            ++total;
        } while (std::next_permutation(perm.begin(), perm.end()));
        c.p = static_cast<double>(hits) / static_cast<double>(total);
        c.method = "Spearman; Fisher-z interval (Bonett-Wright variance); exact permutation p";
    } else {
        std::mt19937_64 rng(seed);
        for (int i = 0; i < permutations; ++i) {
            for (std::size_t k = perm.size() - 1; k > 0; --k)  // Fisher-Yates, portable
                std::swap(perm[k], perm[rng() % (k + 1)]);
            hits += std::fabs(pearson(rx, perm)) >= observed;
        }
        c.p = (static_cast<double>(hits) + 1) / (permutations + 1.0);
        c.method = "Spearman; Fisher-z interval (Bonett-Wright variance); permutation p (" +
                   std::to_string(permutations) + " draws)";
    }
    return c;
}

Proportion proportion(int k, int n, double level) {
    Proportion p;
    p.k = k;
    p.n = n;
    if (n <= 0) {
        p.rate = p.low = p.high = kNaN;
        return p;
    }
    p.rate = static_cast<double>(k) / n;
    const double a = 1 - level;
    p.low = k == 0 ? 0 : beta_quantile(a / 2, k, n - k + 1);
    p.high = k == n ? 1 : beta_quantile(1 - a / 2, k + 1, n - k);
    double greater = 0, less = 0;
    for (int i = 0; i <= n; ++i) {
        const double term =
            std::exp(std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) - n * std::log(2.0));
        if (i >= k) greater += term;
        if (i <= k) less += term;
    }
    p.p_greater = std::min(1.0, greater);
    p.p_less = std::min(1.0, less);
    return p;
}

int seeds_needed(double effect, double sd, bool paired, double alpha, double power, int cap) {
    if (!std::isfinite(effect) || !std::isfinite(sd) || effect == 0 || sd < 0) return -1;
    if (sd == 0) return 2;
    // The margin |effect| / se - (t_alpha + t_power) grows with n: the smallest n is found by
    // bisection (a linear scan costs thousands of t quantiles for small effects).
    auto enough = [&](int n) {
        const double df = paired ? n - 1 : 2.0 * n - 2;
        const double se = paired ? sd / std::sqrt(n) : sd * std::sqrt(2.0 / n);
        return std::fabs(effect) / se >= t_quantile(1 - alpha / 2, df) + t_quantile(power, df);
    };
    if (!enough(cap)) return cap;
    int lo = 2, hi = cap;  // enough(hi) holds
    if (enough(lo)) return lo;
    while (hi - lo > 1) {
        const int mid = lo + (hi - lo) / 2;
        (enough(mid) ? hi : lo) = mid;
    }
    return hi;
}

int binomial_runs_needed(double alpha) {
    int n = 1;
    while (std::pow(0.5, n) >= alpha && n < 64)
        ++n;
    return n;
}

}  // namespace normout::stats
