#include "engine/model/layer_epoch.h"

#include "engine/model/layers.h"

namespace normout {

void set_layer_epoch(Net& net, int epoch) {
    const auto& table = net->table();
    for (std::size_t i = 0; i < table.size(); ++i) {
        if (table[i].kind == "NormOut") net->module(i).ptr<NormOutImpl>()->set_epoch(epoch);
        if (table[i].kind == "Dropout") net->module(i).ptr<DropoutLayerImpl>()->set_epoch(epoch);
    }
}

}  // namespace normout
