#include "engine/data/augment.h"

#include <cmath>

#include "engine/rng.h"

namespace normout {

namespace {

// 2x3 affine maps acting on pixel coordinates (x, y): p' = A p + t.
struct Affine {
    double a = 1, b = 0, tx = 0, c = 0, d = 1, ty = 0;
    // (this o other)(p) = this(other(p))
    Affine after(const Affine& o) const {
        return {a * o.a + b * o.c, a * o.b + b * o.d, a * o.tx + b * o.ty + tx,
                c * o.a + d * o.c, c * o.b + d * o.d, c * o.tx + d * o.ty + ty};
    }
    Affine inverse() const {
        const double det = a * d - b * c;
        Affine r;
        r.a = d / det;
        r.b = -b / det;
        r.c = -c / det;
        r.d = a / det;
        r.tx = -(r.a * tx + r.b * ty);
        r.ty = -(r.c * tx + r.d * ty);
        return r;
    }
};

// Linear map L applied about the image centre (cx, cy), then shifted by (sx, sy).
Affine about_centre(double la, double lb, double lc, double ld, double cx, double cy, double sx = 0, double sy = 0) {
    return {la, lb, cx - la * cx - lb * cy + sx, lc, ld, cy - lc * cx - ld * cy + sy};
}

}  // namespace

Augmenter::Augmenter(const AugmentConfig& config, int channels, int height, int width)
    : cfg_(config), c_(channels), h_(height), w_(width) {}

void Augmenter::convert(const uint8_t* src, float* dst, std::size_t n) {
    constexpr float k = 1.0f / 255.0f;
    for (std::size_t i = 0; i < n; ++i)
        dst[i] = static_cast<float>(src[i]) * k;
}

std::array<double, 6> Augmenter::draw_inverse_map(uint64_t seed) const {
    SplitMix64 g(seed);
    const double cx = (w_ - 1) / 2.0, cy = (h_ - 1) / 2.0;
    Affine forward;  // input -> output, built in pipeline order
    if (cfg_.crop_padding > 0) {
        const int span = 2 * cfg_.crop_padding + 1;
        const double dx = static_cast<double>(g.below(static_cast<uint64_t>(span))) - cfg_.crop_padding;
        const double dy = static_cast<double>(g.below(static_cast<uint64_t>(span))) - cfg_.crop_padding;
        forward = Affine{1, 0, -dx, 0, 1, -dy}.after(forward);
    }
    if (cfg_.hflip && g.uniform() < 0.5) forward = about_centre(-1, 0, 0, 1, cx, cy).after(forward);
    if (cfg_.rotation_deg > 0) {
        const double t = g.uniform(-cfg_.rotation_deg, cfg_.rotation_deg) * M_PI / 180.0;
        forward = about_centre(std::cos(t), -std::sin(t), std::sin(t), std::cos(t), cx, cy).after(forward);
    }
    for (int r = 0; r < cfg_.affine_repeats; ++r) {
        if (!(g.uniform() < cfg_.affine_prob)) continue;
        // torchvision's RandomAffine draws integer shifts and a uniform scale.
        const double sx = std::round(g.uniform(-cfg_.translate * w_, cfg_.translate * w_));
        const double sy = std::round(g.uniform(-cfg_.translate * h_, cfg_.translate * h_));
        const double s = g.uniform(cfg_.scale_min, cfg_.scale_max);
        forward = about_centre(s, 0, 0, s, cx, cy, sx, sy).after(forward);
    }
    const Affine inv = forward.inverse();
    return {inv.a, inv.b, inv.tx, inv.c, inv.d, inv.ty};
}

void Augmenter::apply(const uint8_t* src, float* dst, uint64_t seed) const {
    const std::size_t plane = static_cast<std::size_t>(h_) * static_cast<std::size_t>(w_);
    if (!cfg_.enabled) {
        convert(src, dst, plane * static_cast<std::size_t>(c_));
        return;
    }
    apply_map(src, dst, draw_inverse_map(seed));
}

void Augmenter::apply_map(const uint8_t* src, float* dst, const std::array<double, 6>& m) const {
    const std::size_t plane = static_cast<std::size_t>(h_) * static_cast<std::size_t>(w_);
    constexpr float k = 1.0f / 255.0f;
    const bool bilinear = this->bilinear();
    for (int y = 0; y < h_; ++y) {
        for (int x = 0; x < w_; ++x) {
            const double sx = m[0] * x + m[1] * y + m[2];
            const double sy = m[3] * x + m[4] * y + m[5];
            const std::size_t o = static_cast<std::size_t>(y) * w_ + x;
            if (!bilinear) {
                const long ix = std::lround(sx), iy = std::lround(sy);
                const bool inside = ix >= 0 && iy >= 0 && ix < w_ && iy < h_;
                const std::size_t i = inside ? static_cast<std::size_t>(iy) * w_ + static_cast<std::size_t>(ix) : 0;
                for (int c = 0; c < c_; ++c)
                    dst[c * plane + o] = inside ? static_cast<float>(src[c * plane + i]) * k : 0.0f;
                continue;
            }
            const double fx = std::floor(sx), fy = std::floor(sy);
            const double wx = sx - fx, wy = sy - fy;
            const long x0 = static_cast<long>(fx), y0 = static_cast<long>(fy);
            for (int c = 0; c < c_; ++c) {
                const uint8_t* p = src + c * plane;
                auto at = [&](long xx, long yy) -> double {
                    return (xx >= 0 && yy >= 0 && xx < w_ && yy < h_) ? p[yy * w_ + xx] : 0.0;
                };
                const double v = (1 - wy) * ((1 - wx) * at(x0, y0) + wx * at(x0 + 1, y0)) +
                                 wy * ((1 - wx) * at(x0, y0 + 1) + wx * at(x0 + 1, y0 + 1));
                dst[c * plane + o] = static_cast<float>(v) * k;
            }
        }
    }
}

}  // namespace normout
