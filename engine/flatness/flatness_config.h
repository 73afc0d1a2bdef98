#pragma once
// Settings of the flatness measures (thesis sections 1.4, 3.4 and its future work): the
// Fisher-Rao norm, the Hessian's trace and top eigenvalue, and loss-landscape slices. Plain
// values, no torch, so the trainer, the command line and the lab share them.
#include <cstdint>
#include <string>
#include <vector>

namespace normout {

struct FlatnessConfig {
    // What to compute.
    bool fisher_rao = true;
    bool hessian = false;
    std::string landscape;  // "" (none) | "1d" | "2d"

    // The evaluation subset of the test set, drawn once from `seed` (same seed, same images).
    int64_t n = 1000;      // examples; 0 = the whole test set
    uint64_t seed = 0;     // subset, Rademacher/power-iteration vectors and landscape directions
    int batch_size = 100;  // examples per batched pass
    // Which parameters make up theta: "all" trainable ones, or "weights" (convolution and linear
    // weights only: no BatchNorm parameters, no biases).
    std::string params = "all";
    int every_epochs = 0;  // during training: also every k epochs (0 = only at the end)

    // Hessian of the mean cross-entropy on a fixed batch (the first examples of the subset).
    int hessian_batch = 128;
    int hutchinson_samples = 32;    // Rademacher vectors for the trace
    int power_iterations = 50;      // at most
    double power_tolerance = 1e-4;  // stop when the eigenvalue changes by less (relative)

    // Loss-landscape slices along filter-normalised random directions (Li et al. 2018).
    int grid = 51;  // points per axis
    double range_min = -1.0;
    double range_max = 1.0;
    // Interpolation between two sets of weights: alpha 0 = the checkpoint, 1 = the final weights.
    double interpolate_min = -0.5;
    double interpolate_max = 1.5;
};

// Throws ConfigError naming the offending field ("flatness.grid").
void validate(const FlatnessConfig& config);

// The evaluation subset: `n` distinct indices of `count` drawn from `seed`, in increasing order
// (all indices when n is 0 or at least count).
std::vector<int64_t> flatness_subset(int64_t count, int64_t n, uint64_t seed);

}  // namespace normout
