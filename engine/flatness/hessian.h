#pragma once
// Curvature of the loss at the trained weights (the thesis's future work): the Hessian's trace
// by Hutchinson's estimator and its largest-magnitude eigenvalue by power iteration, both from
// Hessian-vector products (double backward) of the mean cross-entropy on a fixed batch.
#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "engine/data/image_set.h"
#include "engine/flatness/flatness_config.h"
#include "engine/flatness/parameters.h"
#include "engine/model/model.h"

namespace normout {

// H v for the selected parameters. The gradient's graph is built once and kept, so each
// product costs one backward pass through it.
class HessianOperator {
  public:
    HessianOperator(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params);
    std::vector<at::Tensor> apply(const std::vector<at::Tensor>& v) const;
    const ParamSet& params() const { return theta_; }
    double loss() const { return loss_; }

  private:
    ParamSet theta_;
    std::vector<at::Tensor> grad_;  // with its graph
    double loss_ = 0;
};

struct HessianTrace {
    double trace = 0;
    double standard_error = 0;  // of Hutchinson's mean over the Rademacher vectors
    int samples = 0;
};

struct TopEigenvalue {
    double value = 0;  // the eigenvalue of largest magnitude (sign kept)
    int iterations = 0;
    bool converged = false;
};

struct HessianResult {
    HessianTrace trace;
    TopEigenvalue top;
    double loss = 0;  // mean cross-entropy on the batch
    int64_t n = 0;    // batch size
    std::string params;
    int64_t param_count = 0;
    uint64_t seed = 0;
    double trace_seconds = 0;
    double top_seconds = 0;
};

// Seeded random vectors shaped like `like` (reproducible: drawn with SplitMix64 on the CPU).
std::vector<at::Tensor> rademacher_like(const std::vector<at::Tensor>& like, uint64_t seed);
std::vector<at::Tensor> normal_like(const std::vector<at::Tensor>& like, uint64_t seed);

HessianTrace hutchinson_trace(const HessianOperator& h, int samples, uint64_t seed);
TopEigenvalue top_eigenvalue(const HessianOperator& h, int max_iterations, double tolerance, uint64_t seed);

// Both, on the first config.hessian_batch examples of the evaluation subset.
HessianResult hessian_measures(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device);

}  // namespace normout
