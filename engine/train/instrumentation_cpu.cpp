#include "engine/train/instrumentation_cpu.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <mutex>

namespace normout::cpu_instrument {

namespace {

// Values per parallel chunk: below this, a thread's start costs more than its work.
constexpr int64_t kGrainValues = 16384;

// Sum, sum of squares, max, zeros and NaNs of a range; mergeable across chunks.
struct Partial {
    double sum = 0, sumsq = 0, max = -INFINITY, zeros = 0;
    bool nan = false;
    void add(float v) {
        const double d = v;
        sum += d;
        sumsq += d * d;
        if (std::isnan(v))
            nan = true;
        else if (d > max)
            max = d;
        zeros += v == 0.0f;
    }
    void merge(const Partial& o) {
        sum += o.sum;
        sumsq += o.sumsq;
        max = std::max(max, o.max);
        zeros += o.zeros;
        nan = nan || o.nan;
    }
    Moments moments(double n) const {
        Moments m;
        if (n <= 0) return m;
        m.mean = sum / n;
        m.var = std::max(0.0, sumsq / n - m.mean * m.mean);
        m.max = nan ? NAN : max;
        m.zero_fraction = zeros / n;
        return m;
    }
};

// A histc-style bin over [lo, hi]: -1 under, bins over, -2 NaN (counted nowhere).
inline int range_bin(float v, float lo, float hi, float scale, int bins) {
    if (std::isnan(v)) return -2;
    if (v < lo) return -1;
    if (v > hi) return bins;
    return std::min(bins - 1, static_cast<int>((v - lo) * scale));
}

// What every chunk of units shares: the values, the accumulators, the bins' constants and the
// totals its chunks add to.
struct Pass {
    const LayerValues& v;
    const Accumulators& acc;
    int bins, kbins;
    int64_t S, per_unit, stride;
    float lo, hi, scale, ulo, uscale, fbins, fkbins;
    std::vector<std::vector<int>> listed;  // the neuron histograms of each unit
    Partial out;
    double p_sum = 0, kept = 0, p_low = 0, p_high = 0;
    std::mutex m;

    Pass(const LayerValues& values, const Accumulators& a)
        : v(values),
          acc(a),
          bins(a.bins),
          kbins(a.keep_bins),
          S(values.positions),
          per_unit(values.batch * values.positions),
          stride(values.units * values.positions),
          lo(static_cast<float>(a.lo)),
          hi(static_cast<float>(a.hi)),
          scale(static_cast<float>(a.bins / (a.hi - a.lo))),
          ulo(static_cast<float>(a.ulo)),
          uscale(static_cast<float>(a.bins / (a.uhi - a.ulo))),
          fbins(static_cast<float>(a.bins)),
          fkbins(static_cast<float>(a.keep_bins)),
          listed(static_cast<std::size_t>(values.units)) {
        for (std::size_t j = 0; j < a.neurons.size(); ++j)
            listed[static_cast<std::size_t>(a.neurons[j])].push_back(static_cast<int>(j));
    }

    // Units [begin, end). kFlat: one value per unit and row (a 2-D layer), so that no index is
    // divided by the positions in the inner loops.
    template <bool kFlat>
    void units(int64_t begin, int64_t end) {
        // Rows outer, this chunk's units inner: the values are read in memory order, the
        // per-unit sums vectorise across units, and the bins of a row are computed in one
        // vectorisable loop before they are counted.
        const int64_t w = end - begin, len = w * S;
        const std::size_t n = static_cast<std::size_t>(len);
        // Per value slot of a row (k = unit * S + position), summed over the rows: simple loops
        // over k that the compiler vectorises; folded into units at the end.
        std::vector<double> sum(n), sumsq(n), kp(n);
        std::vector<float> mx(n, -INFINITY);
        std::vector<int32_t> zeros(n), nan(n), klow(n), khigh(n), kept_n(n), slot(n), rbin(n);
        // Four interleaved copies of the layer histogram break the chains of increments of one
        // bin (half a ReLU layer's values are zeros: those are counted apart, then added once).
        // Slot 0 of each copy takes what is counted nowhere (NaN, zeros, p outside [0, 1]): no branch
        // on the data in the counting loops.
        const int hs = bins + 3, ks = kbins + 1;
        std::vector<int64_t> hist(acc.hist ? 4 * hs : 0, 0), keep_hist(acc.keep_hist ? 4 * ks : 0, 0);
        double* __restrict s1 = sum.data();
        double* __restrict s2 = sumsq.data();
        float* __restrict mxp = mx.data();
        int32_t* __restrict zp = zeros.data();
        int32_t* __restrict np = nan.data();
        int32_t* __restrict sp = slot.data();
        int32_t* __restrict rp = rbin.data();
        for (int64_t b = 0; b < v.batch; ++b) {
            const int64_t off = b * stride + begin * S;
            const float* __restrict x = v.x + off;
            for (int64_t k = 0; k < len; ++k) {
                const float f = x[k];
                s1[k] += static_cast<double>(f);
                s2[k] += static_cast<double>(f) * static_cast<double>(f);
                zp[k] += f == 0.0f;
                np[k] |= f != f;
                mxp[k] = f > mxp[k] ? f : mxp[k];
            }
            // The device path's per-unit bin: float arithmetic; NaN and +inf over, -inf under,
            // zeros apart (slots: 0 zero, 1 under, 2.. bins, bins + 2 over).
            for (int64_t k = 0; k < len; ++k) {
                const float f = x[k];
                float ub = (f - ulo) * uscale;
                ub = ub != ub ? fbins : std::min(ub, fbins);
                // floor, then clamp to [-1, bins] (truncation is floor for ub >= 0; SSE2 has no floor)
                sp[k] = f == 0.0f ? 0 : (ub < 0.0f ? -1 : static_cast<int32_t>(ub)) + 2;
            }
            // The layer histogram's bin (at::histc: top edge in the last bin): 0 under, 1.. bins,
            // bins + 1 over, -1 for NaN and zeros (counted apart).
            for (int64_t k = 0; k < len; ++k) {
                const float f = x[k];
                float rb = std::min((f - lo) * scale, fbins - 1.0f);
                rb = f < lo ? -1.0f : (f > hi ? fbins : rb);
                rp[k] = (f != f || f == 0.0f) ? -1 : static_cast<int32_t>(rb) + 1;
            }
            if (acc.u_hist)
                for (int64_t k = 0; k < len; ++k)
                    ++acc.u_hist[(begin + (kFlat ? k : k / S)) * (bins + 3) + sp[k]];
            if (acc.hist)
                for (int64_t k = 0; k < len; ++k)
                    ++hist[static_cast<std::size_t>((k & 3) * hs + rp[k] + 1)];
            for (int64_t u = begin; u < end; ++u)
                for (int j : listed[static_cast<std::size_t>(u)])
                    for (int64_t k = (u - begin) * S; k < (u - begin + 1) * S; ++k) {
                        const float f = x[k];
                        if (f != f) continue;
                        const int r = f == 0.0f ? range_bin(f, lo, hi, scale, bins) + 1 : rp[k];
                        acc.neuron_hist[static_cast<std::size_t>(j) * (bins + 2) + r] += 1;
                    }
            if (v.p) {
                const float* __restrict p = v.p + off;
                double* __restrict kps = kp.data();
                int32_t* __restrict lowp = klow.data();
                int32_t* __restrict highp = khigh.data();
                for (int64_t k = 0; k < len; ++k) {
                    const float f = p[k];
                    kps[k] += static_cast<double>(f);
                    lowp[k] += f < 0.05f;
                    highp[k] += f > 0.95f;
                }
                // The device path's keep bin: NaN and -inf to 0, +inf to the last bin; and the
                // histc bin of the layer's keep histogram (-1 outside [0, 1]).
                for (int64_t k = 0; k < len; ++k) {
                    const float f = p[k];
                    const float kb = f * fkbins;
                    sp[k] = kb != kb || kb < 0.0f ? 0 : static_cast<int32_t>(std::min(kb, fkbins - 1.0f));
                    rp[k] = f >= 0.0f && f <= 1.0f ? std::min(kbins - 1, static_cast<int32_t>(f * fkbins)) : -1;
                }
                if (acc.u_keep_hist)
                    for (int64_t k = 0; k < len; ++k)
                        ++acc.u_keep_hist[(begin + (kFlat ? k : k / S)) * kbins + sp[k]];
                if (acc.keep_hist)
                    for (int64_t k = 0; k < len; ++k)
                        ++keep_hist[static_cast<std::size_t>((k & 3) * ks + rp[k] + 1)];
            }
            if (v.keep) {
                const bool* __restrict kv = v.keep + off;
                int32_t* __restrict kn = kept_n.data();
                for (int64_t k = 0; k < len; ++k)
                    kn[k] += kv[k];
            }
        }
        Partial part;
        double c_p = 0, c_kept = 0, c_low = 0, c_high = 0;
        for (int64_t i = 0; i < w; ++i) {
            Partial unit;
            for (int64_t k = i * S; k < (i + 1) * S; ++k) {
                const std::size_t q = static_cast<std::size_t>(k);
                unit.sum += sum[q];
                unit.sumsq += sumsq[q];
                unit.zeros += zeros[q];
                unit.nan = unit.nan || nan[q];
                unit.max = std::max(unit.max, static_cast<double>(mx[q]));
                c_p += kp[q];
                c_low += klow[q];
                c_high += khigh[q];
                c_kept += kept_n[q];
            }
            if (acc.n_sum) {
                acc.n_sum[begin + i] += unit.sum;
                acc.n_sumsq[begin + i] += unit.sumsq;
                acc.n_nonzero[begin + i] += static_cast<double>(per_unit) - unit.zeros;
            }
            part.merge(unit);
        }
        std::lock_guard<std::mutex> lock(m);
        out.merge(part);
        p_sum += c_p;
        kept += c_kept;
        p_low += c_low;
        p_high += c_high;
        for (int k = 0; k < 4 && acc.hist; ++k)
            for (int i = 0; i < bins + 2; ++i)
                acc.hist[i] += static_cast<double>(hist[static_cast<std::size_t>(k * hs + i + 1)]);
        for (int k = 0; k < 4 && acc.keep_hist; ++k)
            for (int i = 0; i < kbins; ++i)
                acc.keep_hist[i] += static_cast<double>(keep_hist[static_cast<std::size_t>(k * ks + i + 1)]);
    }
};

}  // namespace

Moments moments(const float* x, int64_t n) {
    Partial total;
    std::mutex m;
    at::parallel_for(0, n, kGrainValues, [&](int64_t begin, int64_t end) {
        // Eight lanes of independent sums, which the compiler vectorises.
        constexpr int kLanes = 8;
        double s1[kLanes] = {}, s2[kLanes] = {};
        float mx[kLanes];
        int32_t z[kLanes] = {}, nan[kLanes] = {};
        std::fill(mx, mx + kLanes, -INFINITY);
        int64_t i = begin;
        for (; i + kLanes <= end; i += kLanes)
            for (int l = 0; l < kLanes; ++l) {
                const float f = x[i + l];
                s1[l] += static_cast<double>(f);
                s2[l] += static_cast<double>(f) * static_cast<double>(f);
                z[l] += f == 0.0f;
                nan[l] |= f != f;
                mx[l] = f > mx[l] ? f : mx[l];
            }
        Partial part;
        for (; i < end; ++i)
            part.add(x[i]);
        for (int l = 0; l < kLanes; ++l) {
            part.sum += s1[l];
            part.sumsq += s2[l];
            part.zeros += z[l];
            part.nan = part.nan || nan[l];
            part.max = std::max(part.max, static_cast<double>(mx[l]));
        }
        std::lock_guard<std::mutex> lock(m);
        total.merge(part);
    });
    return total.moments(static_cast<double>(n));
}

StepRow accumulate(const LayerValues& v, const Accumulators& acc) {
    Pass pass(v, acc);
    const int64_t grain = std::max<int64_t>(1, kGrainValues / std::max<int64_t>(1, pass.per_unit));
    at::parallel_for(0, v.units, grain, [&](int64_t begin, int64_t end) {
        if (v.positions == 1)
            pass.units<true>(begin, end);
        else
            pass.units<false>(begin, end);
    });
    const Partial& out = pass.out;
    const int bins = acc.bins;
    const float lo = pass.lo, hi = pass.hi, scale = pass.scale;
    const int64_t per_unit = pass.per_unit;
    const double p_sum = pass.p_sum, kept = pass.kept, p_low = pass.p_low, p_high = pass.p_high;
    StepRow row;
    const double n = static_cast<double>(per_unit * v.units);
    row.out = out.moments(n);
    // The zeros, left out of the layer histogram above, in the bin that holds 0 (as histc does).
    if (acc.hist && out.zeros > 0) {
        const int z = range_bin(0.0f, lo, hi, scale, bins);
        if (z != -2) acc.hist[z + 1] += out.zeros;
    }
    if (v.p) {
        row.mean_p = p_sum / n;
        row.p_low = p_low / n;
        row.p_high = p_high / n;
    }
    if (v.keep) row.kept = kept / n;
    return row;
}

}  // namespace normout::cpu_instrument
