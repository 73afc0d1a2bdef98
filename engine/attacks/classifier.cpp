#include "engine/attacks/classifier.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/utils.h>

#include <limits>
#include <stdexcept>

namespace normout {

Norm parse_norm(const std::string& name) {
    if (name == "linf") return Norm::Linf;
    if (name == "l2") return Norm::L2;
    throw std::invalid_argument("unknown norm \"" + name + "\" (linf or l2)");
}

std::string norm_name(Norm norm) {
    return norm == Norm::Linf ? "linf" : "l2";
}

bool stochastic_at_inference(const std::vector<LayerInfo>& table) {
    for (const auto& l : table) {
        if (l.kind == "NormOut" && l.custom.at_inference) return true;
        if (l.kind == "Dropout" && l.custom.at_inference && l.custom.p > 0) return true;
    }
    return false;
}

Classifier net_classifier(Net& net, int eot_samples) {
    Classifier c;
    Net held = net;  // shares the module
    c.logits = [held](const at::Tensor& x) mutable { return held->forward(x); };
    c.stochastic = stochastic_at_inference(net->table());
    c.eot_samples = c.stochastic ? std::max(1, eot_samples) : 1;
    return c;
}

AttackModeGuard::AttackModeGuard(Net& net) : net_(net), was_training_(net->is_training()) {
    net_->eval();
    for (auto& p : net_->parameters()) {
        requires_grad_.push_back(p.requires_grad());
        p.set_requires_grad(false);
    }
}

AttackModeGuard::~AttackModeGuard() {
    auto params = net_->parameters();
    for (std::size_t i = 0; i < params.size() && i < requires_grad_.size(); ++i)
        params[i].set_requires_grad(requires_grad_[i]);
    net_->train(was_training_);
}

at::Tensor predict_logits(const Classifier& model, const at::Tensor& x) {
    torch::NoGradGuard no_grad;
    return model.logits(x).detach();
}

at::Tensor summed_cross_entropy(const at::Tensor& logits, const at::Tensor& labels) {
    return -at::log_softmax(logits, 1).gather(1, labels.view({-1, 1})).sum();
}

LossGradient cross_entropy_gradient(const Classifier& model, const at::Tensor& x, const at::Tensor& labels) {
    torch::AutoGradMode grad_mode(true);  // callers may sit under a NoGradGuard
    const int samples = model.stochastic ? std::max(1, model.eot_samples) : 1;
    LossGradient out;
    for (int s = 0; s < samples; ++s) {
        at::Tensor xi = x.detach();
        xi.set_requires_grad(true);
        const at::Tensor z = model.logits(xi);
        const at::Tensor g = torch::autograd::grad({summed_cross_entropy(z, labels)}, {xi})[0];
        if (s == 0) {
            out.logits = z.detach().clone();
            out.grad = g;
        } else {
            out.logits.add_(z.detach());
            out.grad = out.grad + g;
        }
    }
    if (samples > 1) {
        out.logits.div_(samples);
        out.grad = out.grad / samples;
    }
    return out;
}

at::Tensor logit_margin(const at::Tensor& logits, const at::Tensor& labels) {
    const at::Tensor own = logits.gather(1, labels.view({-1, 1})).squeeze(1);
    // Mask the label's own logit with -inf to take the best other class.
    const at::Tensor others = logits.scatter(1, labels.view({-1, 1}), -std::numeric_limits<float>::infinity());
    return own - std::get<0>(others.max(1));
}

}  // namespace normout
