#pragma once
// The model as the attacks see it: a function from pixels in [0, 1] to logits, possibly
// stochastic. Attacks never touch parameters; they differentiate the loss w.r.t. the pixels only.
#include <ATen/Tensor.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/model/model.h"

namespace normout {

enum class Norm { Linf, L2 };
Norm parse_norm(const std::string& name);  // "linf" | "l2"; throws std::invalid_argument
std::string norm_name(Norm norm);          // "linf" | "l2"

struct Classifier {
    // pixels [N, C, H, W] in [0, 1] -> logits [N, K]; must be differentiable w.r.t. the pixels.
    std::function<at::Tensor(const at::Tensor&)> logits;
    // Draws fresh randomness at every call: gradients are then averaged over eot_samples calls
    // (expectation over transformation, Athalye et al. 2018) and so are the logits that decide
    // which iterate is best.
    bool stochastic = false;
    int eot_samples = 1;
};

// Whether the table has a layer that stays stochastic in evaluation mode (NormOut, or Dropout
// with p > 0, whose spec says at_inference).
bool stochastic_at_inference(const std::vector<LayerInfo>& table);

// The net as a Classifier (stochastic per its table). Use it inside an AttackModeGuard.
Classifier net_classifier(Net& net, int eot_samples);

// While alive: the net in evaluation mode (BatchNorm uses its running statistics, which stay
// untouched; NormOut and Dropout are off unless at_inference) and its parameters without
// requires_grad, so attacks neither build parameter gradients nor touch .grad. Restores both.
class AttackModeGuard {
  public:
    explicit AttackModeGuard(Net& net);
    ~AttackModeGuard();
    AttackModeGuard(const AttackModeGuard&) = delete;
    AttackModeGuard& operator=(const AttackModeGuard&) = delete;

  private:
    Net net_;
    bool was_training_;
    std::vector<bool> requires_grad_;
};

// Logits without gradients (one call, even for a stochastic model: the model as deployed).
at::Tensor predict_logits(const Classifier& model, const at::Tensor& x);

struct LossGradient {
    at::Tensor logits;  // mean over the EOT samples, detached
    at::Tensor grad;    // d/dx of the summed cross-entropy of `labels`, mean over the EOT samples
};
LossGradient cross_entropy_gradient(const Classifier& model, const at::Tensor& x, const at::Tensor& labels);

// z_label - max_{j != label} z_j per row: > 0 when the label wins.
at::Tensor logit_margin(const at::Tensor& logits, const at::Tensor& labels);

// The summed cross-entropy, written with stable ATen ops only.
at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& labels);

}  // namespace normout
