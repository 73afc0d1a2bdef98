#pragma once
// What the training engine reports while it runs, as plain values. The command line prints
// these; the lab converts them to queued Qt signals. Callbacks run on the training thread and
// must return quickly.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <vector>

#include "engine/config/model_spec.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"

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
    // Names of StepRecord::extra and EpochRecord::extra (RunHeader::step_extra, epoch_extra).
    std::vector<std::string> step_extra, epoch_extra;
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
    // The per-step rows (loss, accuracy of each batch) since the last call, a few times a second.
    virtual void on_steps(const std::vector<StepRecord>&) {}
    virtual void on_epoch(const EpochRecord&) {}
    // Layer statistics, in batches (a few calls a second, never one per unit or sample).
    virtual void on_layer_stats(const std::vector<LayerStepStats>&) {}
    virtual void on_layer_epoch(const std::vector<LayerEpochSnapshot>&) {}
    // The epoch in progress: what each instrumented layer has accumulated so far (per-unit
    // histograms included), about once a second, to observers that ask for it (the lab's
    // inspector follows a training epoch with these; the command line does not pay for them).
    virtual bool wants_epoch_so_far() const { return false; }
    virtual void on_layer_epoch_so_far(const std::vector<LayerEpochSnapshot>&) {}
    virtual void on_run_finished(const RunOutcome&) {}
    virtual void on_message(const std::string&) {}
    // A problem the user must see even when messages are silenced (results that could not be
    // stored, say); by default a message.
    virtual void on_error(const std::string& text) { on_message(text); }
    // Analysis rows measured during training (tables "attacks", "masking", "flatness"), as they
    // will be stored in the run file once the run's writer has finished.
    virtual void on_analysis(const std::string& /*table*/, const std::vector<AnalysisRow>& /*rows*/) {}
    virtual void on_paused(bool /*paused*/) {}
};

// Stop and pause requests from any thread (a Stop button, a signal handler); the engine checks
// them before every batch. cancel() is used by a signal handler: only the flag matters there.
class RunControl {
  public:
    void cancel() { flag_.store(true); }  // async-signal-safe: no lock, no notification
    bool cancelled() const { return flag_.load(); }
    void reset() {
        flag_.store(false);
        set_paused(false);
    }
    void set_paused(bool paused) {
        std::lock_guard<std::mutex> lock(mutex_);
        pause_.store(paused);
        cv_.notify_all();
    }
    bool paused() const { return pause_.load(); }
    // Blocks while paused (returns at once when not); a cancel ends the wait within 100 ms.
    void wait_while_paused() const {
        std::unique_lock<std::mutex> lock(mutex_);
        while (pause_.load() && !flag_.load())
            cv_.wait_for(lock, std::chrono::milliseconds(100));
    }

  private:
    std::atomic<bool> flag_{false};
    std::atomic<bool> pause_{false};
    mutable std::mutex mutex_;
    mutable std::condition_variable cv_;
};

}  // namespace normout
