#include "engine/model/model.h"

#include <ATen/ATen.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/adaptive.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/modules/pooling.h>
#include <torch/utils.h>

#include <cmath>
#include <stdexcept>

#include "engine/model/layers.h"
#include "engine/model/residual.h"
#include "engine/model/vit_layers.h"

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
    if (l.kind == "Conv2d")
        return nn::AnyModule(
            nn::Conv2d(nn::Conv2dOptions(l.in, l.out, l.kernel).stride(l.stride).padding(l.padding).bias(l.bias)));
    if (l.kind == "BatchNorm2d") return nn::AnyModule(nn::BatchNorm2d(l.out));
    if (l.kind == "ReLU") return nn::AnyModule(nn::ReLU(nn::ReLUOptions(l.inplace)));
    if (l.kind == "MaxPool2d") return nn::AnyModule(nn::MaxPool2d(nn::MaxPool2dOptions(2).stride(2)));
    if (l.kind == "AdaptiveAvgPool2d")
        return nn::AnyModule(nn::AdaptiveAvgPool2d(nn::AdaptiveAvgPool2dOptions(l.output_size)));
    if (l.kind == "Flatten") return nn::AnyModule(nn::Flatten());
    if (l.kind == "Linear") return nn::AnyModule(nn::Linear(nn::LinearOptions(l.in, l.out).bias(l.bias)));
    if (l.kind == "Dropout") return nn::AnyModule(DropoutLayer(l.custom));
    if (l.kind == "NormOut") return nn::AnyModule(NormOut(l.custom));
    if (l.kind == "Identity") return nn::AnyModule(Pass());
    if (l.kind == "Fork") return nn::AnyModule(Fork());
    if (l.kind == "Add") return nn::AnyModule(Add(l));
    if (l.kind == "Tokens") return nn::AnyModule(Tokens(l));
    if (l.kind == "LayerNorm") return nn::AnyModule(nn::LayerNorm(nn::LayerNormOptions({l.out}).eps(1e-5)));
    if (l.kind == "Attention") return nn::AnyModule(Attention(l));
    if (l.kind == "GELU") return nn::AnyModule(nn::GELU());
    if (l.kind == "ClassSelect") return nn::AnyModule(ClassSelect());
    throw std::invalid_argument("unknown layer kind '" + l.kind + "'");
}

enum class Family { Vgg, ResNet, ViT };

// Which reference initialisation a table gets: a ViT has Tokens, a ResNet residuals, the rest
// (VGG and the tests' small tables) VGG's.
Family family_of(const std::vector<LayerInfo>& table) {
    bool residual = false;
    for (const auto& l : table) {
        if (l.kind == "Tokens") return Family::ViT;
        residual |= l.kind == "Fork" || l.kind == "Add";
    }
    return residual ? Family::ResNet : Family::Vgg;
}

// PyTorch's trunc_normal_ (inverse-CDF sampling, then clamped), as timm initialises a ViT:
// N(0, std) truncated to [a, b].
void trunc_normal(at::Tensor& t, double std, double a, double b) {
    const auto cdf = [](double x) { return 0.5 * (1.0 + std::erf(x / std::sqrt(2.0))); };
    const double lo = cdf(a / std), hi = cdf(b / std);
    t.uniform_(2 * lo - 1, 2 * hi - 1).erfinv_().mul_(std * std::sqrt(2.0)).clamp_(a, b);
}

}  // namespace

NetImpl::NetImpl(std::vector<LayerInfo> table, const std::vector<float>& mean, const std::vector<float>& stddev)
    : table_(std::move(table)) {
    if (mean.empty() || mean.size() != stddev.size())
        throw std::invalid_argument("normalisation needs one mean and one std per channel");
    const auto c = static_cast<int64_t>(mean.size());
    mean_ = register_buffer("input_mean", torch::tensor(mean).view({1, c, 1, 1}));
    std_ = register_buffer("input_std", torch::tensor(stddev).view({1, c, 1, 1}));
    std::vector<std::size_t> open;  // the Forks not yet closed by an Add
    for (std::size_t i = 0; i < table_.size(); ++i) {
        const LayerInfo& l = table_[i];
        modules_.push_back(make_layer(l));
        layers_->push_back(modules_.back());
        role_.push_back(l.kind == "Fork" ? Role::Fork : l.kind == "Add" ? Role::Add : Role::Plain);
        inplace_relu_.push_back(l.kind == "ReLU" && l.inplace);
        fork_clones_.push_back(false);
        if (role_.back() == Role::Fork) open.push_back(i);
        if (role_.back() == Role::Add) {
            if (open.empty())
                throw std::invalid_argument("layer " + std::to_string(i) + " (Add) has no Fork before it");
            open.pop_back();
        }
        // An in-place ReLU inside a residual may overwrite what its Forks saved (through a chain
        // of layers that return their input): those Forks save a copy.
        if (inplace_relu_.back())
            for (std::size_t f : open)
                fork_clones_[f] = true;
    }
    if (!open.empty())
        throw std::invalid_argument("layer " + std::to_string(open.back()) + " (Fork) has no Add after it");
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

void NetImpl::set_kept_outputs(std::vector<int> indices) {
    keep_slot_.assign(modules_.size(), -1);
    kept_.assign(indices.size(), torch::Tensor());
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const int i = indices[k];
        if (i < 0 || i >= static_cast<int>(modules_.size()))
            throw std::invalid_argument("layer " + std::to_string(i) + " is not in the model");
        keep_slot_[static_cast<std::size_t>(i)] = static_cast<int>(k);
    }
    if (indices.empty()) keep_slot_.clear();
}

torch::Tensor NetImpl::forward(const torch::Tensor& pixels) {
    torch::Tensor x = normalise(pixels);
    const auto n = static_cast<int64_t>(modules_.size());
    const bool probing = static_cast<bool>(probe_);
    const bool keeping = !keep_slot_.empty();
    const auto kept_at = [&](int64_t i) { return keeping && keep_slot_[static_cast<std::size_t>(i)] >= 0; };
    std::vector<torch::Tensor> saved;  // the Forks' inputs, innermost last
    for (int64_t i = 0; i < n; ++i) {
        if (i == pool_index_ && fast_classifier_ && x.dim() == 4 && x.size(2) == 1 && x.size(3) == 1 &&
            !(probing && (watched_[i] || watched_[i + 1] || watched_[i + 2])) &&
            !(kept_at(i) || kept_at(i + 1) || kept_at(i + 2))) {
            const auto linear = modules_[static_cast<std::size_t>(i + 2)].get<torch::nn::Linear>();
            const torch::Tensor& w = linear->weight;
            const torch::Tensor summed = w.view({w.size(0), x.size(1), w.size(1) / x.size(1)}).sum(2);
            x = at::linear(x.flatten(1), summed, linear->bias);
            i += 2;
            continue;
        }
        if (probing && watched_[static_cast<std::size_t>(i)]) {
            // An in-place ReLU would overwrite its input before the probe sees it.
            const torch::Tensor in = inplace_relu_[static_cast<std::size_t>(i)] ? x.clone() : x;
            x = run_layer(static_cast<std::size_t>(i), x, saved);
            probe_(static_cast<int>(i), in, x);
        } else {
            x = run_layer(static_cast<std::size_t>(i), x, saved);
        }
        if (kept_at(i)) {
            // An in-place ReLU next would overwrite the kept tensor that the penalty's backward needs.
            const bool overwritten = i + 1 < n && inplace_relu_[static_cast<std::size_t>(i + 1)];
            kept_[static_cast<std::size_t>(keep_slot_[static_cast<std::size_t>(i)])] = overwritten ? x.clone() : x;
        }
    }
    return x;
}

torch::Tensor NetImpl::run_layer(std::size_t i, const torch::Tensor& x, std::vector<torch::Tensor>& saved) {
    switch (role_.at(i)) {
        case Role::Fork:
            saved.push_back(fork_clones_[i] ? x.clone() : x);
            return x;
        case Role::Add: {
            TORCH_CHECK(!saved.empty(), "layer ", i, " (Add) runs without a saved input: step from the first layer");
            const torch::Tensor shortcut = std::move(saved.back());
            saved.pop_back();
            return modules_[i].forward(x, shortcut);
        }
        case Role::Plain:
            break;
    }
    return modules_[i].forward(x);
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
    const Family family = family_of(table);
    if (family == Family::ResNet) {  // torchvision's ResNet: convolutions and norms only
        for (auto& module : net->modules(/*include_self=*/false)) {
            if (auto* conv = module->as<torch::nn::Conv2d>()) {
                torch::nn::init::kaiming_normal_(conv->weight, 0.0, torch::kFanOut, torch::kReLU);
                if (conv->bias.defined()) conv->bias.zero_();
            } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
                bn->weight.fill_(1.0);
                bn->bias.zero_();
            }
        }
        return net;
    }
    if (family == Family::ViT) {  // timm's / the ViT papers' initialisation
        for (auto& module : net->modules(/*include_self=*/false)) {
            if (auto* lin = module->as<torch::nn::Linear>()) {
                trunc_normal(lin->weight, 0.02, -2.0, 2.0);
                if (lin->bias.defined()) lin->bias.zero_();
            } else if (auto* norm = module->as<torch::nn::LayerNorm>()) {
                norm->weight.fill_(1.0);
                norm->bias.zero_();
            } else if (auto* tokens = module->as<Tokens>()) {
                tokens->class_token.normal_(0.0, 0.02);
                tokens->position_embedding.normal_(0.0, 0.02);
            } else if (auto* bn = module->as<torch::nn::BatchNorm2d>()) {
                bn->weight.fill_(1.0);
                bn->bias.zero_();
            }
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
    std::vector<torch::Tensor> saved;
    try {
        for (std::size_t i = 0; i < net->table().size(); ++i) {
            x = net->run_layer(i, x, saved);
            out.emplace_back(x.sizes().begin(), x.sizes().end());
        }
    } catch (...) {
        net->train(was_training);
        throw;
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
