#pragma once
// The network: a normalising front (pixels in [0,1] in, standardised inside, so attacks work in
// pixel space) and the indexed layer table as a torch Sequential.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/config/model_spec.h"

namespace normout {

class NetImpl : public torch::nn::Module {
  public:
    NetImpl(std::vector<LayerInfo> table, const std::vector<float>& mean, const std::vector<float>& stddev);

    // AdaptiveAvgPool2d(7) on a 1 x 1 map copies each channel 49 times, so Flatten + Linear
    // equals one Linear whose weight is summed over the 49 copies: the same function and
    // gradients with 49x fewer multiply-adds (32 x 32 inputs reach 1 x 1). On by default.
    void set_fast_classifier(bool on) { fast_classifier_ = on; }

    // Called after layer i with its input and output while set (the instrumentation).
    using Probe = std::function<void(int index, const torch::Tensor& input, const torch::Tensor& output)>;
    void set_probe(Probe probe, std::vector<bool> watched);
    torch::nn::AnyModule& module(std::size_t i) { return modules_.at(i); }
    // pixels: [N, C, H, W] in [0, 1].
    torch::Tensor forward(const torch::Tensor& pixels);
    // The layers in table order (input already normalised); used for per-layer shapes.
    torch::nn::Sequential& layers() { return layers_; }
    const std::vector<LayerInfo>& table() const { return table_; }
    torch::Tensor normalise(const torch::Tensor& pixels) const;

  private:
    std::vector<LayerInfo> table_;
    torch::Tensor mean_;
    torch::Tensor std_;
    torch::nn::Sequential layers_;
    std::vector<torch::nn::AnyModule> modules_;
    int64_t pool_index_ = -1;  // start of AdaptiveAvgPool2d, Flatten, Linear; -1 if absent
    bool fast_classifier_ = true;
    Probe probe_;
    std::vector<bool> watched_;
};
TORCH_MODULE(Net);

// Builds the model, drawing from the global torch generator. `init` (ModelConfig::init):
// "torchvision" = VGG's initialisation (Kaiming-normal fan-out convolutions, N(0, 0.01) linear
// layers, zero biases) drawn after the modules' own; "pytorch" = the modules' default
// initialisation as LibTorch's constructors draw it (Kaiming-uniform a = sqrt(5), biases uniform
// in +-1/sqrt(fan_in)). BatchNorm weight 1, bias 0 in both. Throws ConfigError ("model.init")
// for another value.
Net build_model(const std::vector<LayerInfo>& table, const std::vector<float>& mean, const std::vector<float>& stddev,
                bool fast_classifier = true, const std::string& init = "torchvision");

// Output shape of each layer for one input of the given shape [C, H, W].
std::vector<std::vector<int64_t>> layer_output_shapes(Net& net, const std::vector<int64_t>& chw);

// Number of trainable parameters.
int64_t parameter_count(Net& net);

}  // namespace normout
