#include "engine/train/adversarial.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/utils.h>

#include <c10/util/Optional.h>
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "engine/attacks/classifier.h"
#include "engine/attacks/gradient_attacks.h"

namespace normout {

namespace {

std::vector<int64_t> per_image_shape(const at::Tensor& x) {
    std::vector<int64_t> s(static_cast<std::size_t>(x.dim()), 1);
    s[0] = -1;
    return s;
}

// Per-image L2 norms shaped to broadcast over the image.
at::Tensor l2_norms(const at::Tensor& t) {
    return t.flatten(1).pow(2).sum(1).sqrt().view(per_image_shape(t));
}

// Steepest ascent direction under the norm: sign(g) (L-inf) or g / ||g||_2 per image (L2; zero
// where g vanishes, so a dead gradient moves nothing).
at::Tensor ascent_direction(const at::Tensor& g, Norm norm) {
    if (norm == Norm::Linf) return g.sign();
    const at::Tensor n = l2_norms(g);
    return at::where(n > 0, g / n.clamp_min(std::numeric_limits<float>::min()), at::zeros_like(g));
}

// A uniform point of the eps-ball per image from the global generator. L2: a Gaussian has a
// uniformly random direction, and the radius of a uniform point of the d-ball is eps * U^(1/d).
at::Tensor uniform_in_ball(const at::Tensor& like, Norm norm, double eps) {
    if (norm == Norm::Linf) return at::empty_like(like).uniform_(-eps, eps);
    const at::Tensor dir = at::randn_like(like);
    const double d = static_cast<double>(like[0].numel());
    const at::Tensor radius = eps * at::rand({like.size(0)}, like.options()).pow(1.0 / d).view(per_image_shape(like));
    return dir * (radius / l2_norms(dir).clamp_min(std::numeric_limits<float>::min()));
}

// The model as adv_bn asks while alive, restored on destruction (also when an attack throws).
// frozen: training mode, every BatchNorm with momentum 0 and its running statistics and
// num_batches_tracked copied back afterwards (momentum 0 alone leaves -0.0 or NaN traces, and
// the counter still counts); train: training mode, nothing restored; eval: evaluation mode.
class AttackMode {
  public:
    AttackMode(Net& net, const std::string& bn) : net_(net), was_training_(net->is_training()) {
        if (bn == "frozen") {
            torch::NoGradGuard no_grad;
            for (const auto& m : net_->modules(/*include_self=*/false)) {
                auto* b = m->as<torch::nn::BatchNorm2d>();
                if (!b) continue;
                Saved s{b, b->options.momentum(), {}};
                for (const at::Tensor& t : {b->running_mean, b->running_var, b->num_batches_tracked})
                    s.buffers.push_back(t.defined() ? t.clone() : at::Tensor());
                saved_.push_back(std::move(s));
                b->options.momentum(0.0);
            }
        }
        net_->train(bn != "eval");
    }
    ~AttackMode() {
        torch::NoGradGuard no_grad;
        for (Saved& s : saved_) {
            s.bn->options.momentum(s.momentum);
            at::Tensor* live[] = {&s.bn->running_mean, &s.bn->running_var, &s.bn->num_batches_tracked};
            for (std::size_t k = 0; k < s.buffers.size(); ++k)
                if (s.buffers[k].defined()) live[k]->copy_(s.buffers[k]);
        }
        net_->train(was_training_);
    }
    AttackMode(const AttackMode&) = delete;
    AttackMode& operator=(const AttackMode&) = delete;

  private:
    struct Saved {
        torch::nn::BatchNorm2dImpl* bn;
        c10::optional<double> momentum;
        std::vector<at::Tensor> buffers;  // running_mean, running_var, num_batches_tracked
    };
    Net net_;
    bool was_training_;
    std::vector<Saved> saved_;
};

}  // namespace

double adversarial_eps(const TrainConfig& train) {
    if (train.adv_eps > 0) return train.adv_eps;
    return train.adv_norm == "l2" ? 0.5 : 8.0 / 255.0;
}

double adversarial_step(const TrainConfig& train) {
    if (train.adv_step > 0) return train.adv_step;
    const double eps = adversarial_eps(train);
    return train.adversarial == "fgsm-rs" ? 1.25 * eps : 2.5 * eps / std::max(1, train.adv_iterations);
}

int64_t adversarial_count(const TrainConfig& train, int64_t batch_size) {
    if (train.adversarial == "none" || batch_size <= 0) return 0;
    // The same expression as the training loop's weights for robust_accuracy.
    const auto rows = static_cast<int64_t>(std::ceil(train.adv_fraction * static_cast<double>(batch_size)));
    return std::clamp<int64_t>(rows, 1, batch_size);
}

AdversarialBatch craft_adversarial_batch(Net& net, const at::Tensor& x, const at::Tensor& y, const TrainConfig& train) {
    const int64_t count = adversarial_count(train, x.size(0));
    if (count == 0) return {x, 0};
    const Norm norm = parse_norm(train.adv_norm);
    const double eps = adversarial_eps(train), step = adversarial_step(train);
    const bool fgsm = train.adversarial == "fgsm-rs";  // one step, always from a random start
    const int iterations = fgsm ? 1 : train.adv_iterations;

    const at::Tensor xa = x.narrow(0, 0, count).detach(), ya = y.narrow(0, 0, count);
    at::Tensor cur;
    {
        torch::NoGradGuard no_grad;
        cur = (fgsm || train.adv_random_start) ? project_to_ball(xa + uniform_in_ball(xa, norm, eps), xa, norm, eps)
                                               : xa.clone();
    }
    {
        const AttackMode mode(net, train.adv_bn);
        for (int t = 0; t < iterations; ++t) {
            at::Tensor g;
            {
                // Differentiates w.r.t. the perturbation only: parameters' .grad stay as they are
                // and the graph is freed by grad().
                torch::AutoGradMode grad_mode(true);
                at::Tensor delta = (cur - xa).detach().requires_grad_(true);
                const at::Tensor logits = net->forward(xa + delta);
                g = torch::autograd::grad({summed_cross_entropy(logits.to(at::kFloat), ya)}, {delta})[0];
            }
            torch::NoGradGuard no_grad;
            cur = project_to_ball(cur + step * ascent_direction(g, norm), xa, norm, eps);
        }
    }
    torch::NoGradGuard no_grad;
    at::Tensor out = x.detach().clone();
    out.narrow(0, 0, count).copy_(cur);
    return {out, count};
}

}  // namespace normout
