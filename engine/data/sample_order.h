#pragma once
// The order of the training samples in an epoch and the seed of each sample's augmentation: the
// CPU loader and the device-resident batches both draw from here, so they produce the same
// batches. Both depend only on (seed, epoch, sample), never on thread timing.
#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "engine/rng.h"

namespace normout {

inline std::vector<int64_t> epoch_sample_order(int64_t count, bool shuffle, uint64_t seed, int epoch) {
    std::vector<int64_t> order(static_cast<std::size_t>(count));
    std::iota(order.begin(), order.end(), 0);
    if (!shuffle) return order;
    SplitMix64 g(derive_seed(seed, 0x0D3E, static_cast<uint64_t>(epoch)));
    for (int64_t i = count - 1; i > 0; --i)
        std::swap(order[static_cast<std::size_t>(i)], order[g.below(static_cast<uint64_t>(i) + 1)]);
    return order;
}

inline uint64_t augmentation_seed(uint64_t seed, int epoch, int64_t sample) {
    return derive_seed(seed, static_cast<uint64_t>(epoch) + 1, static_cast<uint64_t>(sample));
}

}  // namespace normout
