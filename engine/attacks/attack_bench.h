#pragma once
// `normout bench-attacks`: seconds per 1000 images of each attack on a model with synthetic
// images (labels = the model's own predictions, so that every image is attacked in full).
#include <c10/core/Device.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/attacks/attack_config.h"
#include "engine/attacks/classifier.h"
#include "engine/model/model.h"

namespace normout {

struct AttackBenchRow {
    std::string attack;  // clean, fgsm, pgd-ce, pgd-t, noise, square, gradient-probe
    std::string what;    // what one unit of work is
    double seconds = 0;
    double seconds_per_1000 = 0;  // per 1000 images
};

struct AttackBenchResult {
    std::string device;
    int threads = 0;
    int64_t parameters = 0;
    int64_t images = 0;
    int square_queries = 0;  // queries timed (no early stop)
    std::vector<AttackBenchRow> rows;
};

// Times each attack of `config` (at its first eps of `norm`) on `images` synthetic images of shape
// [channels, side, side]. Square runs `square_queries` queries per image without stopping early;
// its row is scaled to the configured budget (the worst case: an image that is never fooled).
AttackBenchResult bench_attacks(Net& net, const AttackConfig& config, Norm norm, int64_t images, int channels, int side,
                                int square_queries, const c10::Device& device);

}  // namespace normout
