#pragma once
// Numerical precision of training (train.precision, train.channels_last): fp32; tf32 (TensorFloat-32
// matrix products on CUDA); bf16 autocast (products in bfloat16, weights, optimiser state and loss
// in float32). Applied to the training step and the per-epoch evaluation; attacks and flatness
// measures always run in fp32.
#include <ATen/Tensor.h>
#include <torch/nn/module.h>

#include <string>

#include "engine/model/device.h"

namespace normout {

// Throws ConfigError where this build or device cannot do the setting (tf32 off CUDA; bf16 autocast
// on the CPU with a LibTorch before 2.0). Sets the process-wide TF32 switches for the device.
void configure_precision(const std::string& precision, bool channels_last, const DeviceChoice& device);

// Turns bf16 autocast on for the device while it lives (thread-local in LibTorch), or does nothing.
class AutocastScope {
  public:
    AutocastScope(const std::string& precision, const DeviceChoice& device);
    ~AutocastScope();
    AutocastScope(const AutocastScope&) = delete;
    AutocastScope& operator=(const AutocastScope&) = delete;

  private:
    bool active_ = false;
    bool cuda_ = false;
    bool was_enabled_ = false;
};

// Puts the 4-D weights of a module in channels-last memory order (the values are unchanged).
void to_channels_last(torch::nn::Module& module);
// The input in the memory order the model expects.
at::Tensor in_memory_format(const at::Tensor& x, bool channels_last);

}  // namespace normout
