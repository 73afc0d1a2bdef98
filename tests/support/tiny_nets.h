#pragma once
// Small models built from layer tables, for tests that need exact control of what a layer sees
// (LibTorch: only for the tests that link the engine).
#include <string>
#include <vector>

#include "engine/config/model_spec.h"
#include "engine/model/model.h"

namespace normout::test {

// A table row of the given kind (in and out: features or channels where the kind has them).
inline LayerInfo layer(const std::string& kind, int in = 0, int out = 0) {
    LayerInfo l;
    l.kind = kind;
    l.in = in;
    l.out = out;
    if (kind == "Identity") l.custom.type = "identity";
    return l;
}

// A row placed by surgery, as NormOut, Dropout and watched identities are (so it is instrumented).
inline LayerInfo surgery_layer(const std::string& kind) {
    LayerInfo l = layer(kind);
    l.from_surgery = true;
    return l;
}

// A watched Identity that sees exactly the input: flattened to 2-D, or the 4-D channels.
inline Net identity_net(int channels, bool flatten) {
    std::vector<LayerInfo> table;
    if (flatten) table.push_back(layer("Flatten"));
    table.push_back(surgery_layer("Identity"));
    return build_model(table, std::vector<float>(static_cast<std::size_t>(channels), 0.f),
                       std::vector<float>(static_cast<std::size_t>(channels), 1.f));
}

}  // namespace normout::test
