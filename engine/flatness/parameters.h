#pragma once
// Shared pieces of the flatness measures: which parameters make up theta, the evaluation
// subset as ready batches, and sums over lists of tensors.
#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <string>
#include <vector>

#include "engine/data/image_set.h"
#include "engine/flatness/flatness_config.h"
#include "engine/model/model.h"

namespace normout {

struct ParamSet {
    std::vector<std::string> names;   // as in named_parameters()
    std::vector<at::Tensor> tensors;  // the model's own tensors (not copies)
    int64_t numel() const;
};

// which: "all" = every parameter that requires grad; "weights" = the weights of Conv2d and
// Linear layers (no BatchNorm parameters, no biases). Throws ConfigError for anything else.
ParamSet select_parameters(Net& net, const std::string& which);

// sum_i <a_i, b_i> as a 0-d tensor (undefined entries count as zero).
at::Tensor dot(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b);
std::vector<at::Tensor> detached_copies(const std::vector<at::Tensor>& tensors);

// The subset of `set` chosen by the configuration (n, seed), as batches of at most
// config.batch_size on `device`, pixels in the dtype of the model's parameters.
struct EvalSubset {
    std::vector<at::Tensor> x;  // [B, C, H, W]
    std::vector<at::Tensor> y;  // [B] int64
    int64_t count = 0;
};
EvalSubset eval_subset(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device);

// Puts the model in evaluation mode for its lifetime and restores the previous mode.
class EvalModeGuard {
  public:
    explicit EvalModeGuard(Net& net) : net_(net), was_training_(net->is_training()) { net_->eval(); }
    ~EvalModeGuard() { net_->train(was_training_); }
    EvalModeGuard(const EvalModeGuard&) = delete;
    EvalModeGuard& operator=(const EvalModeGuard&) = delete;

  private:
    Net& net_;
    bool was_training_;
};

}  // namespace normout
