#include "engine/train/penalties.h"

#include <ATen/ATen.h>

namespace normout {

at::Tensor penalty_term(const at::Tensor& activations, bool l1, double weight) {
    // At least float32 whatever the autocast precision: a mean over millions of bf16 values loses digits.
    const at::Tensor a = activations.scalar_type() == at::kDouble ? activations : activations.to(at::kFloat);
    return (l1 ? a.abs().mean() : a.square().mean()) * weight;
}

Penalties::Penalties(Net& net, const std::vector<PenaltySpec>& specs) : net_(net), specs_(specs) {
    std::vector<int> layers;
    for (const auto& p : specs_) {
        layers.push_back(p.layer);
        if (p.l1 > 0) names_.push_back("penalty_l1_" + std::to_string(p.layer));
        if (p.l2 > 0) names_.push_back("penalty_l2_" + std::to_string(p.layer));
    }
    net_->set_kept_outputs(layers);
}

std::vector<at::Tensor> Penalties::terms() const {
    std::vector<at::Tensor> out;
    const auto& kept = net_->kept_outputs();
    for (std::size_t k = 0; k < specs_.size(); ++k) {
        const at::Tensor& a = kept.at(k);
        TORCH_CHECK(a.defined(), "activation penalty: layer ", specs_[k].layer, " produced no output");
        if (specs_[k].l1 > 0) out.push_back(penalty_term(a, true, specs_[k].l1));
        if (specs_[k].l2 > 0) out.push_back(penalty_term(a, false, specs_[k].l2));
    }
    return out;
}

}  // namespace normout
