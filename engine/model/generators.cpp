#include "engine/model/generators.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <torch/cuda.h>

#include <mutex>

namespace normout {

namespace {

// The generic accessor works in CPU-only builds too: no CUDA-only code to compile out, and
// device_count() is 0 there.
at::Generator generator_for(const std::string& name) {
    if (name == "cpu") return at::detail::getDefaultCPUGenerator();
    const int index = std::stoi(name.substr(5));
    return at::globalContext().defaultGenerator(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index)));
}

std::vector<std::string> generator_names() {
    std::vector<std::string> names{"cpu"};
    const int cuda = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    for (int i = 0; i < cuda; ++i)
        names.push_back("cuda:" + std::to_string(i));
    return names;
}

}  // namespace

std::map<std::string, at::Tensor> generator_states() {
    std::map<std::string, at::Tensor> out;
    for (const auto& name : generator_names()) {
        at::Generator gen = generator_for(name);
        std::lock_guard<std::mutex> lock(gen.mutex());
        out[name] = gen.get_state();
    }
    return out;
}

void set_generator_states(const std::map<std::string, at::Tensor>& states) {
    for (const auto& name : generator_names()) {
        const auto it = states.find(name);
        if (it == states.end()) continue;
        at::Generator gen = generator_for(name);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(it->second);
    }
}

void seed_generators(uint64_t seed) {
    for (const auto& name : generator_names()) {
        at::Generator gen = generator_for(name);
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(seed);
    }
}

GeneratorScope::GeneratorScope(uint64_t seed) : saved_(generator_states()) {
    seed_generators(seed);
}

GeneratorScope::~GeneratorScope() {
    set_generator_states(saved_);
}

}  // namespace normout
