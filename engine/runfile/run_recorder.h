#pragma once
// Owns a run file on its own thread: the training thread hands over rows and the recorder
// appends them in batches, flushes at least every `flush_seconds` (with a heartbeat, so readers
// can tell a live run from a dead one) and fsyncs at each epoch end. A write failure (disk full,
// I/O error) is kept and reported through error(); the trainer then stops the run.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/runfile/run_file.h"

namespace normout {

class RunRecorder {
  public:
    // Creates the file on the recorder thread; throws RunFileError if it cannot.
    RunRecorder(const std::string& path, const RunHeader& header, double flush_seconds);
    ~RunRecorder();  // finishes as failed if finish() was not called
    RunRecorder(const RunRecorder&) = delete;
    RunRecorder& operator=(const RunRecorder&) = delete;

    void add_step(const StepRecord& row);
    void add_epoch(const EpochRecord& row);  // written, flushed and fsynced promptly
    // Blocks until every epoch row handed over is on disk (or writing failed). A checkpoint
    // written after this never counts epochs that a killed writer's file lacks.
    void wait_for_epochs();
    void add_layer_steps(const std::vector<LayerStepStats>& rows);
    void add_layer_epochs(const std::vector<LayerEpochSnapshot>& rows);
    void set_weights(std::vector<NamedArray> state, int64_t global_step);
    // Writes the final status, closes the file and joins the thread. Returns the first write
    // error, or an empty string.
    std::string finish(RunStatus status, const std::string& message, int64_t global_step);

    std::string error() const;  // first write error so far, empty if none
    const std::string& path() const { return path_; }

  private:
    void loop();

    std::string path_;
    RunHeader header_;
    double flush_seconds_;
    std::thread thread_;
    mutable std::mutex mutex_;
    std::condition_variable cv_;
    std::vector<StepRecord> steps_;
    std::vector<EpochRecord> epochs_;
    std::vector<LayerStepStats> layer_steps_;
    std::vector<LayerEpochSnapshot> layer_epochs_;
    std::unique_ptr<std::vector<NamedArray>> weights_;
    int64_t weights_step_ = -1;
    int64_t epochs_added_ = 0, epochs_synced_ = 0;
    bool finishing_ = false;
    bool finished_ = false;
    bool created_ = false;
    RunStatus final_status_ = RunStatus::Failed;
    std::string final_message_;
    int64_t final_step_ = 0;
    std::string error_;
};

}  // namespace normout
