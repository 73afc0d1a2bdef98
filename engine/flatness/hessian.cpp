#include "engine/flatness/hessian.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/autograd.h>

#include <chrono>
#include <cmath>

#include "engine/flatness/fisher_rao.h"
#include "engine/rng.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

template <typename Draw>
std::vector<at::Tensor> random_like(const std::vector<at::Tensor>& like, uint64_t seed, Draw draw) {
    SplitMix64 rng(seed);
    std::vector<at::Tensor> out;
    for (const auto& t : like) {
        at::Tensor cpu = at::empty(t.sizes(), at::TensorOptions().dtype(at::kDouble));
        double* p = cpu.data_ptr<double>();
        for (int64_t i = 0; i < cpu.numel(); ++i)
            p[i] = draw(rng);
        out.push_back(cpu.to(t.device(), t.scalar_type()));
    }
    return out;
}

}  // namespace

std::vector<at::Tensor> rademacher_like(const std::vector<at::Tensor>& like, uint64_t seed) {
    return random_like(like, seed, [](SplitMix64& r) { return (r.next() >> 63) ? 1.0 : -1.0; });
}

std::vector<at::Tensor> normal_like(const std::vector<at::Tensor>& like, uint64_t seed) {
    // Box-Muller; one of the pair is used, simplicity over speed.
    return random_like(like, seed, [](SplitMix64& r) {
        const double u1 = 1.0 - r.uniform();  // (0, 1]
        const double u2 = r.uniform();
        return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
    });
}

HessianOperator::HessianOperator(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params)
    : theta_(select_parameters(net, params)) {
    const c10::AutoGradMode grad_on(true);  // callers may hold a NoGradGuard
    const at::Tensor loss = at::cross_entropy_loss(net->forward(x), y);
    loss_ = loss.item<double>();
    grad_ = torch::autograd::grad({loss}, theta_.tensors, {}, /*retain_graph=*/true, /*create_graph=*/true,
                                  /*allow_unused=*/true);
}

std::vector<at::Tensor> HessianOperator::apply(const std::vector<at::Tensor>& v) const {
    const c10::AutoGradMode grad_on(true);
    const at::Tensor gv = dot(grad_, v);
    std::vector<at::Tensor> hv;
    if (gv.requires_grad())
        hv = torch::autograd::grad({gv}, theta_.tensors, {}, /*retain_graph=*/true, /*create_graph=*/false,
                                   /*allow_unused=*/true);
    hv.resize(v.size());
    for (std::size_t i = 0; i < v.size(); ++i)
        hv[i] = hv[i].defined() ? hv[i].detach() : at::zeros_like(v[i]);
    return hv;
}

HessianTrace hutchinson_trace(const HessianOperator& h, int samples, uint64_t seed) {
    std::vector<double> values;
    for (int s = 0; s < samples; ++s) {
        const auto v = rademacher_like(h.params().tensors, derive_seed(seed, 0x7ace, static_cast<uint64_t>(s)));
        values.push_back(dot(v, h.apply(v)).item<double>());
    }
    HessianTrace r;
    mean_and_se(values, r.trace, r.standard_error);
    r.samples = samples;
    return r;
}

TopEigenvalue top_eigenvalue(const HessianOperator& h, int max_iterations, double tolerance, uint64_t seed) {
    auto v = normal_like(h.params().tensors, derive_seed(seed, 0xe1a));
    auto normalise = [](std::vector<at::Tensor>& w) {
        const double norm = std::sqrt(dot(w, w).item<double>());
        if (norm > 0)
            for (auto& t : w)
                t = t / norm;
        return norm;
    };
    normalise(v);
    TopEigenvalue r;
    for (int it = 1; it <= max_iterations; ++it) {
        auto hv = h.apply(v);
        const double rayleigh = dot(v, hv).item<double>();  // v has unit norm
        r.iterations = it;
        const bool settled = it > 1 && std::abs(rayleigh - r.value) <= tolerance * std::abs(rayleigh);
        r.value = rayleigh;
        if (settled) {
            r.converged = true;
            break;
        }
        if (normalise(hv) == 0) {  // v lies in the null space
            r.converged = true;
            break;
        }
        v = std::move(hv);
    }
    return r;
}

HessianResult hessian_measures(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device) {
    validate(config);
    EvalModeGuard eval(net);
    FlatnessConfig batch_config = config;
    batch_config.batch_size = config.hessian_batch;
    const EvalSubset subset = eval_subset(net, set, batch_config, device);
    auto t0 = std::chrono::steady_clock::now();  // the gradient's graph counts towards the trace
    const HessianOperator h(net, subset.x.at(0), subset.y.at(0), config.params);
    HessianResult r;
    r.loss = h.loss();
    r.n = subset.x[0].size(0);
    r.params = config.params;
    r.param_count = h.params().numel();
    r.seed = config.seed;
    r.trace = hutchinson_trace(h, config.hutchinson_samples, config.seed);
    r.trace_seconds = seconds_since(t0);
    t0 = std::chrono::steady_clock::now();
    r.top = top_eigenvalue(h, config.power_iterations, config.power_tolerance, config.seed);
    r.top_seconds = seconds_since(t0);
    return r;
}

}  // namespace normout
