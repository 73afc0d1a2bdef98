#pragma once
// Robustness and flatness measured while a run trains (config group "evaluate"): after the
// epochs that are due, the attack suite and the flatness measures run on the fixed seeded test
// subset, their rows go out through the observer at once, and they are stored in the run's
// analysis file (RUN.analysis.hdf5, engine/runfile/run_analysis.h) when training ends. A run
// killed before that loses them; `normout attack` / `normout flatness` recompute them from its
// weights.
#include <c10/core/Device.h>

#include <functional>
#include <memory>
#include <string>

#include "engine/config/config.h"
#include "engine/data/image_set.h"
#include "engine/model/model.h"
#include "engine/session/observer.h"

namespace normout {

class TrainingEvaluation {
  public:
    explicit TrainingEvaluation(const EvaluateConfig& config);
    ~TrainingEvaluation();
    TrainingEvaluation(const TrainingEvaluation&) = delete;
    TrainingEvaluation& operator=(const TrainingEvaluation&) = delete;

    bool attacks_due(int epoch, int epochs) const;
    bool flatness_due(int epoch, int epochs) const;

    // Runs what is due after `epoch` (1-based) of `epochs` with the weights of global step `step`.
    // The net's mode, parameters and the default generator are left as they were.
    void after_epoch(Net& net, const ImageSet& test, int epoch, int epochs, int64_t step, const c10::Device& device,
                     TrainingObserver& observer, const std::function<bool()>& cancelled);

    // Appends everything measured to the finished run; returns "" or what went wrong.
    std::string store(const std::string& run_path);

  private:
    struct Pending;
    EvaluateConfig config_;
    std::unique_ptr<Pending> pending_;
};

}  // namespace normout
