#include "engine/attacks/input_gradients.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

namespace normout {

InputGradientNorms input_gradient_norms(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                                        Norm norm) {
    torch::AutoGradMode grad_mode(true);
    const int samples = model.stochastic ? std::max(1, model.eot_samples) : 1;
    at::Tensor g_ce, g_margin;
    for (int s = 0; s < samples; ++s) {
        at::Tensor xi = x.detach();
        xi.set_requires_grad(true);
        const at::Tensor z = model.logits(xi);
        const at::Tensor ce = summed_cross_entropy(z, labels);
        const at::Tensor margin = logit_margin(z, labels).sum();
        const at::Tensor a = torch::autograd::grad({ce}, {xi}, {}, /*retain_graph=*/true)[0];
        const at::Tensor b = torch::autograd::grad({margin}, {xi})[0];
        g_ce = s == 0 ? a : g_ce + a;
        g_margin = s == 0 ? b : g_margin + b;
    }
    torch::NoGradGuard no_grad;
    g_ce = (g_ce / samples).flatten(1).to(at::kDouble);
    g_margin = (g_margin / samples).flatten(1).to(at::kDouble);
    const at::Tensor finite = at::isfinite(g_ce).all(1);
    const at::Tensor zero = g_ce.eq(0).all(1).logical_or(finite.logical_not()).to(at::kCPU).contiguous();
    const at::Tensor ce_l2 = g_ce.pow(2).sum(1).sqrt().to(at::kCPU).contiguous();
    const at::Tensor dual =
        (norm == Norm::Linf ? g_margin.abs().sum(1) : g_margin.pow(2).sum(1).sqrt()).to(at::kCPU).contiguous();
    InputGradientNorms out;
    const int64_t n = x.size(0);
    for (int64_t i = 0; i < n; ++i) {
        out.ce_zero.push_back(zero.data_ptr<bool>()[i] ? 1 : 0);
        out.ce_l2.push_back(ce_l2.data_ptr<double>()[i]);
        out.margin_dual.push_back(dual.data_ptr<double>()[i]);
    }
    return out;
}

}  // namespace normout
