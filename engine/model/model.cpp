#include "engine/model/model.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/adaptive.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>
#include <torch/utils.h>

#include <stdexcept>

#include "engine/model/layers.h"

namespace normout {

namespace {

// torch::nn::Identity exists in both LibTorch 1.13 and 2.x, but its printing differs; ours is
// one line and keeps the table readable.
class PassImpl : public torch::nn::Module {
  public:
    torch::Tensor forward(const torch::Tensor& x) { return x; }
    void pretty_print(std::ostream& s) const override { s << "Identity()"; }
};
TORCH_MODULE(Pass);

torch::nn::AnyModule make_layer(const LayerInfo& l) {
    namespace nn = torch::nn;
    if (l.kind == "Conv2d") return nn::AnyModule(nn::Conv2d(nn::Conv2dOptions(l.in, l.out, 3).padding(1)));
    if (l.kind == "BatchNorm2d") return nn::AnyModule(nn::BatchNorm2d(l.out));
    if (l.kind == "ReLU") return nn::AnyModule(nn::ReLU(nn::ReLUOptions(true)));
    if (l.kind == "MaxPool2d") return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
    if (l.kind == "AdaptiveAvgPool2d") return nn::AnyModule(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(7)));
    if (l.kind == "Flatten") return nn::AnyModule(nn::Flatten());
    if (l.kind == "Linear") return nn::AnyModule(nn::Linear(l.in, l.out));
    if (l.kind == "Dropout") return nn::AnyModule(DropoutLayer(l.custom));
    if (l.kind == "NormOut") return nn::AnyModule(NormOut(l.custom));
    if (l.kind == "Identity") return nn::AnyModule(Pass());
    throw std::invalid_argument("unknown layer kind '" + l.kind + "'");
}

}  // namespace

NetImpl::NetImpl(std::vector<LayerInfo> table, const std::vector<float>& mean, const std::vector<float>& stddev)
    : table_(std::move(table)) {
    if (mean.empty() || mean.size() != stddev.size())
        throw std::invalid_argument("normalisation needs one mean and one std per channel");
    const auto c = static_cast<int64_t>(mean.size());
    mean_ = register_buffer("input_mean", torch::tensor(mean).view({1, c, 1, 1}));
    std_ = register_buffer("input_std", torch::tensor(stddev).view({1, c, 1, 1}));
    for (const auto& l : table_) {
        modules_.push_back(make_layer(l));
        layers_->push_back(modules_.back());
    }
    register_module("layers", layers_);
    for (std::size_t i = 0; i + 2 < table_.size(); ++i)
        if (table_[i].kind == "AdaptiveAvgPool2d" && table_[i + 1].kind == "Flatten" && table_[i + 2].kind == "Linear")
            pool_index_ = static_cast<int64_t>(i);
}

torch::Tensor NetImpl::normalise(const torch::Tensor& pixels) const {
    return (pixels - mean_) / std_;
}

void NetImpl::set_probe(Probe probe, std::vector<bool> watched) {
    probe_ = std::move(probe);
    watched_ = std::move(watched);
    watched_.resize(modules_.size(), false);
}

torch::Tensor NetImpl::forward(const torch::Tensor& pixels) {
    torch::Tensor x = normalise(pixels);
    const auto n = static_cast<int64_t>(modules_.size());
    const bool probing = static_cast<bool>(probe_);
    for (int64_t i = 0; i < n; ++i) {
        if (i == pool_index_ && fast_classifier_ && x.dim() == 4 && x.size(2) == 1 && x.size(3) == 1 &&
            !(probing && (watched_[i] || watched_[i + 1] || watched_[i + 2]))) {
            const auto linear = modules_[static_cast<std::size_t>(i + 2)].get<torch::nn::Linear>();
            const torch::Tensor& w = linear->weight;
            const torch::Tensor summed = w.view({w.size(0), x.size(1), w.size(1) / x.size(1)}).sum(2);
            x = at::linear(x.flatten(1), summed, linear->bias);
            i += 2;
            continue;
        }
        if (probing && watched_[static_cast<std::size_t>(i)]) {
            // An in-place ReLU would overwrite its input before the probe sees it.
            const torch::Tensor in = table_[static_cast<std::size_t>(i)].kind == "ReLU" ? x.clone() : x;
            x = modules_[static_cast<std::size_t>(i)].forward(x);
            probe_(static_cast<int>(i), in, x);
        } else {
            x = modules_[static_cast<std::size_t>(i)].forward(x);
        }
    }
    return x;
}

Net build_model(const std::vector<LayerInfo>& table, const std::vector<float>& mean, const std::vector<float>& stddev,
                bool fast_classifier, const std::string& init) {
    if (init != "torchvision" && init != "pytorch")
        throw ConfigError("model.init", "unknown initialisation '" + init + "' (torchvision, pytorch)");
    // The modules' constructors draw PyTorch's default initialisation (Conv2d and Linear:
    // Kaiming-uniform a = sqrt(5), bias uniform in +-1/sqrt(fan_in); BatchNorm: weight 1, bias 0).
    Net net(table, mean, stddev);
    net->set_fast_classifier(fast_classifier);
    torch::NoGradGuard no_grad;
    if (init == "pytorch") {
        for (auto& module : net->modules(/*include_self=*/false))
            if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {  // already so; stated, not drawn
                bn->weight.fill_(1.0);
                bn->bias.zero_();
            }
        return net;
    }
    // torchvision's VGG initialisation, drawn after the constructors' draws (as always, so a seed
    // gives the same weights as before the choice existed).
    for (auto& module : net->modules(/*include_self=*/false)) {
        if (auto* conv = module->as<torch::nn::Conv2d>()) {
            torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
            conv->bias.zero_();
        } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
            bn->weight.fill_(1.0);
            bn->bias.zero_();
        } else if (auto* lin = module->as<torch::nn::Linear>()) {
            lin->weight.normal_(0.0, 0.01);
            lin->bias.zero_();
        }
    }
    return net;
}

std::vector<std::vector<int64_t>> layer_output_shapes(Net& net, const std::vector<int64_t>& chw) {
    torch::NoGradGuard no_grad;
    const bool was_training = net->is_training();
    net->eval();
    std::vector<int64_t> shape = {1};
    shape.insert(shape.end(), chw.begin(), chw.end());
    torch::Tensor x = net->normalise(torch::zeros(shape));
    std::vector<std::vector<int64_t>> out;
    for (auto& layer : *net->layers()) {
        x = layer.forward(x);
        out.emplace_back(x.sizes().begin(), x.sizes().end());
    }
    net->train(was_training);
    return out;
}

int64_t parameter_count(Net& net) {
    int64_t n = 0;
    for (const auto& p : net->parameters())
        if (p.requires_grad()) n += p.numel();
    return n;
}

}  // namespace normout
