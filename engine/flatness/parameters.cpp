#include "engine/flatness/parameters.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>

#include <set>

#include "engine/config/config.h"
#include "engine/train/loader.h"

namespace normout {

int64_t ParamSet::numel() const {
    int64_t n = 0;
    for (const auto& t : tensors)
        n += t.numel();
    return n;
}

ParamSet select_parameters(Net& net, const std::string& which) {
    if (which != "all" && which != "weights")
        throw ConfigError("flatness.params", "must be \"all\" or \"weights\", not \"" + which + "\"");
    // Only Conv2d and Linear weights count, wherever they sit: a layer of the table
    // (layers.<index>.weight) or a part of one (a shortcut's projection, an attention's Linears).
    std::set<std::string> weights;
    for (const auto& m : net->named_modules(/*name_prefix=*/"", /*include_self=*/false))
        if (m.value()->as<torch::nn::Conv2d>() || m.value()->as<torch::nn::Linear>())
            weights.insert(m.key() + ".weight");
    ParamSet out;
    for (const auto& p : net->named_parameters(/*recurse=*/true)) {
        if (!p.value().requires_grad()) continue;
        if (which == "weights" && !weights.count(p.key())) continue;
        out.names.push_back(p.key());
        out.tensors.push_back(p.value());
    }
    return out;
}

at::Tensor dot(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
    at::Tensor sum;
    for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
        if (!a[i].defined() || !b[i].defined()) continue;
        at::Tensor term = (a[i] * b[i]).sum();
        sum = sum.defined() ? sum + term : term;
    }
    if (!sum.defined()) {
        for (const auto& t : a)
            if (t.defined()) return at::zeros({}, t.options());
        return at::zeros({}, at::kDouble);
    }
    return sum;
}

std::vector<at::Tensor> detached_copies(const std::vector<at::Tensor>& tensors) {
    std::vector<at::Tensor> out;
    out.reserve(tensors.size());
    for (const auto& t : tensors)
        out.push_back(t.detach().clone());
    return out;
}

EvalSubset eval_subset(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device) {
    if (set.count == 0) throw DataError("the test set is empty: nothing to evaluate the flatness on");
    const ImageSet subset = set.subset(flatness_subset(set.count, config.n, config.seed));
    at::ScalarType dtype = at::kFloat;
    for (const auto& p : net->parameters()) {
        dtype = p.scalar_type();
        break;
    }
    const EvalBatches batches(subset);
    EvalSubset out;
    out.count = batches.size();
    for (int64_t b = 0; b < out.count; b += config.batch_size) {
        const Batch batch = batches.slice(b, std::min<int64_t>(b + config.batch_size, out.count));
        out.x.push_back(batch.x.to(device, dtype));
        out.y.push_back(batch.y.to(device));
    }
    return out;
}

}  // namespace normout
