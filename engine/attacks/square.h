#pragma once
// The Square attack (Andriushchenko, Croce, Flammarion and Hein, ECCV 2020): a black-box random
// search that only queries logits. Untargeted, margin loss z_y - max_{j != y} z_j; each
// iteration changes one random square window (L-inf: to +-eps per channel; L2: moves mass from
// a second window into it), keeping the change if the margin decreases. The window's side
// follows the reference schedule of p, the fraction of pixels changed, from p_init.
#include <ATen/Tensor.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "engine/attacks/classifier.h"

namespace normout {

struct SquareOptions {
    Norm norm = Norm::Linf;
    double eps = 8.0 / 255.0;
    int queries = 5000;   // budget per image, the initialisation included
    double p_init = 0.8;  // as the reference implementations (AutoAttack, torchattacks)
    // Stop querying an image once it is misclassified (off only to time a fixed number of queries).
    bool stop_when_fooled = true;
};

struct SquareOutcome {
    at::Tensor x_adv;              // [N, C, H, W] on the device of x
    std::vector<int64_t> queries;  // queries spent per image (1 = the initialisation only)
    std::vector<uint8_t> fooled;   // margin < 0 at some query
};

// The fraction of pixels changed at iteration `it` of `total` (the reference's schedule, which
// halves p at iterations 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 of 10000, rescaled).
double square_p_schedule(double p_init, int it, int total);

// x [N, C, H, W] in [0, 1] with H, W >= 2; one seed per image. `cancelled` is polled every
// iteration; a cancelled attack returns what it found so far.
SquareOutcome square_attack(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                            const SquareOptions& options, const std::vector<uint64_t>& seeds,
                            const std::function<bool()>& cancelled = {});

}  // namespace normout
