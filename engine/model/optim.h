#pragma once
// Optimiser and learning-rate schedule from the configuration.
#include <torch/optim/optimizer.h>

#include <memory>

#include "engine/config/config.h"
#include "engine/model/model.h"

namespace normout {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(Net& net, const TrainConfig& train);
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace normout
