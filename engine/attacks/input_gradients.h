#pragma once
// The vanishing-gradient probe of the masking diagnosis: per image, the input gradient of the
// cross-entropy (what FGSM and PGD-CE follow) and of the logit margin (which does not saturate
// with the softmax), averaged over EOT samples for a stochastic model.
#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

#include "engine/attacks/classifier.h"

namespace normout {

struct InputGradientNorms {
    std::vector<uint8_t> ce_zero;     // the cross-entropy gradient is exactly zero (or not finite)
    std::vector<double> ce_l2;        // ||d CE / dx||_2
    std::vector<double> margin_dual;  // ||d margin / dx|| in the dual norm: L1 for L-inf, L2 for L2
};

// x [N, C, H, W] in [0, 1], labels [N]. eps * margin_dual bounds, to first order, how much the
// margin can change inside the ball.
InputGradientNorms input_gradient_norms(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                                        Norm norm);

}  // namespace normout
