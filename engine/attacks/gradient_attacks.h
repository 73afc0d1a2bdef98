#pragma once
// White-box attacks in pixel space and the random-noise baseline. Every function takes clean
// images x [N, C, H, W] in [0, 1] and returns adversarial images in the ball of radius eps
// around x (L-inf or L2) and inside [0, 1]. Randomness comes from one seed per image, so an
// image gets the same perturbation whatever batch it is in.
#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "engine/attacks/classifier.h"

namespace normout {

// Projects x_adv onto {x + d : ||d|| <= eps} and then clips to [0, 1] (clipping moves each pixel
// towards x, so it never leaves the ball).
at::Tensor project_to_ball(const at::Tensor& x_adv, const at::Tensor& x, Norm norm, double eps);

// A perturbation per image drawn from its seed: L-inf uniform in [-eps, eps]^d (corners = true:
// a random vertex, eps * random signs); L2 uniform in the ball (sphere = true: on its surface).
at::Tensor random_perturbation(const at::Tensor& like, Norm norm, double eps, const std::vector<uint64_t>& seeds,
                               bool on_boundary);

// FGSM (L-inf: x + eps * sign g) and FGM (L2: x + eps * g / ||g||_2), g the input gradient of
// the cross-entropy of `labels`; clipped to [0, 1].
at::Tensor fgsm(const Classifier& model, const at::Tensor& x, const at::Tensor& labels, Norm norm, double eps);

struct PgdOptions {
    Norm norm = Norm::Linf;
    double eps = 8.0 / 255.0;
    double step = 3.0 / 255.0;  // L-inf: step * sign g; L2: step * g / ||g||_2
    int steps = 10;
    bool random_start = true;
    int restarts = 1;
};

// PGD-CE: ascends the cross-entropy of `labels`. Returns, per image, the iterate (over all steps
// and restarts, start included) with the lowest margin z_y - max_{j != y} z_j; restarts after the
// first only run for images that no iterate has fooled yet.
at::Tensor pgd_untargeted(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                          const PgdOptions& options, const std::vector<uint64_t>& seeds);

// PGD-T: descends the cross-entropy of `targets`. Returns the iterate with the highest target
// margin z_t - max_{j != t} z_j; restarts only for images whose target was not reached.
at::Tensor pgd_targeted(const Classifier& model, const at::Tensor& x, const at::Tensor& targets,
                        const PgdOptions& options, const std::vector<uint64_t>& seeds);

// Random noise in the same ball: `samples` draws per image (L-inf: random vertices of the ball,
// L2: random points on the sphere, the strongest random draws), each clipped to [0, 1]. Returns
// per image the first draw that is misclassified, or the last draw.
at::Tensor random_noise(const Classifier& model, const at::Tensor& x, const at::Tensor& labels, Norm norm, double eps,
                        int samples, const std::vector<uint64_t>& seeds);

}  // namespace normout
