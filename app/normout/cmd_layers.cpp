// `normout layers`: the indexed layer table after surgery, with output shapes.
#include <fmt/format.h>

#include <algorithm>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "config_args.h"
#include "engine/config/model_spec.h"
#include "engine/data/locate.h"
#include "engine/data/prepare.h"
#include "engine/model/model.h"

namespace normout::cli {

namespace {

using nlohmann::json;

// Channels, classes and input side of the configured data set, reading it only when needed.
struct DataShape {
    int channels = 3, classes = 10, side = 32;
};
DataShape data_shape(const RunConfig& c, const std::string& data_root) {
    if (c.data.dataset == "cifar10") return {3, 10, std::max(32, c.data.pad_to)};
    if (c.data.dataset == "fashion-mnist") return {1, 10, std::max(28, c.data.pad_to)};
    const DataSplit split = read_dataset(c.data, data_roots(data_root));
    return {split.train.channels, static_cast<int>(split.class_names.size()),
            std::max({split.train.height, split.train.width, c.data.pad_to})};
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out;
    for (std::size_t i = 1; i < s.size(); ++i)
        out += (i > 1 ? "x" : "") + std::to_string(s[i]);
    return out;
}

int run_layers(const ConfigArgs& a, bool as_json) {
    const RunConfig c = resolve_config(a);
    const DataShape shape = data_shape(c, a.data_root);
    const auto base = base_layer_table(c.model, shape.channels, shape.classes);
    const auto table = layer_table(c.model, shape.channels, shape.classes);
    Net net = build_model(table, std::vector<float>(shape.channels, 0.f), std::vector<float>(shape.channels, 1.f),
                          c.model.fast_classifier, c.model.init);
    const auto shapes = layer_output_shapes(net, {shape.channels, shape.side, shape.side});
    if (as_json) {
        json out = json::array();
        for (std::size_t i = 0; i < table.size(); ++i)
            out.push_back({{"index", i},
                           {"base_index", table[i].base_index},
                           {"kind", table[i].kind},
                           {"layer", table[i].describe()},
                           {"custom", table[i].from_surgery},
                           {"output_shape", shapes[i]}});
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    const std::string inputs = fmt::format("{} input channel{}, {} classes, {}x{} input", shape.channels,
                                           shape.channels == 1 ? "" : "s", shape.classes, shape.side, shape.side);
    const auto& m = c.model;
    if (m.arch == "resnet18")
        fmt::print("ResNet-18, CIFAR form ({}, width {}); {} parameters\n", inputs, m.width, parameter_count(net));
    else if (m.arch == "vit-small")
        fmt::print("ViT ({}, {}x{} patches, dim {}, {} blocks, {} heads, MLP {}); {} parameters\n", inputs, m.vit_patch,
                   m.vit_patch, m.vit_dim, m.vit_depth, m.vit_heads, m.vit_mlp, parameter_count(net));
    else
        fmt::print("VGG-16-BN ({}, width {}, classifier {}); {} parameters\n", inputs, m.width, m.hidden,
                   parameter_count(net));
    if (m.arch != "vgg16_bn")
        fmt::print(
            "Residuals: a Fork saves its input, the next Add adds its shortcut of it (docs/architectures.md).\n");
    if (!c.model.surgery.empty())
        fmt::print("Surgery applied; 'base' is the index in the unmodified table that surgery refers to.\n");
    std::size_t width = 64;  // the layer column: VGG's longest text, wider for a shortcut's
    for (const auto& l : table)
        width = std::max(width, l.describe().size());
    fmt::print("{:>5}  {:>5}  {:<17}  {:<{}}  {}\n", "index", "base", "kind", "layer", width, "output");
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& l = table[i];
        const std::string base_text = l.base_index < 0 ? "new" : std::to_string(l.base_index);
        fmt::print("{:>5}  {:>5}  {:<17}  {:<{}}  {}{}\n", i, base_text, l.kind, l.describe(), width,
                   shape_text(shapes[i]), l.from_surgery ? "  *" : "");
    }
    if (base.size() != table.size()) fmt::print("({} layers; the base table has {})\n", table.size(), base.size());
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<ConfigArgs>();
    auto json_out = std::make_shared<bool>(false);
    auto* cmd = app.add_subcommand("layers", "Print the indexed layer table (for layer surgery)");
    add_config_options(cmd, *a);
    cmd->add_flag("--json", *json_out, "Machine-readable output");
    out.push_back({cmd, [a, json_out] { return run_layers(*a, *json_out); }});
}
}  // namespace

const CommandRegistration registration{30, add_commands};

}  // namespace normout::cli
