#pragma once
// Training a configured run: data, model, optimiser, per-epoch evaluation, the run file and
// checkpoints; and resuming an interrupted or stopped run from its newest checkpoint.
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/session/observer.h"

namespace normout {

struct PreparedData;

struct TrainOptions {
    std::string out_path;                      // run file; parent folders are created
    bool overwrite = false;                    // refuse to replace an existing file unless set
    std::vector<std::string> data_roots;       // see data_roots()
    std::shared_ptr<const PreparedData> data;  // use these sets instead of reading from disk
    double progress_interval_seconds = 0.25;   // how often on_step fires
    int64_t max_steps = 0;                     // stop (with a checkpoint) at this global step (0 = no limit)
};

// Validates the configuration and reads the data (throwing ConfigError/DataError before anything
// is written), then trains. Failures after the run file exists are recorded in it and returned
// as status Failed; the outcome's message says why.
RunOutcome train(const RunConfig& config, const TrainOptions& options, TrainingObserver* observer = nullptr,
                 const RunControl* cancel = nullptr);

// Continues the run in `run_path` (stopped, interrupted or failed) from its newest valid
// checkpoint, writing a continuation segment (RUN.resume-N.h5) that readers join to the run.
// options.out_path is ignored. Throws std::runtime_error when the run cannot be resumed.
RunOutcome resume(const std::string& run_path, const TrainOptions& options, TrainingObserver* observer = nullptr,
                  const RunControl* cancel = nullptr);

// Learning rate of an epoch (0-based) under the configured schedule.
double learning_rate_at(const TrainConfig& train, int epoch);

}  // namespace normout
