#pragma once
// The residual markers of the layer table (ResNet, ViT): a Fork saves its input, the next Add
// (innermost first) adds its shortcut of that input to its own input. NetImpl::forward keeps the
// saved tensors on a stack; these modules only hold what each marker owns. Header-only because
// only model.cpp builds them.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/pimpl.h>

#include <ostream>

#include "engine/config/model_spec.h"

namespace normout {

// Returns its input; NetImpl::forward saves it for the matching Add.
class ForkImpl : public torch::nn::Module {
  public:
    torch::Tensor forward(const torch::Tensor& x) { return x; }
    void pretty_print(std::ostream& s) const override { s << "Fork()"; }
};
TORCH_MODULE(Fork);

// x + shortcut(saved): the identity, or ResNet's projection (1x1 convolution, stride, BatchNorm)
// when the channels or the resolution change. The projection is registered here ("conv", "bn"),
// so its parameters are the model's and its names are layers.<index>.conv.weight and so on.
class AddImpl : public torch::nn::Module {
  public:
    explicit AddImpl(const LayerInfo& info) : info_(info) {
        if (!info.projects()) return;
        namespace nn = torch::nn;
        conv = register_module("conv",
                               nn::Conv2d(nn::Conv2dOptions(info.in, info.out, 1).stride(info.stride).bias(false)));
        bn = register_module("bn", nn::BatchNorm2d(info.out));
    }
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& saved) {
        return conv ? x + bn->forward(conv->forward(saved)) : x + saved;
    }
    void pretty_print(std::ostream& s) const override { s << info_.describe(); }

    torch::nn::Conv2d conv{nullptr};
    torch::nn::BatchNorm2d bn{nullptr};

  private:
    LayerInfo info_;
};
TORCH_MODULE(Add);

}  // namespace normout
