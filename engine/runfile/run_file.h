#pragma once
// The run file (HDF5): configuration, code version, status, per-step and per-epoch metrics and
// the final weights of one run. Schema: docs/run-file.md. No torch here, so the lab reads runs
// directly.
//
// Crash tolerance: the file is built under a temporary name with every dataset created up front,
// switched to SWMR (single-writer, multiple-reader) mode and only then renamed into place, so a
// reader never sees a half-made file and a killed writer leaves a readable one. A resumed run
// writes a continuation segment (RUN.resume-N.h5) instead of reopening a crashed file; read_run()
// joins the segments into one run.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/runfile/hdf5_handle.h"
#include "engine/runfile/layer_stats.h"

namespace normout {

constexpr int kRunSchemaVersion = 1;

enum class RunStatus { Running, Finished, Stopped, Interrupted, Diverged, Failed };
std::string to_string(RunStatus status);

struct EpochRecord {
    int epoch = 0;  // 1-based
    double train_loss = 0, train_accuracy = 0;
    double val_loss = 0, val_accuracy = 0;  // NaN without a validation split
    double test_loss = 0, test_accuracy = 0;
    double learning_rate = 0;
    double epoch_seconds = 0;       // training + evaluation of this epoch
    double wall_seconds = 0;        // since the start of the run
    double images_per_second = 0;   // training throughput of this epoch
    double generalisation_gap = 0;  // train_accuracy - test_accuracy (the thesis's "overfitting")
    std::vector<double> extra;      // the run's extra series (RunHeader::epoch_extra), in order
};

struct StepRecord {
    int64_t global_step = 0;  // 1-based
    int epoch = 0;            // 1-based
    double loss = 0;          // of this batch
    double accuracy = 0;      // of this batch
    double learning_rate = 0;
    double wall_seconds = 0;    // since the start of the run
    std::vector<double> extra;  // the run's extra series (RunHeader::step_extra), in order
};

// Name and shape of a tensor of the model state, for creating /weights up front.
struct ArraySpec {
    std::string name;
    std::vector<int64_t> shape;
    bool is_integer = false;
};

struct RunHeader {
    std::string run_id;
    std::string name;
    std::string preset;
    std::string config_json;
    std::string code_version;
    std::string created_utc;
    int64_t start_unix_ms = 0;  // wall_seconds are relative to this
    std::string torch_version;
    std::string hdf5_version;
    std::string device;
    std::string host;
    int64_t pid = 0;
    // segments of a resumed run
    int segment = 0;                 // 0 for the first file, N for RUN.resume-N.h5
    int64_t resumed_from_step = 0;   // global step this segment continues from
    int64_t resumed_epoch_rows = 0;  // epoch rows of earlier segments that stay valid
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
    std::vector<ArraySpec> weights;  // created up front, filled when the run ends
    // Series a run's configuration adds to /metrics/step and /metrics/epoch (penalty terms,
    // robust accuracy, layer schedules; docs/run-file.md). Names: letters, digits and '_'.
    std::vector<std::string> step_extra, epoch_extra;
    // instrumentation (docs/run-file.md, /instrument)
    std::vector<InstrumentedLayer> instrumented;
    int histogram_bins = 64;
    int instrument_every = 1;
    double ewma_alpha = 0.02;
};

// A named array of the model state (parameters and buffers).
struct NamedArray {
    std::string name;
    std::vector<int64_t> shape;
    std::vector<float> values;      // float tensors
    std::vector<int64_t> integers;  // integer tensors (e.g. BatchNorm's num_batches_tracked)
    bool is_integer = false;
};

// Writes one segment. Not thread-safe: one thread (the RunRecorder's) owns it.
class RunWriter {
  public:
    // Creates the file (never over an existing one) and leaves it in SWMR mode, status running.
    RunWriter(const std::string& path, const RunHeader& header);
    ~RunWriter();
    RunWriter(const RunWriter&) = delete;
    RunWriter& operator=(const RunWriter&) = delete;

    void append_epochs(const std::vector<EpochRecord>& records);
    void append_steps(const std::vector<StepRecord>& records);
    void append_layer_steps(const std::vector<LayerStepStats>& rows);
    void append_layer_epochs(const std::vector<LayerEpochSnapshot>& rows);
    void write_weights(const std::vector<NamedArray>& state, int64_t global_step);
    void set_status(RunStatus status, const std::string& message, int64_t global_step);
    void heartbeat();  // records the current time; readers use it to tell a live run from a dead one
    void flush();      // makes everything visible to readers
    void sync();       // flush, then fsync: on the disk, not only in the OS cache
    const std::string& path() const { return path_; }

  private:
    std::string path_;
    H5Handle file_;
    H5Handle epoch_group_, step_group_, weights_group_;
    int fd_ = -1;
    int histogram_bins_ = 0;
    std::vector<std::string> step_extra_, epoch_extra_;
};

struct RunSegment {
    std::string path;
    std::string status;  // as stored
    int64_t resumed_from_step = 0;
    int64_t resumed_epoch_rows = 0;
};

struct RunInfo {
    std::string path;
    int schema_version = 0;
    RunHeader header;           // of the first segment (config, data, model)
    std::string status;         // of the last segment; "interrupted" if its writer is gone
    std::string stored_status;  // as written in the last segment
    std::string status_message;
    int64_t status_step = 0;
    std::string finished_utc;
    int64_t heartbeat_unix_ms = 0;
    std::vector<EpochRecord> epochs;
    std::vector<StepRecord> steps;
    std::string weights_path;  // segment holding the newest weights; empty if none
    int64_t weights_step = -1;
    std::vector<std::string> weight_names;
    std::vector<RunSegment> segments;
    std::vector<InstrumentedLayer> instrumented;
};

// The instrumentation of a run, all segments joined.
struct InstrumentData {
    std::vector<InstrumentedLayer> layers;
    int histogram_bins = 0;
    int every = 1;
    double ewma_alpha = 0;
    std::map<int, std::vector<LayerStepStats>> steps;       // by layer index
    std::map<int, std::vector<LayerEpochSnapshot>> epochs;  // by layer index
};
// `with_epochs` false skips the per-epoch snapshots (per-neuron arrays and histograms).
InstrumentData read_instrumentation(const std::string& path, bool with_epochs = true);

// Opens a run (and its continuation segments) read-only, also while it is being written.
// Throws RunFileError naming the file for anything that is not a readable run of a known
// schema version.
RunInfo read_run(const std::string& path);
std::vector<NamedArray> read_weights(const std::string& path);

// Continuation segment file names: RUN.h5 -> RUN.resume-1.h5, RUN.resume-2.h5, ...
std::string segment_path(const std::string& run_path, int segment);
// True for a continuation segment's name (RUN.resume-N.h5): part of RUN.h5, not a run of its own.
bool is_segment_path(const std::string& path);

// How long a running file's heartbeat may be silent before the run counts as interrupted.
constexpr int64_t kHeartbeatTimeoutMs = 30000;

std::string utc_now_iso8601();
int64_t unix_time_ms();
std::string new_run_id();
std::string host_name();

}  // namespace normout
