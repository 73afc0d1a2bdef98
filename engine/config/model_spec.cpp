#include "engine/config/model_spec.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace normout {

namespace {

std::string format_number(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

LayerInfo simple(const char* kind, int in = 0, int out = 0) {
    LayerInfo l;
    l.kind = kind;
    l.in = in;
    l.out = out;
    return l;
}

LayerInfo from_spec(const LayerSpec& spec) {
    LayerInfo l;
    l.kind = spec.type == "dropout" ? "Dropout" : spec.type == "normout" ? "NormOut" : "Identity";
    l.custom = spec;
    l.from_surgery = true;
    return l;
}

// PyTorch's printing of a Conv2d (padding only when not zero, bias only when absent).
std::string conv_text(int in, int out, int kernel, int stride, int padding, bool bias) {
    std::ostringstream s;
    s << "Conv2d(" << in << ", " << out << ", kernel_size=(" << kernel << ", " << kernel << "), stride=(" << stride
      << ", " << stride << ")";
    if (padding != 0) s << ", padding=(" << padding << ", " << padding << ")";
    if (!bias) s << ", bias=False";
    s << ")";
    return s.str();
}

}  // namespace

std::string LayerInfo::describe() const {
    std::ostringstream s;
    if (kind == "Conv2d") {
        s << conv_text(in, out, kernel, stride, padding, bias);
    } else if (kind == "BatchNorm2d") {
        s << "BatchNorm2d(" << out << ", eps=1e-05, momentum=0.1, affine=True)";
    } else if (kind == "ReLU") {
        s << (inplace ? "ReLU(inplace=True)" : "ReLU()");
    } else if (kind == "MaxPool2d") {
        s << "MaxPool2d(kernel_size=2, stride=2)";
    } else if (kind == "AdaptiveAvgPool2d") {
        s << "AdaptiveAvgPool2d(output_size=(" << output_size << ", " << output_size << "))";
    } else if (kind == "Flatten") {
        s << "Flatten(start_dim=1, end_dim=-1)";
    } else if (kind == "Linear") {
        s << "Linear(in_features=" << in << ", out_features=" << out << ", bias=" << (bias ? "True" : "False") << ")";
    } else if (kind == "Dropout") {
        s << "Dropout(p=" << format_number(custom.p) << ")";
    } else if (kind == "NormOut") {
        s << "NormOut(" << custom.variant;
        if (custom.variant.find("softmax") != std::string::npos) s << ", T=" << format_number(custom.temperature);
        if (!custom.use_abs) s << ", use_abs=False";
        if (custom.map_4d != "channel") s << ", map_4d=" << custom.map_4d;
        if (custom.rescale) s << ", rescale=True";
        if (custom.at_inference) s << ", at_inference=True";
        s << ")";
    } else if (kind == "Fork") {
        s << "Fork(saves its input for the next Add)";
    } else if (kind == "Add") {
        s << "Add(shortcut=";
        if (projects())
            s << conv_text(in, out, 1, stride, 0, false) << " + BatchNorm2d(" << out << ")";
        else
            s << "identity";
        s << ")";
    } else if (kind == "Tokens") {
        s << "Tokens(patches=" << grid << "x" << grid << " of " << kernel << "x" << kernel << ", dim=" << out
          << ", class_token=True, position_embedding=(" << grid * grid + 1 << ", " << out << "))";
    } else if (kind == "LayerNorm") {
        s << "LayerNorm((" << out << ",), eps=1e-05, elementwise_affine=True)";
    } else if (kind == "Attention") {
        s << "Attention(dim=" << out << ", heads=" << heads << ", head_dim=" << out / std::max(1, heads)
          << ", qkv=Linear(" << out << ", " << 3 * out << "), proj=Linear(" << out << ", " << out << "))";
    } else if (kind == "GELU") {
        s << "GELU(approximate='none')";
    } else if (kind == "ClassSelect") {
        s << "ClassSelect(token=0)";
    } else {
        s << kind << "()";
    }
    return s.str();
}

namespace {

int scaled(int channels, double width) {
    return std::max(1, static_cast<int>(std::lround(channels * width)));
}

LayerInfo conv(int in, int out, int kernel, int stride, int padding, bool bias) {
    LayerInfo l = simple("Conv2d", in, out);
    l.kernel = kernel;
    l.stride = stride;
    l.padding = padding;
    l.bias = bias;
    return l;
}

LayerInfo relu_out_of_place() {
    LayerInfo l = simple("ReLU");
    l.inplace = false;
    return l;
}

// ResNet-18 for 32x32 images (He et al. 2016, the CIFAR variant): 3x3 stem, no max-pool, four
// stages of two BasicBlocks. A block is Fork, conv-BN-ReLU-conv-BN, Add(shortcut), ReLU.
std::vector<LayerInfo> resnet18_table(const ModelConfig& model, int in_channels, int num_classes) {
    std::vector<LayerInfo> t;
    int c = scaled(64, model.width);
    t.push_back(conv(in_channels, c, 3, 1, 1, false));
    t.push_back(simple("BatchNorm2d", c, c));
    t.push_back(relu_out_of_place());
    for (int stage = 0; stage < 4; ++stage) {
        const int w = scaled(64 << stage, model.width);
        for (int block = 0; block < 2; ++block) {
            const int stride = stage > 0 && block == 0 ? 2 : 1;
            t.push_back(simple("Fork", c, c));
            t.push_back(conv(c, w, 3, stride, 1, false));
            t.push_back(simple("BatchNorm2d", w, w));
            t.push_back(relu_out_of_place());
            t.push_back(conv(w, w, 3, 1, 1, false));
            t.push_back(simple("BatchNorm2d", w, w));
            LayerInfo add = simple("Add", c, w);
            add.stride = stride;
            t.push_back(add);
            t.push_back(relu_out_of_place());
            c = w;
        }
    }
    LayerInfo pool = simple("AdaptiveAvgPool2d");
    pool.output_size = 1;
    t.push_back(pool);
    t.push_back(simple("Flatten"));
    t.push_back(simple("Linear", c, num_classes));
    return t;
}

// A Vision Transformer for 32x32 images (Dosovitskiy et al. 2021) with pre-norm blocks: each
// block is two residuals, Fork LayerNorm Attention Add and Fork LayerNorm Linear GELU Linear Add.
std::vector<LayerInfo> vit_table(const ModelConfig& model, int in_channels, int num_classes) {
    const int d = std::max(1, model.vit_dim), patch = std::max(1, model.vit_patch);
    std::vector<LayerInfo> t;
    t.push_back(conv(in_channels, d, patch, patch, 0, true));
    LayerInfo tokens = simple("Tokens", d, d);
    tokens.kernel = patch;
    tokens.grid = std::max(1, 32 / patch);
    t.push_back(tokens);
    LayerInfo attention = simple("Attention", d, d);
    attention.heads = std::max(1, model.vit_heads);
    for (int b = 0; b < model.vit_depth; ++b) {
        t.push_back(simple("Fork", d, d));
        t.push_back(simple("LayerNorm", d, d));
        t.push_back(attention);
        t.push_back(simple("Add", d, d));
        t.push_back(simple("Fork", d, d));
        t.push_back(simple("LayerNorm", d, d));
        t.push_back(simple("Linear", d, model.vit_mlp));
        t.push_back(simple("GELU"));
        t.push_back(simple("Linear", model.vit_mlp, d));
        t.push_back(simple("Add", d, d));
    }
    t.push_back(simple("LayerNorm", d, d));
    t.push_back(simple("ClassSelect", d, d));
    t.push_back(simple("Linear", d, num_classes));
    return t;
}

std::vector<LayerInfo> vgg16_bn_table(const ModelConfig& model, int in_channels, int num_classes) {
    static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
    std::vector<LayerInfo> t;
    int c = in_channels;
    for (int v : cfg) {
        if (v == 0) {
            t.push_back(simple("MaxPool2d"));
            continue;
        }
        const int w = scaled(v, model.width);
        t.push_back(simple("Conv2d", c, w));
        t.push_back(simple("BatchNorm2d", w, w));
        t.push_back(simple("ReLU"));
        c = w;
    }
    t.push_back(simple("AdaptiveAvgPool2d"));
    t.push_back(simple("Flatten"));
    const int h = model.hidden;
    t.push_back(simple("Linear", c * 49, h));
    t.push_back(simple("ReLU"));
    LayerSpec dropout;
    dropout.type = "dropout";
    dropout.p = 0.5;
    LayerInfo d = simple("Dropout");
    d.custom = dropout;
    t.push_back(d);
    t.push_back(simple("Linear", h, h));
    t.push_back(simple("ReLU"));
    t.push_back(d);
    t.push_back(simple("Linear", h, num_classes));
    return t;
}

}  // namespace

std::vector<LayerInfo> base_layer_table(const ModelConfig& model, int in_channels, int num_classes) {
    std::vector<LayerInfo> t = model.arch == "resnet18"    ? resnet18_table(model, in_channels, num_classes)
                               : model.arch == "vit-small" ? vit_table(model, in_channels, num_classes)
                                                           : vgg16_bn_table(model, in_channels, num_classes);
    for (std::size_t i = 0; i < t.size(); ++i)
        t[i].base_index = static_cast<int>(i);
    return t;
}

std::vector<LayerInfo> layer_table(const ModelConfig& model, int in_channels, int num_classes) {
    std::vector<LayerInfo> base = base_layer_table(model, in_channels, num_classes);
    const int n = static_cast<int>(base.size());
    std::vector<bool> removed(n, false);
    std::map<int, std::vector<LayerInfo>> inserted;  // before base index (n = append)
    for (std::size_t k = 0; k < model.surgery.size(); ++k) {
        const auto& op = model.surgery[k];
        for (int i : op.at) {
            if (i < 0 || i > n || (i == n && op.op != "insert")) continue;  // validate() reports these
            const std::string& kind = base[static_cast<std::size_t>(i)].kind;
            if (op.op != "insert" && (kind == "Fork" || kind == "Add"))
                throw ConfigError("model.surgery[" + std::to_string(k) + "].at",
                                  "index " + std::to_string(i) + " is a residual " + kind + " of " + model.arch +
                                      ": it cannot be replaced or removed (insert before it instead; see `normout "
                                      "layers --set model.arch=" +
                                      model.arch + "`)");
            if (op.op == "replace") {
                LayerInfo l = from_spec(op.layer);
                l.base_index = i;
                base[i] = l;
            } else if (op.op == "remove") {
                removed[i] = true;
            } else if (op.op == "insert") {
                inserted[i].push_back(from_spec(op.layer));
            }
        }
    }
    std::vector<LayerInfo> out;
    for (int i = 0; i <= n; ++i) {
        if (auto it = inserted.find(i); it != inserted.end())
            out.insert(out.end(), it->second.begin(), it->second.end());
        if (i < n && !removed[i]) out.push_back(base[i]);
    }
    return out;
}

std::vector<int> custom_layer_indices(const std::vector<LayerInfo>& table) {
    std::vector<int> idx;
    for (std::size_t i = 0; i < table.size(); ++i)
        if (table[i].from_surgery) idx.push_back(static_cast<int>(i));
    return idx;
}

}  // namespace normout
