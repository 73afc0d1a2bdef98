#include "engine/model/optim.h"

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include <cmath>

#include "engine/session/training.h"

namespace normout {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Net& net, const TrainConfig& t) {
    if (t.optimizer == "adam")
        return std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(t.lr)
                                                                           .betas({t.adam_beta1, t.adam_beta2})
                                                                           .eps(t.adam_eps)
                                                                           .weight_decay(t.weight_decay));
    return std::make_unique<torch::optim::SGD>(
        net->parameters(),
        torch::optim::SGDOptions(t.lr).momentum(t.momentum).weight_decay(t.weight_decay).nesterov(t.nesterov));
}

void set_learning_rate(torch::optim::Optimizer& opt, double lr) {
    for (auto& group : opt.param_groups())
        group.options().set_lr(lr);
}

double learning_rate_at(const TrainConfig& t, int epoch) {
    double lr = t.lr;
    if (t.lr_schedule == "step") {
        for (int m : t.lr_milestones)
            if (epoch >= m) lr *= t.lr_gamma;
    } else if (t.lr_schedule == "cosine") {
        const int span = std::max(1, t.epochs - t.warmup_epochs);
        const double progress = std::clamp(static_cast<double>(epoch - t.warmup_epochs) / span, 0.0, 1.0);
        lr = 0.5 * t.lr * (1.0 + std::cos(M_PI * progress));
    }
    if (epoch < t.warmup_epochs) lr = t.lr * static_cast<double>(epoch + 1) / (t.warmup_epochs + 1);
    return lr;
}

}  // namespace normout
