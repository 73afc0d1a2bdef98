#pragma once
// The per-step numbers of training (loss, number correct, whether the gradients are finite),
// kept on the device until they are read back in one transfer at the report cadence: on a GPU a
// read-back per step would stall the pipeline. Shared by the training loop and `normout bench`.
#include <ATen/Tensor.h>

#include <cstdint>
#include <vector>

namespace normout {

struct LedgerRow {
    int64_t global_step = 0;
    int64_t batch_size = 0;
    double wall_seconds = 0;
    double loss = 0;
    double correct = 0;
    bool gradients_finite = true;
    std::vector<double> extra;  // the extra values given to add(), in order
};

class StepLedger {
  public:
    // Queues a step's values without synchronising. `params` are checked for finite gradients
    // when `check_gradients` is set (one pass over the gradients, on the device).
    // `extra`: further scalars of the step (penalty terms, robust accuracy), read back with it.
    void add(int64_t global_step, double wall_seconds, const at::Tensor& loss, const at::Tensor& correct,
             int64_t batch_size, const std::vector<at::Tensor>* params, const std::vector<at::Tensor>& extra = {});
    // The queued steps, in order (one device-to-host transfer), and clears the queue.
    std::vector<LedgerRow> read_back();
    bool empty() const { return pending_.empty(); }

  private:
    struct Pending {
        int64_t global_step;
        int64_t batch_size;
        double wall_seconds;
        at::Tensor values;  // [loss, correct, gradients finite, extra...] as float64
    };
    std::vector<Pending> pending_;
};

}  // namespace normout
