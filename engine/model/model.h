#pragma once
// The network: a normalising front (pixels in [0,1] in, standardised inside, so attacks work in
// pixel space) and the indexed layer table as a torch Sequential, run in table order. Residuals
// are table entries too: a Fork saves its input on a stack, the next Add pops it and adds its
// shortcut of it (engine/model/residual.h), so every layer of a ResNet or ViT block has an index.
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
    // Keeps the outputs of these layers (final-table indices), with their autograd graph, at each
    // forward: the activation penalties (engine/train/penalties.h) are computed from them.
    void set_kept_outputs(std::vector<int> indices);
    // The outputs of the last forward, in the order of set_kept_outputs().
    const std::vector<torch::Tensor>& kept_outputs() const { return kept_; }
    torch::nn::AnyModule& module(std::size_t i) { return modules_.at(i); }
    // pixels: [N, C, H, W] in [0, 1].
    torch::Tensor forward(const torch::Tensor& pixels);
    // Runs layer i alone on x (already normalised), the residual markers pushing (Fork) and
    // popping (Add) `saved`: forward() and layer_output_shapes() step through the table with it.
    torch::Tensor run_layer(std::size_t i, const torch::Tensor& x, std::vector<torch::Tensor>& saved);
    // The layers in table order, as registered ("layers.<index>"). Not callable as a whole: the
    // Add entries take two inputs; step with run_layer().
    torch::nn::Sequential& layers() { return layers_; }
    const std::vector<LayerInfo>& table() const { return table_; }
    torch::Tensor normalise(const torch::Tensor& pixels) const;

  private:
    std::vector<LayerInfo> table_;
    torch::Tensor mean_;
    torch::Tensor std_;
    torch::nn::Sequential layers_;
    std::vector<torch::nn::AnyModule> modules_;
    enum class Role : char { Plain, Fork, Add };
    std::vector<Role> role_;          // per layer
    std::vector<bool> inplace_relu_;  // per layer: a ReLU that overwrites its input
    std::vector<bool> fork_clones_;   // per Fork: an in-place ReLU before its Add could overwrite it
    int64_t pool_index_ = -1;         // start of AdaptiveAvgPool2d, Flatten, Linear; -1 if absent
    bool fast_classifier_ = true;
    Probe probe_;
    std::vector<bool> watched_;
    std::vector<int> keep_slot_;  // per layer: slot in kept_, or -1
    std::vector<torch::Tensor> kept_;
};
TORCH_MODULE(Net);

// Builds the model, drawing from the global torch generator. `init` (ModelConfig::init):
// "torchvision" = the architecture's reference initialisation, drawn after the modules' own:
//   VGG (a table without residuals): Kaiming-normal fan-out convolutions, N(0, 0.01) linear
//     layers, zero biases;
//   ResNet (residuals, no tokens): Kaiming-normal fan-out convolutions, linear layers as
//     constructed (torchvision's ResNet);
//   ViT (a Tokens entry): linear layers truncated-normal std 0.02 (timm's bounds +-2) with zero
//     biases, class token and position embedding N(0, 0.02), the patch convolution as constructed;
// "pytorch" = the modules' default initialisation as LibTorch's constructors draw it
// (Kaiming-uniform a = sqrt(5), biases uniform in +-1/sqrt(fan_in); class token 0, position
// embedding N(0, 0.02) as torchvision constructs them). BatchNorm and LayerNorm weight 1, bias 0
// in both. Throws ConfigError ("model.init") for another value, std::invalid_argument for a table
// whose Fork and Add entries do not pair up.
Net build_model(const std::vector<LayerInfo>& table, const std::vector<float>& mean, const std::vector<float>& stddev,
                bool fast_classifier = true, const std::string& init = "torchvision");

// Output shape of each layer for one input of the given shape [C, H, W] (run_layer by run_layer,
// in evaluation mode, without gradients).
std::vector<std::vector<int64_t>> layer_output_shapes(Net& net, const std::vector<int64_t>& chw);

// Number of trainable parameters.
int64_t parameter_count(Net& net);

}  // namespace normout
