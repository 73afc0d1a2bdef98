#pragma once
// The /instrument part of a run file (used by run_file.cpp only).
#include <hdf5.h>

#include <string>
#include <vector>

#include "engine/runfile/run_file.h"

namespace normout::instrument_io {

void create(hid_t file, const RunHeader& header);
void append_steps(hid_t file, const std::vector<LayerStepStats>& rows);
void append_epochs(hid_t file, int bins, const std::vector<LayerEpochSnapshot>& rows);
// Layers and settings; steps and epochs when asked.
void read(hid_t file, InstrumentData& out, bool steps, bool epochs);

}  // namespace normout::instrument_io

namespace normout {

// Per-unit histograms of a run (all segments joined, as read_instrumentation joins them). The
// epochs of `layer` that have them; empty for files written before they existed.
std::vector<int> unit_histogram_epochs(const std::string& path, int layer);
// One epoch of one layer; RunFileError when the run has no such layer or epoch.
UnitHistograms read_unit_histograms(const std::string& path, int layer, int epoch);
// One unit over every epoch that has its histograms, oldest first: each entry holds that unit
// alone (units 1, unit(0)); reads only its part of each epoch's table.
std::vector<UnitHistograms> read_unit_history(const std::string& path, int layer, int64_t unit);

}  // namespace normout
