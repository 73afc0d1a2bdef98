#include "engine/flatness/landscape.h"

#include <ATen/ATen.h>
#include <torch/serialize/archive.h>
#include <torch/utils.h>

#include <chrono>
#include <stdexcept>

#include "engine/flatness/hessian.h"
#include "engine/rng.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

// Copies the saved tensors back into the model when it goes out of scope, so a grid that fails
// half-way leaves the model as it was.
class StateRestorer {
  public:
    explicit StateRestorer(Net& net) : net_(net), saved_(current_state(net)) {}
    ~StateRestorer() {
        torch::NoGradGuard no_grad;
        for (auto& p : net_->named_parameters(true))
            p.value().copy_(saved_.at(p.key()));
        for (auto& b : net_->named_buffers(true))
            b.value().copy_(saved_.at(b.key()));
    }
    StateRestorer(const StateRestorer&) = delete;
    StateRestorer& operator=(const StateRestorer&) = delete;

  private:
    Net& net_;
    ModelState saved_;
};

}  // namespace

std::vector<double> grid_coordinates(double lo, double hi, int count) {
    std::vector<double> out;
    for (int i = 0; i < count; ++i)
        out.push_back(count == 1 ? lo : lo + (hi - lo) * i / (count - 1));
    // An odd grid over a symmetric range should hold the origin exactly.
    for (auto& v : out)
        if (std::abs(v) < 1e-12 * std::max(std::abs(lo), std::abs(hi))) v = 0.0;
    return out;
}

ModelState current_state(Net& net) {
    ModelState s;
    for (const auto& p : net->named_parameters(true))
        s[p.key()] = p.value().detach().clone();
    for (const auto& b : net->named_buffers(true))
        s[b.key()] = b.value().detach().clone();
    return s;
}

LossAccuracy evaluate_subset(Net& net, const EvalSubset& subset) {
    torch::NoGradGuard no_grad;
    double loss = 0;
    int64_t correct = 0;
    for (std::size_t b = 0; b < subset.x.size(); ++b) {
        const at::Tensor f = net->forward(subset.x[b]);
        loss += at::cross_entropy_loss(f, subset.y[b], {}, at::Reduction::Sum).item<double>();
        correct += f.argmax(1).eq(subset.y[b]).sum().item<int64_t>();
    }
    const auto n = static_cast<double>(std::max<int64_t>(subset.count, 1));
    return {loss / n, static_cast<double>(correct) / n};
}

void filter_normalise(std::vector<at::Tensor>& direction, const std::vector<at::Tensor>& weights) {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < direction.size(); ++i) {
        at::Tensor& d = direction[i];
        if (d.dim() <= 1) {
            d.zero_();
            continue;
        }
        const at::Tensor w = weights.at(i).detach();
        const at::Tensor w_norm = w.flatten(1).norm(2, {1}, /*keepdim=*/true);
        const at::Tensor d_norm = d.flatten(1).norm(2, {1}, /*keepdim=*/true);
        std::vector<int64_t> shape(static_cast<std::size_t>(d.dim()), 1);
        shape[0] = d.size(0);
        d.mul_((w_norm / (d_norm + 1e-10)).view(shape));
    }
}

std::vector<at::Tensor> random_direction(Net& net, uint64_t seed) {
    std::vector<at::Tensor> weights;
    for (const auto& p : net->parameters(true))
        weights.push_back(p.detach());
    auto d = normal_like(weights, seed);
    filter_normalise(d, weights);
    return d;
}

LandscapeGrid landscape_slice(Net& net, const ImageSet& set, const FlatnessConfig& config, int dims,
                              const c10::Device& device) {
    validate(config);
    if (dims != 1 && dims != 2) throw std::invalid_argument("a landscape slice has 1 or 2 dimensions");
    const auto t0 = std::chrono::steady_clock::now();
    EvalModeGuard eval(net);
    const EvalSubset subset = eval_subset(net, set, config, device);
    const auto d1 = random_direction(net, derive_seed(config.seed, 0xd1));
    const auto d2 = dims == 2 ? random_direction(net, derive_seed(config.seed, 0xd2)) : std::vector<at::Tensor>{};
    std::vector<at::Tensor> params = net->parameters(true);
    const auto base = detached_copies(params);
    StateRestorer restore(net);

    LandscapeGrid g;
    g.kind = dims == 1 ? "1d" : "2d";
    g.x = grid_coordinates(config.range_min, config.range_max, config.grid);
    if (dims == 2) g.y = g.x;
    g.n = subset.count;
    g.seed = config.seed;
    const std::vector<double> ys = dims == 2 ? g.y : std::vector<double>{0.0};
    for (double a : g.x)
        for (double b : ys) {
            {
                torch::NoGradGuard no_grad;
                for (std::size_t i = 0; i < params.size(); ++i) {
                    at::Tensor v = base[i] + a * d1[i];
                    if (dims == 2) v = v + b * d2[i];
                    params[i].copy_(v);
                }
            }
            const LossAccuracy la = evaluate_subset(net, subset);
            g.loss.push_back(la.loss);
            g.accuracy.push_back(la.accuracy);
        }
    g.seconds = seconds_since(t0);
    return g;
}

LandscapeGrid interpolate(Net& net, const ModelState& start, const ModelState& end, const ImageSet& set,
                          const FlatnessConfig& config, const c10::Device& device) {
    validate(config);
    const auto t0 = std::chrono::steady_clock::now();
    EvalModeGuard eval(net);
    const EvalSubset subset = eval_subset(net, set, config, device);
    // Model tensors paired with their two end points (integer buffers such as BatchNorm's
    // batch counter are left as they are).
    struct Entry {
        at::Tensor target, a, b;
    };
    std::vector<Entry> entries;
    auto add = [&](const std::string& name, const at::Tensor& target) {
        if (!target.is_floating_point()) return;
        const auto s = start.find(name), e = end.find(name);
        if (s == start.end() || e == end.end())
            throw std::runtime_error("interpolation: no tensor " + name + " in both sets of weights");
        if (s->second.sizes() != target.sizes() || e->second.sizes() != target.sizes())
            throw std::runtime_error("interpolation: " + name + " does not fit the model");
        entries.push_back({target, s->second.to(target.device(), target.scalar_type()),
                           e->second.to(target.device(), target.scalar_type())});
    };
    for (const auto& p : net->named_parameters(true))
        add(p.key(), p.value());
    for (const auto& b : net->named_buffers(true))
        add(b.key(), b.value());
    StateRestorer restore(net);

    LandscapeGrid g;
    g.kind = "interpolation";
    g.x = grid_coordinates(config.interpolate_min, config.interpolate_max, config.grid);
    g.n = subset.count;
    g.seed = config.seed;
    for (double alpha : g.x) {
        {
            torch::NoGradGuard no_grad;
            for (auto& e : entries)
                e.target.copy_(e.a * (1.0 - alpha) + e.b * alpha);
        }
        const LossAccuracy la = evaluate_subset(net, subset);
        g.loss.push_back(la.loss);
        g.accuracy.push_back(la.accuracy);
    }
    g.seconds = seconds_since(t0);
    return g;
}

}  // namespace normout
