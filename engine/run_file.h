#pragma once
// The run file (HDF5): configuration, code version, per-epoch metrics and final weights of one
// run. Schema: docs/run-file.md. No torch here, so the lab can read runs directly.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/hdf5_handle.h"

namespace normout {

constexpr int kRunSchemaVersion = 1;

enum class RunStatus { Running, Finished, Stopped, Diverged, Failed };
std::string to_string(RunStatus status);

struct EpochRecord {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;  // NaN without a validation split
    double test_loss = 0, test_accuracy = 0;
    double learning_rate = 0;
    double epoch_seconds = 0;      // training + evaluation of this epoch
    double wall_seconds = 0;       // since the start of the run
    double images_per_second = 0;  // training throughput of this epoch
};

struct RunHeader {
    std::string run_id;
    std::string name;
    std::string preset;
    std::string config_json;
    std::string code_version;
    std::string created_utc;
    std::string torch_version;
    std::string hdf5_version;
    std::string device;
    // data
    std::string dataset;
    std::string data_source;
    std::vector<std::string> class_names;
    std::vector<float> mean, stddev;
    int64_t train_count = 0, val_count = 0, test_count = 0;
    int channels = 0, height = 0, width = 0;
    // model
    std::vector<std::string> layer_kinds;
    std::vector<std::string> layer_descriptions;
    int64_t parameter_count = 0;
};

// A named array of the model state (parameters and buffers).
struct NamedArray {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;     // float tensors
    std::vector<int64_t> integers;  // integer tensors (e.g. BatchNorm's num_batches_tracked)
    bool is_integer = false;
};

class RunWriter {
public:
    // Creates (truncates) the file and writes the header; status "running".
    RunWriter(const std::string& path, const RunHeader& header);
    ~RunWriter();
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;

    void append_epoch(const EpochRecord& record);
    void write_weights(const std::vector<NamedArray>& state);
    void set_status(RunStatus status, const std::string& message = "");
    void flush();
    const std::string& path() const { return path_; }

private:
    std::string path_;
    H5Handle file_;
};

struct RunInfo {
    std::string path;
    int schema_version = 0;
    RunHeader header;
    std::string status;
    std::string status_message;
    std::string finished_utc;
    std::vector<EpochRecord> epochs;
    std::vector<std::string> weight_names;  // empty if the run wrote no weights
};

// Opens any run file read-only. Throws RunFileError naming the file for anything that is not a
// readable run of a known schema version.
RunInfo read_run(const std::string& path);
std::vector<NamedArray> read_weights(const std::string& path);

std::string utc_now_iso8601();
std::string new_run_id();

}  // namespace normout
