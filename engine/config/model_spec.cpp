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

}  // namespace

std::string LayerInfo::describe() const {
    std::ostringstream s;
    if (kind == "Conv2d") {
        s << "Conv2d(" << in << ", " << out << ", kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))";
    } else if (kind == "BatchNorm2d") {
        s << "BatchNorm2d(" << out << ", eps=1e-05, momentum=0.1, affine=True)";
    } else if (kind == "ReLU") {
        s << "ReLU(inplace=True)";
    } else if (kind == "MaxPool2d") {
        s << "MaxPool2d(kernel_size=2, stride=2)";
    } else if (kind == "AdaptiveAvgPool2d") {
        s << "AdaptiveAvgPool2d(output_size=(7, 7))";
    } else if (kind == "Flatten") {
        s << "Flatten(start_dim=1, end_dim=-1)";
    } else if (kind == "Linear") {
        s << "Linear(in_features=" << in << ", out_features=" << out << ", bias=True)";
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
    } else {
        s << kind << "()";
    }
    return s.str();
}

std::vector<LayerInfo> base_layer_table(const ModelConfig& model, int in_channels, int num_classes) {
    static const int cfg[] = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};
    std::vector<LayerInfo> t;
    int c = in_channels;
    for (int v : cfg) {
        if (v == 0) {
            t.push_back(simple("MaxPool2d"));
            continue;
        }
        const int w = std::max(1, static_cast<int>(std::lround(v * model.width)));
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
    for (std::size_t i = 0; i < t.size(); ++i)
        t[i].base_index = static_cast<int>(i);
    return t;
}

std::vector<LayerInfo> layer_table(const ModelConfig& model, int in_channels, int num_classes) {
    std::vector<LayerInfo> base = base_layer_table(model, in_channels, num_classes);
    const int n = static_cast<int>(base.size());
    std::vector<bool> removed(n, false);
    std::map<int, std::vector<LayerInfo>> inserted;  // before base index (n = append)
    for (const auto& op : model.surgery) {
        for (int i : op.at) {
            if (i < 0 || i > n || (i == n && op.op != "insert")) continue;  // validate() reports these
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
