#pragma once
// A sweep expanded into runs: every list entry x grid point x seed, in that order (the grid's
// first key varies slowest), each with a stable, filesystem-safe name and its full configuration.
// The plan is stored as DIR/sweep.json with each configuration in DIR/configs/NAME.json.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/sweep/sweep_spec.h"

namespace normout {

struct SweepRun {
    int index = 0;
    std::string name;                  // "quick__train.lr=0.01__seed0"
    std::vector<SweepSetting> varied;  // what the name shows (preset, list and grid settings)
    uint64_t seed = 0;
    std::string config_json;  // the complete configuration
};

struct SweepPlan {
    std::string source;  // the spec it came from
    std::string name;
    std::vector<std::string> overrides;  // --set key=value applied to every run
    SlurmSettings slurm;
    std::vector<SweepRun> runs;
};

// Expands and validates every run's configuration (ConfigError naming the run and the field).
SweepPlan expand_sweep(const SweepSpec& spec, const std::vector<std::string>& overrides);

// A name part made filesystem-safe: letters, digits and . _ = + , - kept, the rest as '-'.
std::string safe_name_part(const std::string& text);

// Files of a run inside the sweep folder.
std::string run_file_path(const std::string& dir, const SweepRun& run);    // DIR/NAME.h5
std::string run_config_path(const std::string& dir, const SweepRun& run);  // DIR/configs/NAME.json
std::string run_log_path(const std::string& dir, const SweepRun& run);     // DIR/logs/NAME.log
std::string plan_path(const std::string& dir);                             // DIR/sweep.json

// Writes sweep.json and the configuration files. An existing plan in `dir` must agree on every
// run that has the same name (else ConfigError: a folder holds one sweep's results).
void save_sweep_plan(const SweepPlan& plan, const std::string& dir);
// Reads DIR/sweep.json; throws ConfigError naming the file when missing or malformed.
SweepPlan load_sweep_plan(const std::string& dir);

std::string plan_to_json(const SweepPlan& plan);

}  // namespace normout
