#pragma once
// A sweep specification: a base configuration, the settings to vary (a list of entries and/or a
// grid over dotted keys, the same keys as `--set`), seeds, and the Slurm settings for the cluster
// backend. Read from a JSON file or taken from a built-in sweep (thesis/table-3.1). No torch here.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace normout {

// One setting of a run: a dotted key and its value as JSON text.
struct SweepSetting {
    std::string key;
    std::string value_json;
};

// An entry of the list: a preset to start from (optional), a label used in run names instead of
// the settings (optional), and settings.
struct SweepEntry {
    std::string preset;
    std::string label;
    std::vector<SweepSetting> settings;
};

// One axis of the grid: a key and its values, in file order.
struct SweepAxis {
    std::string key;
    std::vector<std::string> values_json;
};

struct SlurmSettings {
    std::string partition;
    std::string time;                  // --time, e.g. "04:00:00"
    std::string mem;                   // --mem, e.g. "16G"
    int gpus = 0;                      // GPUs per task (--gpus-per-task)
    int cpus = 0;                      // --cpus-per-task (0 = the cluster's default)
    int max_parallel = 0;              // array throttle (%N); 0 = no limit
    std::vector<std::string> options;  // extra sbatch options, e.g. "--qos=normal"
};

// The most runs one sweep may expand to (seeds x list entries x grid points).
constexpr int kMaxSweepRuns = 100000;

struct SweepSpec {
    std::string source;                  // file path or "builtin:NAME", for messages
    std::string base_dir;                // folder relative config files are resolved against
    std::string name;                    // first component of run names (optional)
    std::string preset;                  // base preset (optional)
    std::string config_file;             // base configuration file (optional)
    std::string config_json;             // inline base configuration object (optional)
    std::vector<SweepSetting> settings;  // "set": applied to every run after the base
    std::vector<SweepEntry> list;        // empty = one entry without settings
    std::vector<SweepAxis> grid;
    std::vector<uint64_t> seeds;  // empty = the configuration's own seed
    SlurmSettings slurm;
};

// Reads a spec file, or a built-in sweep when `spec` names one and is not a file. Throws
// ConfigError naming the spec and the field for anything malformed.
SweepSpec load_sweep_spec(const std::string& spec);
SweepSpec parse_sweep_spec(const std::string& json_text, const std::string& source, const std::string& base_dir);

// Built-in sweeps: name and one-line description.
std::vector<std::pair<std::string, std::string>> builtin_sweeps();
// The JSON of a built-in sweep; throws ConfigError when unknown.
std::string builtin_sweep_json(const std::string& name);

}  // namespace normout
