#pragma once
// One training session (a new run or a continuation segment) as a small class: run() trains the
// remaining epochs; each method does one part of the loop. train/training.cpp prepares the
// Session (data, model, optimiser, header) and hands it over.
#include <ATen/Tensor.h>
#include <torch/optim/optimizer.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/model/device.h"
#include "engine/model/model.h"
#include "engine/runfile/run_file.h"
#include "engine/session/observer.h"
#include "engine/session/training.h"
#include "engine/train/checkpoint.h"
#include "engine/train/instrumentation.h"
#include "engine/train/loader.h"
#include "engine/train/penalties.h"
#include "engine/train/step_ledger.h"

namespace normout {

class RunRecorder;
class TrainingEvaluation;
struct PreparedData;

// Everything one training session needs, for a new run or a resumed one.
struct Session {
    RunConfig config;
    TrainOptions options;
    std::string run_path;  // the first segment: checkpoints are named after it
    DeviceChoice dev;
    int threads = 0;
    std::shared_ptr<const PreparedData> data;
    std::vector<LayerInfo> table;
    Net net{nullptr};
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    std::unique_ptr<Instrumentation> instrument;
    std::unique_ptr<Penalties> penalties;
    RunHeader header;
    TrainingPosition pos;
    std::vector<EpochRecord> epochs;  // recorded so far, earlier segments included
};

class TrainingLoop {
  public:
    TrainingLoop(Session& session, std::string segment, TrainingObserver& observer, const RunControl* control);
    ~TrainingLoop();
    TrainingLoop(const TrainingLoop&) = delete;
    TrainingLoop& operator=(const TrainingLoop&) = delete;

    RunOutcome run();

  private:
    using Clock = std::chrono::steady_clock;

    bool run_epoch(int epoch);    // false when the run ends inside the epoch
    bool should_stop(int epoch);  // a stop request or the step limit
    void step(const Batch& batch);
    bool report(int epoch, bool notify);  // reads the pending steps back; false on divergence
    void drain_layers();
    void end_epoch(int epoch);
    void evaluate_after(int epoch);
    bool checkpoint(const TrainingPosition& position);
    TrainingPosition position_now(int epoch);
    void fail(RunStatus status, std::string message);
    RunOutcome finish();
    double wall() const;
    double epoch_seconds() const;

    Session& s_;
    const RunConfig& c_;
    std::string segment_;
    TrainingObserver& obs_;
    const RunControl* control_;
    torch::Device device_;
    Clock::time_point session_start_, epoch_start_, last_report_, last_epoch_so_far_;
    static constexpr double kEpochSoFarSeconds = 1.0;  // snapshots of the epoch in progress
    double wall_offset_ = 0;

    std::unique_ptr<RunRecorder> recorder_;
    std::unique_ptr<TrainingEvaluation> evaluation_;
    std::unique_ptr<BatchSource> loader_;  // on the GPU when training on CUDA
    std::unique_ptr<EvalBatches> test_set_, val_set_;
    std::vector<at::Tensor> params_;
    int64_t steps_per_epoch_ = 0, total_steps_ = 0;
    RunOutcome outcome_;

    // The epoch in progress. Sums stay on the device; per-step values wait in the ledger until
    // report() reads them back in one transfer.
    double lr_ = 0;
    at::Tensor loss_sum_, correct_;
    int64_t seen_ = 0, step_in_epoch_ = 0;
    StepLedger ledger_;
    std::vector<StepRecord> step_rows_;  // for the observers, sent in batches
    // The epoch's extra series (StepRecord::extra): value * weight and weight per series. The
    // penalties and the objective weigh by batch size, robust accuracy by adversarial examples.
    std::vector<double> extra_sum_, extra_weight_;
};

}  // namespace normout
