#pragma once
// The stochastic layers of the thesis: NormOut (section 2.2) and inverted Dropout.
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "engine/config/config.h"

namespace normout {

// Keeps each unit with probability p computed from the activations:
//   *-max:     p = |x| / max|x|
//   *-softmax: p = exp((|x| - max|x|) / T)   (<= 1, never overflows)
// with the max over the batch (temporal), the layer (spatial) or both (spatiotemporal); the
// "layer" of 4-D and token inputs: see LayerSpec::map_4d and docs/architectures.md.
// Kept units keep their magnitude unless `rescale` divides them by p. The mask is sampled, so
// no gradient flows through p (as in the authors' code).
class NormOutImpl : public torch::nn::Module {
  public:
    explicit NormOutImpl(const LayerSpec& spec);
    torch::Tensor forward(const torch::Tensor& x);
    // p for every element of x (no sampling). x: [N, F], tokens [N, T, D] or [N, C, H, W] (any rank >= 2).
    torch::Tensor keep_probability(const torch::Tensor& x) const;
    const LayerSpec& spec() const { return spec_; }
    void pretty_print(std::ostream& stream) const override;
    // Applies the layer's schedule (engine/config/schedule.h) for `epoch` (from 0): outside its
    // epochs the layer returns its input unchanged; the temperature follows its schedule.
    void set_epoch(int epoch);
    bool active() const { return active_; }
    double temperature() const { return temperature_; }

    // When set, forward() keeps its keep probabilities and sampled mask for the instrumentation.
    bool capture = false;
    torch::Tensor last_p, last_keep;

  private:
    LayerSpec spec_;
    bool active_ = true;
    double temperature_ = 1.0;
    bool softmax_ = false;
    bool over_batch_ = false;
    bool over_layer_ = false;
};
TORCH_MODULE(NormOut);

// Inverted dropout: a unit is dropped with probability p, kept units are scaled by 1/(1-p).
class DropoutLayerImpl : public torch::nn::Module {
  public:
    explicit DropoutLayerImpl(const LayerSpec& spec);
    torch::Tensor forward(const torch::Tensor& x);
    const LayerSpec& spec() const { return spec_; }
    void pretty_print(std::ostream& stream) const override;
    void set_epoch(int epoch);  // as NormOut's; p follows its schedule
    bool active() const { return active_; }
    double p() const { return p_; }

    bool capture = false;  // as NormOut's
    torch::Tensor last_p, last_keep;

  private:
    LayerSpec spec_;
    bool active_ = true;
    double p_ = 0.5;
};
TORCH_MODULE(DropoutLayer);

}  // namespace normout
