#pragma once
// Where one run of a sweep stands, read from its run file, and what to do next with it: skip a
// finished (or diverged) run, resume a stopped, interrupted or failed one from its checkpoint,
// train one that has no file (or no checkpoint to resume from).
#include <string>

#include "engine/sweep/sweep_plan.h"

namespace normout {

struct RunState {
    std::string status;   // pending (no file), running, finished, stopped, interrupted, diverged, failed, unreadable
    std::string message;  // the run's status message, or why the file cannot be read
    int epochs_done = 0;
    int epochs_total = 0;
    int64_t steps = 0;
    int segments = 0;
    int checkpoints = 0;
    double test_accuracy = -1;  // of the last epoch; -1 when none
    double train_accuracy = -1;
    double wall_seconds = 0;
    bool config_matches = true;  // the file's configuration is the planned one
};

enum class RunAction { Skip, Train, TrainOver, Resume, Refuse };

struct RunDecision {
    RunAction action = RunAction::Skip;
    std::string reason;
};

RunState run_state(const std::string& dir, const SweepRun& run);
RunDecision decide(const RunState& state);

// True when the state is final for the sweep (nothing more to do).
bool is_done(const std::string& status);

}  // namespace normout
