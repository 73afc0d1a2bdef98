#pragma once
// The Slurm backend: one sbatch job array (one task per run, each `normout sweep-task DIR INDEX`,
// which trains or resumes its run), submitted with sbatch and followed with squeue; tasks whose
// run did not finish (failed, pre-empted, out of time) are submitted again and resume from their
// newest checkpoint. The run files themselves are the record of what is done, so no Slurm
// accounting database is needed. No torch here.
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "engine/session/observer.h"
#include "engine/sweep/local_backend.h"
#include "engine/sweep/sweep_plan.h"

namespace normout {

struct SlurmJob {
    std::string executable;  // normout, on a path the compute nodes see
    std::string dir;         // the sweep folder (absolute; shared with the compute nodes)
    std::string data_root;   // --data for every task
    std::vector<int> indices;
};

// The job-array script for the given runs.
std::string slurm_script(const SweepPlan& plan, const SlurmJob& job);
// "0-3,5,7-9": indices as an sbatch --array list.
std::string array_ranges(const std::vector<int>& indices);

// Writes DIR/slurm/sweep-<n>.sbatch and submits it; returns the job id. Throws std::runtime_error
// with sbatch's message when the submission fails.
std::string submit_slurm(const SweepPlan& plan, const SlurmJob& job);

// Array task indices of a job still queued or running (pending and running separately).
struct QueueState {
    bool known = true;  // squeue answered
    std::vector<int> pending, running;
    std::string error;
};
QueueState slurm_queue(const std::string& job_id);

struct SlurmOptions {
    int retries = 2;                            // further submissions for runs that did not finish
    double poll_seconds = 10;                   // squeue interval
    const RunControl* cancel = nullptr;  // stop following (the job keeps running)
    std::function<void(const std::string&)> event;
    std::function<void(const std::string&)> progress;
};

// Submits the unfinished runs and follows them to the end; returns the tally from the run files.
SweepTally run_slurm(const SweepPlan& plan, SlurmJob job, const SlurmOptions& options);

}  // namespace normout
