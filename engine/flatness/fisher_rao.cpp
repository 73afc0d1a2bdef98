#include "engine/flatness/fisher_rao.h"

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>
#include <torch/autograd.h>

#include <chrono>
#include <cmath>

#include "engine/flatness/parameters.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

std::vector<double> to_vector(const at::Tensor& t) {
    const at::Tensor c = t.detach().to(at::kCPU, at::kDouble).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

FisherRao summarise(const FisherRaoTerms& terms, const FlatnessConfig& config, int64_t param_count) {
    FisherRao r;
    mean_and_se(terms.empirical, r.empirical, r.empirical_se);
    if (!terms.model.empty()) {
        mean_and_se(terms.model, r.model, r.model_se);
    } else {
        r.model = r.model_se = NAN;
    }
    r.n = static_cast<int64_t>(terms.empirical.size());
    r.params = config.params;
    r.param_count = param_count;
    r.seed = config.seed;
    return r;
}

void append(FisherRaoTerms& to, const FisherRaoTerms& from) {
    to.empirical.insert(to.empirical.end(), from.empirical.begin(), from.empirical.end());
    to.model.insert(to.model.end(), from.model.begin(), from.model.end());
}

}  // namespace

void mean_and_se(const std::vector<double>& v, double& mean, double& se) {
    const auto n = static_cast<double>(v.size());
    mean = se = 0;
    if (v.empty()) return;
    for (double x : v)
        mean += x;
    mean /= n;
    if (v.size() < 2) return;
    double ss = 0;
    for (double x : v)
        ss += (x - mean) * (x - mean);
    se = std::sqrt(ss / (n - 1) / n);
}

at::Tensor logits_jvp(Net& net, const at::Tensor& x, const std::vector<at::Tensor>& params,
                      const std::vector<at::Tensor>& direction, at::Tensor* logits) {
    const c10::AutoGradMode grad_on(true);  // callers may hold a NoGradGuard (an evaluation loop)
    const at::Tensor f = net->forward(x);
    // g(u) = sum_{i,k} u_ik df_ik/dtheta is linear in u, so u = 0 serves; <g, v> then has
    // d/du_ik = <df_ik/dtheta, v> = J_ik for every example and class at once.
    const at::Tensor u = at::zeros_like(f).requires_grad_(true);
    const auto g = torch::autograd::grad({(f * u).sum()}, params, /*grad_outputs=*/{}, /*retain_graph=*/true,
                                         /*create_graph=*/true, /*allow_unused=*/true);
    const at::Tensor gv = dot(g, direction);
    at::Tensor j;
    if (gv.requires_grad())
        j = torch::autograd::grad({gv}, {u}, {}, /*retain_graph=*/false, /*create_graph=*/false,
                                  /*allow_unused=*/true)[0];
    if (!j.defined()) j = at::zeros_like(f);  // the logits do not depend on these parameters
    if (logits) *logits = f.detach();
    return j.detach();
}

FisherRaoTerms fisher_rao_terms(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params) {
    const ParamSet theta = select_parameters(net, params);
    const auto direction = detached_copies(theta.tensors);
    at::Tensor f;
    const at::Tensor j = logits_jvp(net, x, theta.tensors, direction, &f).to(at::kDouble);
    const at::Tensor p = at::softmax(f.to(at::kDouble), 1);
    // loss(y) = -log p_y, so theta . grad loss(y) = sum_k p_k J_k - J_y.
    const at::Tensor mean_j = (p * j).sum(1, /*keepdim=*/true);
    const at::Tensor centred = j - mean_j;  // -(theta . grad loss(y)) for every class y
    const at::Tensor empirical = centred.gather(1, y.view({-1, 1}).to(at::kLong)).squeeze(1).pow(2);
    const at::Tensor model = (p * centred.pow(2)).sum(1);
    return {to_vector(empirical), to_vector(model)};
}

FisherRao fisher_rao(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device) {
    validate(config);
    const auto t0 = std::chrono::steady_clock::now();
    EvalModeGuard eval(net);
    const EvalSubset subset = eval_subset(net, set, config, device);
    FisherRaoTerms all;
    for (std::size_t b = 0; b < subset.x.size(); ++b)
        append(all, fisher_rao_terms(net, subset.x[b], subset.y[b], config.params));
    FisherRao r = summarise(all, config, select_parameters(net, config.params).numel());
    r.seconds = seconds_since(t0);
    return r;
}

FisherRaoTerms fisher_rao_terms_reference(Net& net, const at::Tensor& x, const at::Tensor& y, const std::string& params,
                                          bool model_version) {
    const c10::AutoGradMode grad_on(true);
    const ParamSet theta = select_parameters(net, params);
    const auto direction = detached_copies(theta.tensors);
    FisherRaoTerms out;
    for (int64_t i = 0; i < x.size(0); ++i) {
        const at::Tensor logp = at::log_softmax(net->forward(x.narrow(0, i, 1)), 1).squeeze(0);
        const int64_t label = y[i].item<int64_t>();
        const int64_t classes = logp.size(0);
        auto directional = [&](int64_t cls, bool retain) {
            const auto g = torch::autograd::grad({-logp[cls]}, theta.tensors, {}, retain, false, true);
            return dot(g, direction).item<double>();
        };
        const double e = directional(label, model_version);
        out.empirical.push_back(e * e);
        if (!model_version) continue;
        const at::Tensor p = logp.detach().to(at::kDouble).exp();
        double m = 0;
        for (int64_t k = 0; k < classes; ++k) {
            const double d = directional(k, k + 1 < classes);
            m += p[k].item<double>() * d * d;
        }
        out.model.push_back(m);
    }
    return out;
}

FisherRao fisher_rao_reference(Net& net, const ImageSet& set, const FlatnessConfig& config, const c10::Device& device,
                               bool model_version) {
    validate(config);
    const auto t0 = std::chrono::steady_clock::now();
    EvalModeGuard eval(net);
    const EvalSubset subset = eval_subset(net, set, config, device);
    FisherRaoTerms all;
    for (std::size_t b = 0; b < subset.x.size(); ++b)
        append(all, fisher_rao_terms_reference(net, subset.x[b], subset.y[b], config.params, model_version));
    FisherRao r = summarise(all, config, select_parameters(net, config.params).numel());
    r.seconds = seconds_since(t0);
    return r;
}

}  // namespace normout
