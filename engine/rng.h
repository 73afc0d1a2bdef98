#pragma once
// A small, portable random number generator (SplitMix64). Data order and augmentation draw from
// it, so they depend only on (seed, epoch, sample) and not on threads or the standard library.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

namespace normout {

class SplitMix64 {
  public:
    explicit SplitMix64(uint64_t seed) : state_(seed) {}
    uint64_t next() {
        uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, 1) with 53 random bits.
    double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }
    double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
    // Uniform integer in [0, n), unbiased (rejection sampling).
    uint64_t below(uint64_t n) {
        if (n <= 1) return 0;
        const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
        uint64_t r;
        do
            r = next();
        while (r >= limit);
        return r % n;
    }

  private:
    uint64_t state_;
};

// Derives an independent stream seed from a base seed and stream identifiers.
inline uint64_t derive_seed(uint64_t seed, uint64_t a, uint64_t b = 0) {
    SplitMix64 g(seed ^ (a * 0xD1B54A32D192ED03ull) ^ (b * 0x8CB92BA72F3D8DD7ull));
    g.next();
    return g.next();
}

// `n` distinct indices of [0, count) in increasing order (all of them when n is 0 or >= count),
// drawn from derive_seed(seed, salt) by a partial Fisher-Yates shuffle: its draws do not depend
// on n, so the subsets of one seed are nested (a larger n adds indices). Evaluation subsets of
// the test set (attacks, flatness) are these, the same for every run of a comparison.
inline std::vector<int64_t> seeded_subset(int64_t count, int64_t n, uint64_t seed, uint64_t salt) {
    std::vector<int64_t> all(static_cast<std::size_t>(std::max<int64_t>(count, 0)));
    std::iota(all.begin(), all.end(), int64_t{0});
    if (n == 0 || n >= count) return all;
    SplitMix64 rng(derive_seed(seed, salt));
    for (int64_t i = 0; i < n; ++i) {
        const auto j = i + static_cast<int64_t>(rng.below(static_cast<uint64_t>(count - i)));
        std::swap(all[static_cast<std::size_t>(i)], all[static_cast<std::size_t>(j)]);
    }
    all.resize(static_cast<std::size_t>(n));
    std::sort(all.begin(), all.end());
    return all;
}

}  // namespace normout
