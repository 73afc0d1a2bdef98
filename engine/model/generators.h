#pragma once
// The random generators a run draws from: the CPU's default generator and, in a build with CUDA
// on a machine with GPUs, each device's default generator (NormOut and Dropout draw their masks
// on the device the model lives on). Checkpoints save and restore all of them; evaluations seed
// all of them.
#include <ATen/Tensor.h>

#include <cstdint>
#include <map>
#include <string>

namespace normout {

// "cpu" and "cuda:N" for every visible CUDA device, with their states.
std::map<std::string, at::Tensor> generator_states();
// Restores the generators named in `states`; a "cuda:N" without such a device here is ignored
// (a GPU run resumed on the CPU draws from the CPU generator from then on).
void set_generator_states(const std::map<std::string, at::Tensor>& states);
// Seeds every generator with `seed`.
void seed_generators(uint64_t seed);

// Seeds every generator for the lifetime of the scope and restores their states after it.
class GeneratorScope {
  public:
    explicit GeneratorScope(uint64_t seed);
    ~GeneratorScope();
    GeneratorScope(const GeneratorScope&) = delete;
    GeneratorScope& operator=(const GeneratorScope&) = delete;

  private:
    std::map<std::string, at::Tensor> saved_;
};

}  // namespace normout
