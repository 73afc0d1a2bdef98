#pragma once
// A layer's notable units in one epoch of its per-unit histograms: dead (only zeros), saturated
// (never zero), undropped (keep probability >= 0.95 throughout) and most changed between two
// epochs (total-variation distance of the normalised histograms). Used by `normout neuron
// --list` and the lab's neuron inspector.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/runfile/layer_stats.h"

namespace normout {

enum class NotableKind { Dead, Saturated, Undropped, Changed };

struct NotableUnit {
    int64_t unit = 0;
    double score = 0;  // values seen (dead, saturated, undropped) or distance (changed)
};

// "dead", "saturated", "undropped", "changed"; nullopt for anything else.
std::optional<NotableKind> parse_notable_kind(const std::string& name);
std::string notable_name(NotableKind kind);
// What the list holds and what its score is, for a heading.
std::string notable_description(NotableKind kind);

// Values a unit produced in the epoch (all slots of its histogram).
double unit_total(const UnitHistograms& h, int64_t unit);
// Total-variation distance between a unit's normalised histograms of two epochs (0 to 1).
double unit_change(const UnitHistograms& before, const UnitHistograms& after, int64_t unit);

// The notable units of `h`, most notable first (changed: the `top` largest distances from
// `before`, which must have the same units and bins). std::invalid_argument when the list cannot
// be made: undropped without keep probabilities, changed without a comparable `before`.
std::vector<NotableUnit> notable_units(const UnitHistograms& h, NotableKind kind,
                                       const UnitHistograms* before = nullptr, int top = 20);

}  // namespace normout
