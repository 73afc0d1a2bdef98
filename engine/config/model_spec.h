#pragma once
// The model as a table of indexed layers, without torch: what `normout layers` prints, what
// surgery edits and what the lab shows. build_model() (model.h) turns it into modules.
#include <string>
#include <vector>

#include "engine/config/config.h"

namespace normout {

struct LayerInfo {
    std::string kind;     // Conv2d BatchNorm2d ReLU MaxPool2d AdaptiveAvgPool2d Flatten Linear
                          // Dropout NormOut Identity; residual markers Fork Add (ResNet, ViT);
                          // ViT: Tokens LayerNorm Attention GELU ClassSelect
    int in = 0;           // channels or features in (Add: channels of the saved input)
    int out = 0;          // channels or features out
    LayerSpec custom;     // for Dropout / NormOut / Identity
    int base_index = -1;  // index in the base table, -1 for an inserted layer
    bool from_surgery = false;
    // The defaults are VGG's, so tables written without these fields keep their meaning.
    int kernel = 3;       // Conv2d: square kernel side; Tokens: patch side
    int stride = 1;       // Conv2d; Add: stride of its projection shortcut
    int padding = 1;      // Conv2d
    bool bias = true;     // Conv2d, Linear
    bool inplace = true;  // ReLU: VGG's works in place; ResNet's not (a Fork may hold its input)
    int output_size = 7;  // AdaptiveAvgPool2d: output side
    int heads = 1;        // Attention
    int grid = 0;         // Tokens: patches per side (the position embedding has grid^2 + 1 rows)

    std::string describe() const;  // "Linear(in_features=25088, out_features=4096, bias=True)"
    // Add: whether its shortcut is a 1x1 convolution + BatchNorm (else the identity).
    bool projects() const { return kind == "Add" && (in != out || stride != 1); }
};

// The base table of model.arch:
// * vgg16_bn: torchvision's layout, 44 feature layers, avgpool (44), flatten (45) and the
//   classifier 46..52, with Dropout(0.5) at 48 and 51 as in the thesis's listing;
// * resnet18: the CIFAR form, 70 entries, each residual block as Fork .. Add (see
//   docs/architectures.md);
// * vit-small: patch embedding, tokens, vit_depth blocks of two Fork .. Add residuals, final
//   LayerNorm, class-token select and head (2 + 10 vit_depth + 3 entries).
std::vector<LayerInfo> base_layer_table(const ModelConfig& model, int in_channels, int num_classes);

// The base table after the configuration's surgery (all ops refer to base indices). Throws
// ConfigError ("model.surgery[i].at") when an op replaces or removes a residual marker (Fork,
// Add): the residual structure is not editable, insertions around the markers are.
std::vector<LayerInfo> layer_table(const ModelConfig& model, int in_channels, int num_classes);

// Indices (in the final table) of the layers placed by surgery.
std::vector<int> custom_layer_indices(const std::vector<LayerInfo>& table);

}  // namespace normout
