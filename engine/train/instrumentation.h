#pragma once
// The instrumentation: statistics of chosen layers computed on the device during training steps,
// queued without synchronising, and read back in batches (drain) a few times a second.
#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/runfile/layer_stats.h"
#include "engine/model/model.h"

namespace normout {

class Instrumentation {
  public:
    // Validates the configured layers and neurons against the model (ConfigError otherwise).
    Instrumentation(Net& net, const InstrumentConfig& config, const std::vector<int64_t>& input_chw);
    ~Instrumentation();
    Instrumentation(const Instrumentation&) = delete;
    Instrumentation& operator=(const Instrumentation&) = delete;

    const std::vector<InstrumentedLayer>& layers() const { return layers_; }
    // Whether the next forward passes are recorded (a training step whose index is a multiple of
    // `every`); evaluation passes are never recorded.
    void set_active(bool active, int64_t global_step);
    // Statistics queued since the last drain, with their moving averages (one read-back).
    std::vector<LayerStepStats> drain();
    // Per-epoch snapshots of every layer; resets the epoch accumulators.
    std::vector<LayerEpochSnapshot> end_epoch(int epoch);

    // Moving averages and epoch accumulators, for checkpoints (exact resume).
    std::vector<std::pair<std::string, at::Tensor>> state() const;
    void load_state(const std::map<std::string, at::Tensor>& state);

  private:
    struct Probe;
    void observe(int index, const at::Tensor& input, const at::Tensor& output);

    Net& net_;
    InstrumentConfig config_;
    std::vector<InstrumentedLayer> layers_;
    std::vector<std::unique_ptr<Probe>> probes_;
    std::map<int, std::size_t> by_index_;
    bool active_ = false;
    int64_t step_ = 0;
    std::vector<std::pair<int64_t, std::size_t>> pending_ids_;  // (step, probe) of each queued row
    std::vector<at::Tensor> pending_;                           // one row of statistics each
};

}  // namespace normout
