#pragma once
// The flatness measures together, and how they are kept in a run file: one row per measure in
// the analysis table "flatness", landscape grids as analysis arrays (docs/run-file.md). The
// trainer calls compute_flatness() on its test set at the end (and every config.every_epochs)
// and records the report with flatness_rows()/landscape_arrays() or append_flatness().
#include <c10/core/Device.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/data/image_set.h"
#include "engine/flatness/fisher_rao.h"
#include "engine/flatness/flatness_config.h"
#include "engine/flatness/hessian.h"
#include "engine/flatness/landscape.h"
#include "engine/model/model.h"
#include "engine/runfile/run_analysis.h"

namespace normout {

constexpr const char* kFlatnessTable = "flatness";

// Which weights were measured: epochs completed and the global step of the weights.
struct WeightsPosition {
    int64_t epoch = 0;
    int64_t step = 0;
};

struct FlatnessReport {
    std::optional<FisherRao> fisher_rao;
    std::optional<HessianResult> hessian;
    std::vector<LandscapeGrid> grids;  // landscape slices and interpolations
};

// The measures the configuration asks for (Fisher-Rao, Hessian, landscape slice); the
// interpolation needs a second set of weights, see interpolate().
FlatnessReport compute_flatness(Net& net, const ImageSet& test, const FlatnessConfig& config,
                                const c10::Device& device);

// Rows of the "flatness" table: fisher_rao_empirical, fisher_rao_model, hessian_trace,
// hessian_top_eigenvalue.
std::vector<AnalysisRow> flatness_rows(const FlatnessReport& report, const WeightsPosition& at);
// "flatness_<kind>_loss" and "flatness_<kind>_accuracy" with their axes as attributes.
std::map<std::string, AnalysisArray> landscape_arrays(const LandscapeGrid& grid, const WeightsPosition& at);
// Appends all of the report to a run file that is not being written.
void append_flatness(const std::string& run_path, const FlatnessReport& report, const WeightsPosition& at);

}  // namespace normout
