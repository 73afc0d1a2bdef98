#pragma once
// The instrumentation: statistics of chosen layers computed on the device during training steps,
// queued without synchronising, and read back in batches (drain) a few times a second.
#include <ATen/Tensor.h>

#include <map>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/model/model.h"
#include "engine/runfile/layer_stats.h"

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
    // The same for the epoch in progress (what it has accumulated so far), resetting nothing: the
    // lab's inspector follows a training epoch with these.
    std::vector<LayerEpochSnapshot> epoch_so_far(int epoch);

    // Moving averages and epoch accumulators, for checkpoints (exact resume).
    std::vector<std::pair<std::string, at::Tensor>> state() const;
    void load_state(const std::map<std::string, at::Tensor>& state);

    // On the CPU the statistics come from two fused passes (instrumentation_cpu.h); with this set
    // they come from the tensor operations a GPU runs instead, so that tests can compare the two.
    void use_device_ops_on_cpu(bool on) { device_ops_on_cpu_ = on; }

  private:
    struct Probe;
    void observe(int index, const at::Tensor& input, const at::Tensor& output);
    void prepare_accumulators(Probe& p, const at::Tensor& out);
    std::vector<LayerEpochSnapshot> snapshot(int epoch, bool reset);
    void observe_on_cpu(Probe& p, const at::Tensor& input, const at::Tensor& out, const at::Tensor& p_full,
                        const at::Tensor& keep);
    void observe_on_device(Probe& p, const at::Tensor& input, const at::Tensor& out, const at::Tensor& p_full,
                           const at::Tensor& keep);

    Net& net_;
    InstrumentConfig config_;
    std::vector<InstrumentedLayer> layers_;
    std::vector<std::unique_ptr<Probe>> probes_;
    std::map<int, std::size_t> by_index_;
    bool active_ = false;
    bool device_ops_on_cpu_ = false;
    int64_t step_ = 0;
    std::vector<std::pair<int64_t, std::size_t>> pending_ids_;  // (step, probe) of each queued row
    std::vector<at::Tensor> pending_;                           // one row of statistics each
};

}  // namespace normout
