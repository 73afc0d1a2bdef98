#include "engine/model/layers.h"

#include <ATen/ATen.h>
#include <torch/types.h>
#include <torch/utils.h>

#include "engine/config/model_spec.h"
#include "engine/config/schedule.h"

namespace normout {

NormOutImpl::NormOutImpl(const LayerSpec& spec) : spec_(spec) {
    validate(spec_, "layer");
    softmax_ = spec_.variant.find("softmax") != std::string::npos;
    const auto starts = [&](const char* prefix) { return spec_.variant.rfind(prefix, 0) == 0; };
    over_batch_ = starts("temporal-") || starts("spatiotemporal-");
    over_layer_ = starts("spatial-") || starts("spatiotemporal-");
    set_epoch(0);
}

void NormOutImpl::set_epoch(int epoch) {
    active_ = layer_active(spec_, epoch);
    temperature_ = softmax_ ? scheduled_value(spec_, epoch) : spec_.temperature;
}

torch::Tensor NormOutImpl::keep_probability(const torch::Tensor& x) const {
    TORCH_CHECK(x.dim() >= 2, "NormOut expects a batch of at least 2 dimensions, got ", x.sizes());
    const torch::Tensor a = spec_.use_abs ? x.abs() : x;
    // Which dimensions the max runs over. "Layer" for 4-D inputs: channels at each position
    // ("channel") or the whole map ("map"); for tokens [N, T, D] likewise the D features of each
    // token ("channel") or all T x D ("map"); for other ranks all non-batch dimensions.
    std::vector<int64_t> dims;
    if (over_batch_) dims.push_back(0);
    if (over_layer_) {
        if (x.dim() == 4 && spec_.map_4d == "channel") {
            dims.push_back(1);
        } else if (x.dim() == 3 && spec_.map_4d == "channel") {
            dims.push_back(2);
        } else {
            for (int64_t d = 1; d < x.dim(); ++d)
                dims.push_back(d);
        }
    }
    const torch::Tensor m = at::amax(a, dims, /*keepdim=*/true);
    if (softmax_) return at::exp((a - m) / temperature_);
    // A zero (or, without |x|, negative) max would divide by zero: such units are never kept.
    const torch::Tensor safe = at::where(m > 0, m, at::ones_like(m));
    return at::where(m > 0, a / safe, at::zeros_like(a)).clamp(0.0, 1.0);
}

namespace {

// A layer that passes its input unchanged keeps every unit: what the instrumentation records.
void capture_all_kept(const torch::Tensor& x, torch::Tensor& last_p, torch::Tensor& last_keep) {
    torch::NoGradGuard no_grad;
    last_p = at::ones({}, x.options());
    last_keep = at::ones(x.sizes(), x.options().dtype(at::kBool));
}

}  // namespace

torch::Tensor NormOutImpl::forward(const torch::Tensor& x) {
    if (!is_training() && !spec_.at_inference) return x;
    if (!active_) {
        if (capture) capture_all_kept(x, last_p, last_keep);
        return x;
    }
    torch::Tensor scale;
    {
        torch::NoGradGuard no_grad;
        const torch::Tensor p = keep_probability(x.detach());
        const torch::Tensor keep = at::rand_like(p) < p;
        if (capture) {
            last_p = p;
            last_keep = keep;
        }
        if (spec_.rescale) {
            scale = at::where(keep, 1.0 / p, at::zeros_like(p));  // p > 0 wherever keep is true
        } else {
            scale = keep.to(x.scalar_type());
        }
    }
    return x * scale;
}

void NormOutImpl::pretty_print(std::ostream& stream) const {
    LayerInfo info;
    info.kind = "NormOut";
    info.custom = spec_;
    stream << info.describe();
}

DropoutLayerImpl::DropoutLayerImpl(const LayerSpec& spec) : spec_(spec) {
    validate(spec_, "layer");
    set_epoch(0);
}

void DropoutLayerImpl::set_epoch(int epoch) {
    active_ = layer_active(spec_, epoch);
    p_ = scheduled_value(spec_, epoch);
}

torch::Tensor DropoutLayerImpl::forward(const torch::Tensor& x) {
    if (!is_training() && !spec_.at_inference) return x;
    if (!active_ || p_ == 0.0) {
        if (capture) capture_all_kept(x, last_p, last_keep);
        return x;
    }
    torch::Tensor scale;
    {
        torch::NoGradGuard no_grad;
        const double keep = 1.0 - p_;
        scale = at::empty_like(x).bernoulli_(keep).div_(keep);
        if (capture) {
            last_p = at::full({}, keep, x.options());
            last_keep = scale.ne(0);
        }
    }
    return x * scale;
}

void DropoutLayerImpl::pretty_print(std::ostream& stream) const {
    stream << "Dropout(p=" << spec_.p << ")";
}

}  // namespace normout
