#pragma once
// Loss-landscape slices (Li et al. 2018, "Visualizing the loss landscape of neural nets"):
// loss and accuracy of the evaluation subset at theta + a d1 (+ b d2) along random directions
// whose every filter has the norm of the matching weight filter (BatchNorm and bias directions
// zero), and along the straight line between two sets of weights of a run.
#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <map>
#include <string>
#include <vector>

#include "engine/data/image_set.h"
#include "engine/flatness/flatness_config.h"
#include "engine/flatness/parameters.h"
#include "engine/model/model.h"

namespace normout {

struct LandscapeGrid {
    std::string kind;                    // "1d" | "2d" | "interpolation"
    std::vector<double> x;               // coordinates along the first direction (or alpha)
    std::vector<double> y;               // along the second direction; empty for 1-D slices
    std::vector<double> loss, accuracy;  // 1-D: [x]; 2-D: [x][y] row-major (index i * y.size() + j)
    int64_t n = 0;                       // examples evaluated at each point
    uint64_t seed = 0;                   // of the directions (and the subset)
    std::string from, to;                // interpolation: what alpha 0 and alpha 1 are
    double seconds = 0;
};

struct LossAccuracy {
    double loss = 0;  // mean cross-entropy
    double accuracy = 0;
};
LossAccuracy evaluate_subset(Net& net, const EvalSubset& subset);

// Li et al.'s filter normalisation, in place: each slice d[i] along dim 0 of a tensor with more
// than one dimension (a convolution's output channel, a linear layer's output unit) is scaled to
// the norm of the matching slice of the weight; one-dimensional tensors (BatchNorm, biases) are
// zeroed.
void filter_normalise(std::vector<at::Tensor>& direction, const std::vector<at::Tensor>& weights);
// A seeded Gaussian direction over all parameters of the net (in named_parameters() order),
// filter-normalised.
std::vector<at::Tensor> random_direction(Net& net, uint64_t seed);

// dims 1 or 2: a grid of config.grid points per axis over [range_min, range_max].
LandscapeGrid landscape_slice(Net& net, const ImageSet& set, const FlatnessConfig& config, int dims,
                              const c10::Device& device);

// A model state by name (parameters and buffers, as in named_parameters()/named_buffers()).
using ModelState = std::map<std::string, at::Tensor>;
// (A checkpoint's model state: read_checkpoint_model() in engine/checkpoint.h.)
// Loss and accuracy at (1 - alpha) start + alpha * end for config.grid values of alpha over
// [interpolate_min, interpolate_max], interpolating the parameters and the floating-point buffers
// (BatchNorm running statistics); `end` is usually the net's own weights.
LandscapeGrid interpolate(Net& net, const ModelState& start, const ModelState& end, const ImageSet& set,
                          const FlatnessConfig& config, const c10::Device& device);
ModelState current_state(Net& net);

// The grid coordinates: `count` evenly spaced values from lo to hi (both included).
std::vector<double> grid_coordinates(double lo, double hi, int count);

}  // namespace normout
