#pragma once
// Adversarial training (thesis future work 4.3.1): each training batch has its first rows replaced
// by adversarial examples crafted against the model as it trains. PGD (Madry et al. 2018) or
// FGSM from a random start (Wong, Rice, Kolter 2020), L-inf or L2, in pixel space [0, 1] (the
// model normalises inside). docs/adversarial-training.md describes the settings.
#include <ATen/Tensor.h>

#include <cstdint>

#include "engine/config/config.h"
#include "engine/model/model.h"

namespace normout {

struct AdversarialBatch {
    at::Tensor x;       // the batch with its first `count` rows adversarial, the rest as given
    int64_t count = 0;  // 0 when train.adversarial is "none"
};

// train.adv_eps, or the norm's standard budget when 0: 8/255 (linf), 0.5 (l2).
double adversarial_eps(const TrainConfig& train);
// train.adv_step, or when 0: 2.5 eps / adv_iterations (pgd), 1.25 eps (fgsm-rs).
double adversarial_step(const TrainConfig& train);
// Rows of a batch of `batch_size` that are attacked: ceil(adv_fraction * batch_size), at least
// one (0 when adversarial is "none").
int64_t adversarial_count(const TrainConfig& train, int64_t batch_size);

// x [N, C, H, W] pixels in [0, 1], y [N] labels. Ascends the cross-entropy inside the eps-ball
// (every iterate projected onto the ball and clipped to [0, 1]); random starts draw from the
// global torch generator (the run's seed). The model runs as train.adv_bn says: "frozen" training
// mode with BatchNorm's running statistics (and num_batches_tracked) left bit-identical, "train"
// training mode that updates them, "eval" evaluation mode. The model's mode and BatchNorm settings
// are restored on return, even by an exception; parameters' .grad are never touched. The result
// is detached.
AdversarialBatch craft_adversarial_batch(Net& net, const at::Tensor& x, const at::Tensor& y, const TrainConfig& train);

}  // namespace normout
