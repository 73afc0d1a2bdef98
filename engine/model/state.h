#pragma once
// Model state (parameters and buffers) as plain arrays, for the run file and checkpoints.
#include <torch/nn/module.h>

#include <vector>

#include "engine/runfile/run_file.h"

namespace normout {

std::vector<NamedArray> export_state(const torch::nn::Module& module);
// Copies arrays into the module's tensors by name; throws if a name or shape does not match.
void import_state(torch::nn::Module& module, const std::vector<NamedArray>& state);
// Whether every floating-point parameter and buffer is finite (one reduction each).
bool state_is_finite(const torch::nn::Module& module);

}  // namespace normout
