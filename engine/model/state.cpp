#include "engine/model/state.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <map>
#include <stdexcept>

namespace normout {

namespace {
NamedArray to_array(const std::string& name, const at::Tensor& t) {
    NamedArray a;
    a.name = name;
    a.shape.assign(t.sizes().begin(), t.sizes().end());
    const at::Tensor c = t.detach().to(at::kCPU).contiguous();
    if (at::isIntegralType(c.scalar_type(), /*includeBool=*/true)) {
        a.is_integer = true;
        const at::Tensor i = c.to(at::kLong);
        a.integers.assign(i.data_ptr<int64_t>(), i.data_ptr<int64_t>() + i.numel());
    } else {
        const at::Tensor f = c.to(at::kFloat);
        a.values.assign(f.data_ptr<float>(), f.data_ptr<float>() + f.numel());
    }
    return a;
}
}  // namespace

std::vector<NamedArray> export_state(const torch::nn::Module& module) {
    std::vector<NamedArray> out;
    for (const auto& p : module.named_parameters(/*recurse=*/true))
        out.push_back(to_array(p.key(), p.value()));
    for (const auto& b : module.named_buffers(/*recurse=*/true))
        out.push_back(to_array(b.key(), b.value()));
    return out;
}

void import_state(torch::nn::Module& module, const std::vector<NamedArray>& state) {
    std::map<std::string, const NamedArray*> by_name;
    for (const auto& a : state)
        by_name[a.name] = &a;
    torch::NoGradGuard no_grad;
    auto load = [&](const std::string& name, at::Tensor& target) {
        const auto it = by_name.find(name);
        if (it == by_name.end()) throw std::runtime_error("state has no tensor '" + name + "'");
        const NamedArray& a = *it->second;
        if (std::vector<int64_t>(target.sizes().begin(), target.sizes().end()) != a.shape)
            throw std::runtime_error("shape mismatch for '" + name + "'");
        at::Tensor src = a.is_integer
                             ? at::from_blob(const_cast<int64_t*>(a.integers.data()), a.shape, at::kLong).clone()
                             : at::from_blob(const_cast<float*>(a.values.data()), a.shape, at::kFloat).clone();
        target.copy_(src);
    };
    for (auto& p : module.named_parameters(true))
        load(p.key(), p.value());
    for (auto& b : module.named_buffers(true))
        load(b.key(), b.value());
}

bool state_is_finite(const torch::nn::Module& module) {
    for (const auto& p : module.named_parameters(true))
        if (p.value().is_floating_point() && !p.value().isfinite().all().item<bool>()) return false;
    for (const auto& b : module.named_buffers(true))
        if (b.value().is_floating_point() && !b.value().isfinite().all().item<bool>()) return false;
    return true;
}

}  // namespace normout
