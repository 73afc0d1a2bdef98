#pragma once
// Puts every scheduled layer of a model into its state for an epoch (engine/config/schedule.h):
// active or the identity, temperature or p as scheduled.
#include "engine/model/model.h"

namespace normout {

// `epoch` counted from 0. Called by the trainer at the start of each epoch, and by whoever
// rebuilds a trained model (its last epoch's state).
void set_layer_epoch(Net& net, int epoch);

}  // namespace normout
