#pragma once
// Activation penalties (thesis 4.3.2): l1 * mean|a| + l2 * mean a^2 of chosen layers' outputs,
// the means over the batch and all of the layer's units, added to the training loss. Each
// weighted term is also recorded on its own (penalty_l1_<L>, penalty_l2_<L>).
#include <ATen/Tensor.h>

#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/model/model.h"

namespace normout {

class Penalties {
  public:
    // Asks the model to keep the penalised layers' outputs (NetImpl::set_kept_outputs).
    Penalties(Net& net, const std::vector<PenaltySpec>& specs);
    bool empty() const { return specs_.empty(); }
    // The names of terms(), in order: penalty_l1_<L> / penalty_l2_<L> for each nonzero weight.
    const std::vector<std::string>& names() const { return names_; }
    // The weighted terms of the model's last forward, scalars with their autograd graph.
    std::vector<at::Tensor> terms() const;

  private:
    Net net_;
    std::vector<PenaltySpec> specs_;
    std::vector<std::string> names_;
};

// One weighted term on its own (for tests and tools): weight * mean|a| (l1) or weight * mean a^2.
at::Tensor penalty_term(const at::Tensor& activations, bool l1, double weight);

}  // namespace normout
