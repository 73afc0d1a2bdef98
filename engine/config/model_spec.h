#pragma once
// The model as a table of indexed layers, without torch: what `normout layers` prints, what
// surgery edits and what the lab shows. build_model() (model.h) turns it into modules.
#include <string>
#include <vector>

#include "engine/config/config.h"

namespace normout {

struct LayerInfo {
    std::string kind;     // Conv2d BatchNorm2d ReLU MaxPool2d AdaptiveAvgPool2d Flatten Linear
                          // Dropout NormOut Identity
    int in = 0;           // channels or features in
    int out = 0;          // channels or features out
    LayerSpec custom;     // for Dropout / NormOut / Identity
    int base_index = -1;  // index in the base table, -1 for an inserted layer
    bool from_surgery = false;

    std::string describe() const;  // "Linear(in_features=25088, out_features=4096, bias=True)"
};

// VGG-16-BN in the torchvision layout: 44 feature layers, avgpool (44), flatten (45) and the
// classifier 46..52, with Dropout(0.5) at 48 and 51 as in the thesis's listing.
std::vector<LayerInfo> base_layer_table(const ModelConfig& model, int in_channels, int num_classes);

// The base table after the configuration's surgery (all ops refer to base indices).
std::vector<LayerInfo> layer_table(const ModelConfig& model, int in_channels, int num_classes);

// Indices (in the final table) of the layers placed by surgery.
std::vector<int> custom_layer_indices(const std::vector<LayerInfo>& table);

}  // namespace normout
