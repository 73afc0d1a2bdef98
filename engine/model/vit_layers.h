#pragma once
// The Vision Transformer's own layers (the table's Tokens, Attention and ClassSelect entries);
// LayerNorm, Linear, GELU and the patch embedding (a Conv2d) are LibTorch's. Header-only because
// only model.cpp builds them.
#include <ATen/ATen.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <cmath>
#include <ostream>
#include <stdexcept>
#include <string>

#include "engine/config/model_spec.h"

namespace normout {

// [N, D, g, g] patch embeddings -> [N, 1 + g*g, D] tokens: flattened row by row, the class
// token prepended, the learned position embedding added. The embedding has g*g + 1 rows, so the
// input must give exactly g x g patches (32x32 pixels); another size is an invalid_argument.
class TokensImpl : public torch::nn::Module {
  public:
    explicit TokensImpl(const LayerInfo& info) : info_(info) {
        const int64_t d = info.out, t = static_cast<int64_t>(info.grid) * info.grid + 1;
        // As torchvision's VisionTransformer constructs them: class token 0, position N(0, 0.02).
        class_token = register_parameter("class_token", at::zeros({1, 1, d}));
        position_embedding = register_parameter("position_embedding", at::randn({1, t, d}) * 0.02);
    }
    torch::Tensor forward(const torch::Tensor& x) {
        const int64_t g = info_.grid;
        if (x.dim() != 4 || x.size(1) != info_.out || x.size(2) != g || x.size(3) != g) {
            std::string got;
            for (int64_t d = 1; d < x.dim(); ++d)
                got += (d > 1 ? "x" : "") + std::to_string(x.size(d));
            throw std::invalid_argument(
                "vit-small takes " + std::to_string(g * info_.kernel) + "x" + std::to_string(g * info_.kernel) +
                " images: its position embedding is for " + std::to_string(g) + "x" + std::to_string(g) +
                " patches of " + std::to_string(info_.kernel) + "x" + std::to_string(info_.kernel) + " pixels (" +
                std::to_string(info_.out) + " features), but the patch embedding gave " + got +
                " (pad or crop the images to 32x32: data.pad_to)");
        }
        const torch::Tensor patches = x.flatten(2).transpose(1, 2);  // [N, g*g, D]
        const torch::Tensor cls = class_token.to(patches.scalar_type()).expand({x.size(0), 1, -1});
        return at::cat({cls, patches}, 1) + position_embedding;
    }
    void pretty_print(std::ostream& s) const override { s << info_.describe(); }

    torch::Tensor class_token, position_embedding;

  private:
    LayerInfo info_;
};
TORCH_MODULE(Tokens);

// Multi-head self-attention on [N, T, D]: one Linear to queries, keys and values, per head
// softmax(q k^T / sqrt(d)) v, the heads concatenated and projected by a second Linear.
class AttentionImpl : public torch::nn::Module {
  public:
    explicit AttentionImpl(const LayerInfo& info) : info_(info) {
        if (info.heads < 1 || info.out % info.heads != 0)
            throw std::invalid_argument("attention: " + std::to_string(info.heads) + " heads do not divide width " +
                                        std::to_string(info.out));
        qkv = register_module("qkv", torch::nn::Linear(info.out, 3 * info.out));
        proj = register_module("proj", torch::nn::Linear(info.out, info.out));
    }
    torch::Tensor forward(const torch::Tensor& x) {
        TORCH_CHECK(x.dim() == 3 && x.size(2) == info_.out, "Attention expects tokens [N, T, ", info_.out, "], got ",
                    x.sizes());
        const int64_t n = x.size(0), t = x.size(1), d = info_.out, h = info_.heads, hd = d / h;
        const torch::Tensor qkv_heads = qkv->forward(x).view({n, t, 3, h, hd}).permute({2, 0, 3, 1, 4});
        const torch::Tensor q = qkv_heads[0], k = qkv_heads[1], v = qkv_heads[2];  // [N, h, T, hd]
        const torch::Tensor weights = at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(double(hd)), -1);
        const torch::Tensor heads = at::matmul(weights, v).transpose(1, 2).reshape({n, t, d});
        return proj->forward(heads);
    }
    void pretty_print(std::ostream& s) const override { s << info_.describe(); }

    torch::nn::Linear qkv{nullptr}, proj{nullptr};

  private:
    LayerInfo info_;
};
TORCH_MODULE(Attention);

// [N, T, D] -> [N, D]: the class token (position 0), what the head classifies.
class ClassSelectImpl : public torch::nn::Module {
  public:
    torch::Tensor forward(const torch::Tensor& x) {
        TORCH_CHECK(x.dim() == 3, "ClassSelect expects tokens [N, T, D], got ", x.sizes());
        return x.select(1, 0);
    }
    void pretty_print(std::ostream& s) const override { s << "ClassSelect(token=0)"; }
};
TORCH_MODULE(ClassSelect);

}  // namespace normout
