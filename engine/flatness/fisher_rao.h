#pragma once
// The Fisher-Rao norm (Liang et al. 2019; thesis section 1.4.1, table 3.6):
//   ||theta||_fr = theta^T I(theta) theta = E[(theta . grad_theta loss(x, y))^2]
// in two versions: empirical (y the true label) and model (y ~ softmax(f(x)), the expectation
// taken exactly over the classes). Over a seeded subset of the test set, in evaluation mode.
#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "engine/data/image_set.h"
#include "engine/flatness/flatness_config.h"
#include "engine/model/model.h"

namespace normout {

struct FisherRao {
    double empirical = 0;     // mean over the examples
    double empirical_se = 0;  // standard error of that mean (over the examples of the subset)
    double model = 0;
    double model_se = 0;
    int64_t n = 0;            // examples used
    std::string params;       // "all" | "weights"
    int64_t param_count = 0;  // entries of theta
    uint64_t seed = 0;        // subset seed
    double seconds = 0;
};

// Per-example terms (theta . grad loss_i)^2: empirical[i] and model[i] = E_{y~p_i}[...].
struct FisherRaoTerms {
    std::vector<double> empirical;
    std::vector<double> model;
};

// Batched: theta . grad loss_i(y) = sum_k (p_k - [k = y]) J_k with J = d/dt f(x; theta + t theta)
// at t = 0 (the logits' directional derivative along theta, here along theta restricted to the
// selected parameters). J comes for a whole batch from one double backward: g = grad of
// sum(u * f) with a dummy u, then grad of <g, theta> with respect to u.
FisherRaoTerms fisher_rao_terms(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params);
// The logits' directional derivative J [N, K] along `direction` (one tensor per entry of
// `params`), with the logits themselves in `logits` if not null.
at::Tensor logits_jvp(Net& net, const at::Tensor& x, const std::vector<at::Tensor>& params,
                      const std::vector<at::Tensor>& direction, at::Tensor* logits = nullptr);

FisherRao fisher_rao(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device);

// Reference for tests and benchmarks: one backward pass per example (and, for the model
// version, one per example and class) of the loss itself, dotted with theta.
FisherRaoTerms fisher_rao_terms_reference(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params,
                                          bool model_version = true);
FisherRao fisher_rao_reference(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device,
                               bool model_version = true);

// Mean and its standard error (sample standard deviation / sqrt(n)); se is 0 for n < 2.
void mean_and_se(const std::vector<double>& values, double& mean, double& se);

}  // namespace normout
