#pragma once
// What the training engine reports while it runs, as plain values. The command line prints
// these; the lab converts them to queued Qt signals. Callbacks run on the training thread and
// must return quickly.
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/model_spec.h"
#include "engine/run_file.h"

namespace normout {

struct RunStartInfo {
    std::string run_id;
    std::string out_path;
    std::string device;
    int threads = 0;
    int epochs = 0;
    int64_t steps_per_epoch = 0;
    int64_t train_count = 0, val_count = 0, test_count = 0;
    std::string data_source;
    std::vector<LayerInfo> layers;
    int64_t parameter_count = 0;
    std::vector<InstrumentedLayer> instrumented;
    int64_t first_step = 0;  // > 0 when a run resumes
};

struct StepProgress {
    int epoch = 0;  // 1-based
    int epochs = 0;
    int64_t step = 0;  // within the epoch, 1-based
    int64_t steps_per_epoch = 0;
    int64_t global_step = 0;
    int64_t total_steps = 0;
    double loss = 0;      // running mean over the epoch so far
    double accuracy = 0;  // running, fraction
    double images_per_second = 0;
    double elapsed_seconds = 0;
    double eta_seconds = 0;
};

struct RunOutcome {
    RunStatus status = RunStatus::Finished;
    std::string message;
    std::string out_path;
    std::vector<EpochRecord> epochs;
    double wall_seconds = 0;
    int64_t steps = 0;
};

class TrainingObserver {
  public:
    virtual ~TrainingObserver() = default;
    virtual void on_run_started(const RunStartInfo&) {}
    virtual void on_step(const StepProgress&) {}
    virtual void on_epoch(const EpochRecord&) {}
    // Layer statistics, in batches (a few calls a second, never one per unit or sample).
    virtual void on_layer_stats(const std::vector<LayerStepStats>&) {}
    virtual void on_layer_epoch(const std::vector<LayerEpochSnapshot>&) {}
    virtual void on_run_finished(const RunOutcome&) {}
    virtual void on_message(const std::string&) {}
};

// Set from any thread (a Stop button, a signal handler); the engine stops before the next batch.
class CancelToken {
  public:
    void cancel() { flag_.store(true); }
    bool cancelled() const { return flag_.load(); }
    void reset() { flag_.store(false); }

  private:
    std::atomic<bool> flag_{false};
};

}  // namespace normout
