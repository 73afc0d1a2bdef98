#pragma once
// The local backend: the sweep's runs as child processes of this machine (`normout train` or
// `normout resume`), one after another or N at a time, skipping finished runs, resuming stopped
// and interrupted ones, retrying a run that dies (killed, out of memory) from its checkpoint.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/session/observer.h"
#include "engine/sweep/sweep_plan.h"

namespace normout {

struct LocalOptions {
    int parallel = 1;
    int retries = 1;                                   // extra attempts (as resumes) for a run whose process died
    std::string executable;                            // the normout binary (self_executable())
    std::string data_root;                             // --data passed to every run
    double progress_seconds = 1;                       // how often the progress callback fires
    const RunControl* cancel = nullptr;         // set by Ctrl-C: runs are stopped (resumable), none started
    std::function<void(const std::string&)> event;     // a line per started, finished, skipped run
    std::function<void(const std::string&)> progress;  // a one-line summary while runs are active
};

struct SweepTally {
    int finished = 0, skipped = 0, diverged = 0, failed = 0, stopped = 0;
};

SweepTally run_local(const SweepPlan& plan, const std::string& dir, const LocalOptions& options);

// "2/4 finished, 1 running: NAME epoch 1/2 (step 13)" for the runs of a sweep folder.
std::string progress_line(const SweepPlan& plan, const std::string& dir, const std::vector<int>& active, int done);

}  // namespace normout
