#pragma once
// Schedules of the layers placed by surgery (thesis 4.3: NormOut only for some epochs, a
// temperature that anneals): whether a layer acts in an epoch and the value of its scheduled
// quantity there. No torch: the trainer, the run file's columns and the lab share these.
#include <string>

#include "engine/config/config.h"

namespace normout {

// Whether the layer acts in `epoch` (counted from 0): active_from <= epoch < active_until, with
// active_until 0 meaning to the end. Outside, the layer is the identity.
bool layer_active(const LayerSpec& spec, int epoch);

// The quantity a schedule moves: "temperature" (NormOut softmax variants), "p" (Dropout) or ""
// (nothing to schedule: the max variants, the identity).
std::string scheduled_quantity(const LayerSpec& spec);

// The temperature or p in `epoch`: its start value up to schedule_from, schedule_to from
// schedule_until on, and in between f = (epoch - from) / (until - from) of the way, linearly or
// along half a cosine (v1 + (v0 - v1) (1 + cos(pi f)) / 2). NaN without a scheduled quantity.
double scheduled_value(const LayerSpec& spec, int epoch);

// The layer as it acts in `epoch`: its temperature or p set to the scheduled value.
LayerSpec layer_at_epoch(const LayerSpec& spec, int epoch);

// Whether the layer's behaviour changes with the epoch at all.
bool has_schedule(const LayerSpec& spec);

}  // namespace normout

#include <vector>

#include "engine/config/model_spec.h"

namespace normout {

// The per-epoch columns of a run's schedules: for every NormOut or Dropout layer placed by
// surgery, "layer<L>_active" and, where it has one, "layer<L>_temperature" or "layer<L>_p".
struct ScheduleColumn {
    std::string name;
    int layer = 0;         // index in the final table
    std::string quantity;  // "active", "temperature" or "p"
};
std::vector<ScheduleColumn> schedule_columns(const std::vector<LayerInfo>& table);
// Their values in `epoch` (from 0), in the order of schedule_columns().
std::vector<double> schedule_values(const std::vector<LayerInfo>& table, int epoch);

}  // namespace normout
