#pragma once
// One optimisation step, shared by training and the benchmark so both time the same work.
#include <ATen/Tensor.h>
#include <torch/optim/optimizer.h>

#include <vector>

#include "engine/model/model.h"
#include "engine/train/penalties.h"

namespace normout {

struct StepResult {
    at::Tensor loss;                    // scalar, detached: the cross-entropy
    at::Tensor logits;                  // detached
    std::vector<at::Tensor> penalties;  // the weighted penalty terms, detached (Penalties::names order)
    at::Tensor objective;               // loss + penalties, detached (the loss when there are none)
};

inline StepResult train_step(Net& net, torch::optim::Optimizer& optimizer, std::vector<at::Tensor>& params,
                             const at::Tensor& x, const at::Tensor& y, const Penalties* penalties = nullptr);

}  // namespace normout

#include <torch/nn/functional/loss.h>

namespace normout {

inline StepResult train_step(Net& net, torch::optim::Optimizer& optimizer, std::vector<at::Tensor>& params,
                             const at::Tensor& x, const at::Tensor& y, const Penalties* penalties) {
    const at::Tensor logits = net->forward(x);
    const at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    StepResult r;
    at::Tensor objective = loss;
    if (penalties && !penalties->empty())
        for (const at::Tensor& term : penalties->terms()) {
            objective = objective + term;
            r.penalties.push_back(term.detach());
        }
    for (auto& p : params)
        p.mutable_grad().reset();  // set to none: no memset of the gradients
    objective.backward();
    optimizer.step();
    r.loss = loss.detach();
    r.logits = logits.detach();
    r.objective = objective.detach();
    return r;
}

}  // namespace normout
