#pragma once
// Checkpoints: everything needed to continue a run exactly, in their own files next to the run
// file (RUN.ckpt-<step>.pt). Written to a temporary file, fsynced and renamed, so a checkpoint
// file is either complete or absent.
#include <torch/optim/optimizer.h>

#include <map>
#include <string>
#include <vector>

#include "engine/model/model.h"

namespace normout {

struct TrainingPosition {
    int epoch = 0;              // 0-based epoch in progress (or next to start)
    int64_t step_in_epoch = 0;  // batches of that epoch already trained
    int64_t global_step = 0;
    // running sums of the epoch in progress, so its metrics come out identical
    double loss_sum = 0;
    int64_t correct = 0;
    int64_t seen = 0;
    double epoch_elapsed = 0;  // seconds spent in the epoch so far
    int64_t epoch_rows = 0;    // epoch rows recorded when the checkpoint was taken
    double wall_seconds = 0;   // run time so far
    // Running sums of the epoch's extra series (penalties, robust accuracy): value * weight and
    // weight, in the order of the run's step extras. Absent in older checkpoints.
    std::vector<double> extra_sum, extra_weight;
};

struct CheckpointInfo {
    std::string path;
    int64_t global_step = 0;
};

std::string checkpoint_path(const std::string& run_path, int64_t global_step);
// Existing checkpoint files of a run, oldest first.
std::vector<CheckpointInfo> list_checkpoints(const std::string& run_path);
// Deletes all but the newest `keep`.
void prune_checkpoints(const std::string& run_path, int keep);
// Removes the temporary files (RUN.ckpt-N.pt.tmp) that a killed checkpoint writer left.
void remove_checkpoint_temporaries(const std::string& run_path);

// Saves model, optimiser, random generator states and position. Throws std::runtime_error
// naming the path on failure (the previous checkpoints stay).
// `extra` tensors (the instrumentation's state) are stored under their names.
using ExtraState = std::vector<std::pair<std::string, at::Tensor>>;
void save_checkpoint(const std::string& path, const std::string& run_id, Net& net, torch::optim::Optimizer& optimizer,
                     const TrainingPosition& position, const ExtraState& extra = {});
// Restores them; throws std::runtime_error naming the path if the file is unusable or belongs to
// another run.
TrainingPosition load_checkpoint(const std::string& path, const std::string& run_id, Net& net,
                                 torch::optim::Optimizer& optimizer,
                                 std::map<std::string, at::Tensor>* extra = nullptr);
// Only the model tensors (parameters and buffers by name, shapes checked against `net`), leaving
// `net` as it is: e.g. the start of a loss interpolation. Same errors as load_checkpoint().
std::map<std::string, at::Tensor> read_checkpoint_model(const std::string& path, const std::string& run_id, Net& net);

}  // namespace normout
