#pragma once
// One optimisation step, shared by training and the benchmark so both time the same work.
#include <ATen/Tensor.h>
#include <torch/optim/optimizer.h>

#include <vector>

#include "engine/model/model.h"

namespace normout {

struct StepResult {
    at::Tensor loss;    // scalar, detached
    at::Tensor logits;  // detached
};

inline StepResult train_step(Net& net, torch::optim::Optimizer& optimizer, std::vector<at::Tensor>& params,
                             const at::Tensor& x, const at::Tensor& y);

}  // namespace normout

#include <torch/nn/functional/loss.h>

namespace normout {

inline StepResult train_step(Net& net, torch::optim::Optimizer& optimizer, std::vector<at::Tensor>& params,
                             const at::Tensor& x, const at::Tensor& y) {
    const at::Tensor logits = net->forward(x);
    const at::Tensor loss = torch::nn::functional::cross_entropy(logits, y);
    for (auto& p : params)
        p.mutable_grad().reset();  // set to none: no memset of the gradients
    loss.backward();
    optimizer.step();
    return {loss.detach(), logits.detach()};
}

}  // namespace normout
