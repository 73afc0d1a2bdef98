#include "engine/attacks/gradient_attacks.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <cmath>
#include <limits>
#include <stdexcept>

#include "engine/rng.h"

namespace normout {

namespace {

constexpr double kTwoPi = 6.283185307179586;

// Shape [N, 1, ..., 1] to broadcast one number per image.
std::vector<int64_t> per_image_shape(const at::Tensor& x) {
    std::vector<int64_t> s(static_cast<std::size_t>(x.dim()), 1);
    s[0] = -1;
    return s;
}

at::Tensor l2_norms(const at::Tensor& t) {
    return t.flatten(1).pow(2).sum(1).sqrt();
}

// The direction of steepest ascent of a linear function with gradient g under the norm: sign(g)
// for L-inf, g / ||g||_2 for L2 (zero where g is zero: a vanished gradient moves nothing).
at::Tensor steepest_direction(const at::Tensor& g, Norm norm) {
    if (norm == Norm::Linf) return g.sign();
    const at::Tensor n = l2_norms(g).view(per_image_shape(g));
    return at::where(n > 0, g / n.clamp_min(std::numeric_limits<float>::min()), at::zeros_like(g));
}

// Mean logits over the EOT samples (one call for a deterministic model).
at::Tensor mean_logits(const Classifier& model, const at::Tensor& x) {
    const int samples = model.stochastic ? std::max(1, model.eot_samples) : 1;
    at::Tensor z = predict_logits(model, x);
    for (int s = 1; s < samples; ++s)
        z = z + predict_logits(model, x);
    return samples > 1 ? z / samples : z;
}

std::vector<uint64_t> restart_seeds(const std::vector<uint64_t>& seeds, const at::Tensor& active, int restart) {
    const at::Tensor idx = active.to(at::kCPU).contiguous();
    const int64_t* p = idx.data_ptr<int64_t>();
    std::vector<uint64_t> out(static_cast<std::size_t>(idx.numel()));
    for (std::size_t k = 0; k < out.size(); ++k)
        out[k] = derive_seed(seeds.at(static_cast<std::size_t>(p[k])), 0x9e57a7, static_cast<uint64_t>(restart));
    return out;
}

at::Tensor pgd(const Classifier& model, const at::Tensor& x, const at::Tensor& labels, const PgdOptions& o,
               const std::vector<uint64_t>& seeds, bool targeted) {
    const int64_t n = x.size(0);
    if (static_cast<int64_t>(seeds.size()) != n) throw std::invalid_argument("pgd: one seed per image needed");
    at::Tensor best = x.clone();
    // Lower is better: the label's margin (untargeted) or minus the target's margin (targeted).
    at::Tensor best_score = at::full({n}, std::numeric_limits<float>::infinity(), x.options());
    for (int r = 0; r < std::max(1, o.restarts); ++r) {
        const at::Tensor active =
            r == 0 ? at::arange(n, labels.options()) : at::nonzero(best_score >= 0).view({-1}).to(labels.device());
        if (active.numel() == 0) break;
        const at::Tensor xa = x.index_select(0, active), la = labels.index_select(0, active);
        at::Tensor cur = xa.clone();
        if (o.random_start)
            cur = project_to_ball(
                xa + random_perturbation(xa, o.norm, o.eps, restart_seeds(seeds, active, r), /*on_boundary=*/false), xa,
                o.norm, o.eps);
        for (int t = 0; t <= o.steps; ++t) {
            at::Tensor logits, grad;
            if (t < o.steps) {
                LossGradient lg = cross_entropy_gradient(model, cur, la);
                logits = lg.logits;
                grad = lg.grad;
            } else {
                logits = mean_logits(model, cur);
            }
            const at::Tensor margin = logit_margin(logits, la);
            const at::Tensor score = targeted ? -margin : margin;
            const at::Tensor better = score < best_score.index_select(0, active);
            if (better.any().item<bool>()) {
                const at::Tensor idx = active.masked_select(better);
                best.index_copy_(0, idx, cur.index_select(0, at::nonzero(better).view({-1})));
                best_score.index_copy_(0, idx, score.masked_select(better));
            }
            if (t == o.steps) break;
            // Untargeted: up the label's loss; targeted: down the target's loss.
            const at::Tensor dir = steepest_direction(targeted ? -grad : grad, o.norm);
            cur = project_to_ball(cur + o.step * dir, xa, o.norm, o.eps);
        }
    }
    return best;
}

}  // namespace

at::Tensor project_to_ball(const at::Tensor& x_adv, const at::Tensor& x, Norm norm, double eps) {
    torch::NoGradGuard no_grad;
    if (norm == Norm::Linf) return at::min(at::max(x_adv, x - eps), x + eps).clamp(0.0, 1.0);
    const at::Tensor d = x_adv - x;
    const at::Tensor n = l2_norms(d).view(per_image_shape(d));
    const at::Tensor scale = at::where(n > eps, eps / n.clamp_min(std::numeric_limits<float>::min()), at::ones_like(n));
    return (x + d * scale).clamp(0.0, 1.0);
}

at::Tensor random_perturbation(const at::Tensor& like, Norm norm, double eps, const std::vector<uint64_t>& seeds,
                               bool on_boundary) {
    const int64_t n = like.size(0);
    if (static_cast<int64_t>(seeds.size()) != n) throw std::invalid_argument("one seed per image needed");
    const int64_t d = n > 0 ? like.numel() / n : 0;
    at::Tensor out = at::empty(like.sizes(), at::TensorOptions().dtype(at::kFloat));
    float* p = out.data_ptr<float>();
    for (int64_t i = 0; i < n; ++i) {
        SplitMix64 rng(seeds[static_cast<std::size_t>(i)]);
        float* row = p + i * d;
        if (norm == Norm::Linf) {
            for (int64_t k = 0; k < d; ++k)
                row[k] = static_cast<float>(on_boundary ? (rng.next() >> 63 ? eps : -eps) : rng.uniform(-eps, eps));
            continue;
        }
        // A Gaussian vector (Box-Muller) has a uniformly random direction; the radius of a
        // uniform point in the d-ball is eps * U^(1/d).
        double sum = 0;
        for (int64_t k = 0; k < d; k += 2) {
            const double u1 = 1.0 - rng.uniform(), u2 = rng.uniform();
            const double r = std::sqrt(-2.0 * std::log(u1));
            row[k] = static_cast<float>(r * std::cos(kTwoPi * u2));
            if (k + 1 < d) row[k + 1] = static_cast<float>(r * std::sin(kTwoPi * u2));
        }
        for (int64_t k = 0; k < d; ++k)
            sum += static_cast<double>(row[k]) * row[k];
        const double radius = on_boundary ? eps : eps * std::pow(rng.uniform(), 1.0 / static_cast<double>(d));
        const double scale = sum > 0 ? radius / std::sqrt(sum) : 0.0;
        for (int64_t k = 0; k < d; ++k)
            row[k] = static_cast<float>(row[k] * scale);
    }
    return out.to(like.options());
}

at::Tensor fgsm(const Classifier& model, const at::Tensor& x, const at::Tensor& labels, Norm norm, double eps) {
    const at::Tensor g = cross_entropy_gradient(model, x, labels).grad;
    torch::NoGradGuard no_grad;
    return project_to_ball(x + eps * steepest_direction(g, norm), x, norm, eps);
}

at::Tensor pgd_untargeted(const Classifier& model, const at::Tensor& x, const at::Tensor& labels,
                          const PgdOptions& options, const std::vector<uint64_t>& seeds) {
    return pgd(model, x, labels, options, seeds, false);
}

at::Tensor pgd_targeted(const Classifier& model, const at::Tensor& x, const at::Tensor& targets,
                        const PgdOptions& options, const std::vector<uint64_t>& seeds) {
    return pgd(model, x, targets, options, seeds, true);
}

at::Tensor random_noise(const Classifier& model, const at::Tensor& x, const at::Tensor& labels, Norm norm, double eps,
                        int samples, const std::vector<uint64_t>& seeds) {
    torch::NoGradGuard no_grad;
    at::Tensor out = x.clone();
    at::Tensor fooled = at::zeros({x.size(0)}, labels.options().dtype(at::kBool));
    for (int s = 0; s < samples; ++s) {
        std::vector<uint64_t> draw(seeds.size());
        for (std::size_t i = 0; i < seeds.size(); ++i)
            draw[i] = derive_seed(seeds[i], 0x7015e, static_cast<uint64_t>(s));
        const at::Tensor xs =
            project_to_ball(x + random_perturbation(x, norm, eps, draw, /*on_boundary=*/true), x, norm, eps);
        const at::Tensor wrong = predict_logits(model, xs).argmax(1).ne(labels);
        // Images not fooled yet take this draw (so the unfooled keep the last one).
        const at::Tensor take = fooled.logical_not().view(per_image_shape(x));
        out = at::where(take, xs, out);
        fooled = fooled.logical_or(wrong);
        if (fooled.all().item<bool>()) break;
    }
    return out;
}

}  // namespace normout
