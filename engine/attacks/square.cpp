#include "engine/attacks/square.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "engine/rng.h"

namespace normout {

namespace {

struct Shape {
    int64_t c, h, w, d;
};

float clip01(double v) {
    return static_cast<float>(std::min(1.0, std::max(0.0, v)));
}

// The reference's "pseudo-Gaussian" rectangle: nested rectangles around the centre weighted
// 1/(k+1)^2, unit L2 norm. rows x cols, row-major.
std::vector<double> pseudo_gaussian_rectangle(int rows, int cols) {
    std::vector<double> d(static_cast<std::size_t>(std::max(0, rows * cols)), 0.0);
    if (rows <= 0 || cols <= 0) return d;
    int r0 = rows / 2, c0 = cols / 2;
    const int rounds = std::max(rows / 2 + 1, cols / 2 + 1);
    for (int k = 0; k < rounds; ++k) {
        const double v = 1.0 / ((k + 1.0) * (k + 1.0));
        for (int r = std::max(r0, 0); r < std::min(r0 + 2 * k + 1, rows); ++r)
            for (int c = std::max(c0, 0); c < std::min(c0 + 2 * k + 1, cols); ++c)
                d[static_cast<std::size_t>(r * cols + c)] += v;
        --r0;
        --c0;
    }
    double sum = 0;
    for (double x : d)
        sum += x * x;
    for (double& x : d)
        x /= std::sqrt(sum);
    return d;
}

// An s x s window of two opposite pseudo-Gaussian halves, unit norm, randomly transposed.
std::vector<double> square_pattern(int s, SplitMix64& rng) {
    std::vector<double> d(static_cast<std::size_t>(s * s), 0.0);
    const int top = s / 2;
    const auto a = pseudo_gaussian_rectangle(top, s), b = pseudo_gaussian_rectangle(s - top, s);
    for (int i = 0; i < top * s; ++i)
        d[static_cast<std::size_t>(i)] = a[static_cast<std::size_t>(i)];
    for (int i = 0; i < (s - top) * s; ++i)
        d[static_cast<std::size_t>(top * s + i)] = -b[static_cast<std::size_t>(i)];
    double sum = 0;
    for (double x : d)
        sum += x * x;
    for (double& x : d)
        x /= std::sqrt(sum);
    if (rng.uniform() > 0.5) {
        std::vector<double> t(d.size());
        for (int r = 0; r < s; ++r)
            for (int c = 0; c < s; ++c)
                t[static_cast<std::size_t>(c * s + r)] = d[static_cast<std::size_t>(r * s + c)];
        d.swap(t);
    }
    return d;
}

double sign(SplitMix64& rng) {
    return (rng.next() >> 63) ? 1.0 : -1.0;
}

// x_new = clip(x + delta / ||delta|| * eps): the L2 candidates always use the whole budget.
void place_l2(const float* x, const std::vector<double>& delta, double eps, float* out) {
    double sum = 0;
    for (double v : delta)
        sum += v * v;
    const double scale = sum > 0 ? eps / std::sqrt(sum) : 0.0;
    for (std::size_t k = 0; k < delta.size(); ++k)
        out[k] = clip01(x[k] + delta[k] * scale);
}

void init_linf(const float* x, const Shape& sh, double eps, SplitMix64& rng, float* out) {
    // Vertical stripes: one sign per channel and column (the reference's initialisation).
    for (int64_t c = 0; c < sh.c; ++c)
        for (int64_t col = 0; col < sh.w; ++col) {
            const double s = sign(rng) * eps;
            for (int64_t r = 0; r < sh.h; ++r) {
                const int64_t k = (c * sh.h + r) * sh.w + col;
                out[k] = clip01(x[k] + s);
            }
        }
}

void init_l2(const float* x, const Shape& sh, double eps, SplitMix64& rng, float* out) {
    // A grid of pseudo-Gaussian squares of side h/5 with random signs per channel.
    std::vector<double> delta(static_cast<std::size_t>(sh.d), 0.0);
    const int64_t s = std::max<int64_t>(1, sh.h / 5);
    const int64_t start = (sh.h - s * 5) / 2 > 0 ? (sh.h - s * 5) / 2 : 0;
    for (int64_t vh = start; vh + s <= sh.h; vh += s)
        for (int64_t vw = start; vw + s <= sh.w; vw += s) {
            const auto pattern = square_pattern(static_cast<int>(s), rng);
            for (int64_t c = 0; c < sh.c; ++c) {
                const double sg = sign(rng);
                for (int64_t r = 0; r < s; ++r)
                    for (int64_t q = 0; q < s; ++q)
                        delta[static_cast<std::size_t>((c * sh.h + vh + r) * sh.w + vw + q)] +=
                            sg * pattern[static_cast<std::size_t>(r * s + q)];
            }
        }
    place_l2(x, delta, eps, out);
}

void candidate_linf(const float* x, const float* best, const Shape& sh, double eps, double p, SplitMix64& rng,
                    float* out) {
    std::copy(best, best + sh.d, out);
    const int64_t side = std::min(sh.h, sh.w);
    const int64_t s = std::min<int64_t>(std::max<int64_t>(std::llround(std::sqrt(p * sh.d / sh.c)), 1), side - 1);
    const auto vh = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.h - s + 1)));
    const auto vw = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.w - s + 1)));
    // Resample the signs until the window changes (the reference does the same), a bounded number
    // of times: with eps > 1/2 both signs can clip to the current values.
    for (int attempt = 0; attempt < 100; ++attempt) {
        bool changed = false;
        for (int64_t c = 0; c < sh.c; ++c) {
            const double s_eps = sign(rng) * eps;
            for (int64_t r = 0; r < s; ++r)
                for (int64_t q = 0; q < s; ++q) {
                    const int64_t k = (c * sh.h + vh + r) * sh.w + vw + q;
                    out[k] = clip01(x[k] + s_eps);
                    changed = changed || std::fabs(out[k] - best[k]) >= 1e-7f;
                }
        }
        if (changed) return;
    }
}

void candidate_l2(const float* x, const float* best, const Shape& sh, double eps, double p, SplitMix64& rng,
                  float* out) {
    const int64_t side = std::min(sh.h, sh.w);
    int64_t s = std::max<int64_t>(std::llround(std::sqrt(p * sh.d / sh.c)), 3);
    if (s % 2 == 0) ++s;
    s = std::max<int64_t>(1, std::min(s, side - 1));
    const auto h1 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.h - s + 1)));
    const auto w1 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.w - s + 1)));
    const auto h2 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.h - s + 1)));
    const auto w2 = static_cast<int64_t>(rng.below(static_cast<uint64_t>(sh.w - s + 1)));
    const auto in = [&](int64_t r, int64_t q, int64_t vh, int64_t vw) {
        return r >= vh && r < vh + s && q >= vw && q < vw + s;
    };
    std::vector<double> delta(static_cast<std::size_t>(sh.d));
    double image_sq = 0;
    for (int64_t k = 0; k < sh.d; ++k) {
        delta[static_cast<std::size_t>(k)] = static_cast<double>(best[k]) - x[k];
        image_sq += delta[static_cast<std::size_t>(k)] * delta[static_cast<std::size_t>(k)];
    }
    const auto pattern = square_pattern(static_cast<int>(s), rng);
    std::vector<double> fresh(static_cast<std::size_t>(s * s));
    for (int64_t c = 0; c < sh.c; ++c) {
        const auto at = [&](int64_t r, int64_t q) -> double& {
            return delta[static_cast<std::size_t>((c * sh.h + r) * sh.w + q)];
        };
        double win1_sq = 0, union_sq = 0;
        for (int64_t r = 0; r < sh.h; ++r)
            for (int64_t q = 0; q < sh.w; ++q) {
                const bool a = in(r, q, h1, w1), b = in(r, q, h2, w2);
                const double v = at(r, q);
                if (a) win1_sq += v * v;
                if (a || b) union_sq += v * v;
            }
        // The new window: a fresh pattern plus the window's old direction, rescaled so that the
        // mass of both windows (and any unused budget) goes into window 1.
        const double sg = sign(rng), old_norm = std::sqrt(win1_sq) + 1e-10;
        double fresh_sq = 0;
        for (int64_t r = 0; r < s; ++r)
            for (int64_t q = 0; q < s; ++q) {
                double& f = fresh[static_cast<std::size_t>(r * s + q)];
                f = sg * pattern[static_cast<std::size_t>(r * s + q)] + at(h1 + r, w1 + q) / old_norm;
                fresh_sq += f * f;
            }
        const double target = std::sqrt(std::max(eps * eps - image_sq, 0.0) / static_cast<double>(sh.c) + union_sq);
        const double scale = target / (std::sqrt(fresh_sq) + 1e-12);
        for (int64_t r = 0; r < s; ++r)
            for (int64_t q = 0; q < s; ++q)
                at(h2 + r, w2 + q) = 0.0;
        for (int64_t r = 0; r < s; ++r)
            for (int64_t q = 0; q < s; ++q)
                at(h1 + r, w1 + q) = fresh[static_cast<std::size_t>(r * s + q)] * scale;
    }
    place_l2(x, delta, eps, out);
}

// Margins z_y - max_{j != y} z_j of the given images, one query each.
std::vector<double> query_margins(const Classifier& model, const std::vector<float>& images, const Shape& sh,
                                  const std::vector<int64_t>& labels, const at::Device& device) {
    const auto a = static_cast<int64_t>(labels.size());
    const at::Tensor batch =
        at::from_blob(const_cast<float*>(images.data()), {a, sh.c, sh.h, sh.w}, at::kFloat).clone().to(device);
    const at::Tensor y = at::from_blob(const_cast<int64_t*>(labels.data()), {a}, at::kLong).clone().to(device);
    const at::Tensor m = logit_margin(predict_logits(model, batch), y).to(at::kCPU, at::kDouble).contiguous();
    return std::vector<double>(m.data_ptr<double>(), m.data_ptr<double>() + a);
}

}  // namespace

double square_p_schedule(double p_init, int it, int total) {
    const int i = static_cast<int>(static_cast<double>(it) / std::max(1, total) * 10000.0);
    if (i <= 10) return p_init;
    if (i <= 50) return p_init / 2;
    if (i <= 200) return p_init / 4;
    if (i <= 500) return p_init / 8;
    if (i <= 1000) return p_init / 16;
    if (i <= 2000) return p_init / 32;
    if (i <= 4000) return p_init / 64;
    if (i <= 6000) return p_init / 128;
    if (i <= 8000) return p_init / 256;
    if (i <= 10000) return p_init / 512;
    return p_init;
}

SquareOutcome square_attack(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                            const SquareOptions& o, const std::vector<uint64_t>& seeds,
                            const std::function<bool()>& cancelled) {
    if (x.dim() != 4 || x.size(2) < 2 || x.size(3) < 2)
        throw std::invalid_argument("square attack: images [N, C, H, W] with H, W >= 2 needed");
    const int64_t n = x.size(0);
    if (static_cast<int64_t>(seeds.size()) != n) throw std::invalid_argument("square attack: one seed per image");
    torch::NoGradGuard no_grad;
    const Shape sh{x.size(1), x.size(2), x.size(3), x.size(1) * x.size(2) * x.size(3)};
    const at::Tensor xc = x.to(at::kCPU, at::kFloat).contiguous();
    const at::Tensor yc = labels.to(at::kCPU, at::kLong).contiguous();
    const float* x0 = xc.data_ptr<float>();
    const int64_t* y0 = yc.data_ptr<int64_t>();
    const auto row = [&](int64_t i) { return x0 + i * sh.d; };

    std::vector<SplitMix64> rng;
    for (int64_t i = 0; i < n; ++i)
        rng.emplace_back(seeds[static_cast<std::size_t>(i)]);
    std::vector<float> best(static_cast<std::size_t>(n * sh.d));
    std::vector<int64_t> all_labels(y0, y0 + n);
    for (int64_t i = 0; i < n; ++i) {
        float* out = best.data() + i * sh.d;
        if (o.norm == Norm::Linf)
            init_linf(row(i), sh, o.eps, rng[static_cast<std::size_t>(i)], out);
        else
            init_l2(row(i), sh, o.eps, rng[static_cast<std::size_t>(i)], out);
    }
    SquareOutcome result;
    std::vector<double> margin = n > 0 ? query_margins(model, best, sh, all_labels, x.device()) : std::vector<double>{};
    result.queries.assign(static_cast<std::size_t>(n), 1);

    std::vector<int64_t> active;
    std::vector<float> candidates;
    std::vector<int64_t> active_labels;
    for (int it = 1; it < o.queries; ++it) {
        if (cancelled && cancelled()) break;
        active.clear();
        for (int64_t i = 0; i < n; ++i)
            if (!o.stop_when_fooled || margin[static_cast<std::size_t>(i)] > 0) active.push_back(i);
        if (active.empty()) break;
        const double p = square_p_schedule(o.p_init, it - 1, o.queries);
        candidates.resize(active.size() * static_cast<std::size_t>(sh.d));
        active_labels.clear();
        for (std::size_t k = 0; k < active.size(); ++k) {
            const int64_t i = active[k];
            float* out = candidates.data() + static_cast<int64_t>(k) * sh.d;
            const float* b = best.data() + i * sh.d;
            if (o.norm == Norm::Linf)
                candidate_linf(row(i), b, sh, o.eps, p, rng[static_cast<std::size_t>(i)], out);
            else
                candidate_l2(row(i), b, sh, o.eps, p, rng[static_cast<std::size_t>(i)], out);
            active_labels.push_back(all_labels[static_cast<std::size_t>(i)]);
        }
        const std::vector<double> m = query_margins(model, candidates, sh, active_labels, x.device());
        for (std::size_t k = 0; k < active.size(); ++k) {
            const auto i = static_cast<std::size_t>(active[k]);
            ++result.queries[i];
            if (m[k] < margin[i]) {
                margin[i] = m[k];
                std::copy(candidates.begin() + static_cast<int64_t>(k) * sh.d,
                          candidates.begin() + static_cast<int64_t>(k + 1) * sh.d,
                          best.begin() + static_cast<int64_t>(i) * sh.d);
            }
        }
    }
    result.fooled.resize(static_cast<std::size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        result.fooled[static_cast<std::size_t>(i)] = margin[static_cast<std::size_t>(i)] <= 0 ? 1 : 0;
    result.x_adv = at::from_blob(best.data(), {n, sh.c, sh.h, sh.w}, at::kFloat).clone().to(x.device());
    return result;
}

}  // namespace normout
