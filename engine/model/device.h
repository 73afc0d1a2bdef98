#pragma once
// Device and CPU-thread selection.
#include <string>

namespace normout {

struct DeviceChoice {
    std::string name;  // "cpu", "cuda:0"
    bool cuda = false;
};

// "auto" picks CUDA when LibTorch has it and a GPU is present, else the CPU. Asking for CUDA
// where there is none is a ConfigError naming train.device.
DeviceChoice resolve_device(const std::string& setting);

// Sets LibTorch's (and through OpenMP, OpenBLAS's) thread count; 0 = all cores. Returns it.
int configure_threads(int threads);

}  // namespace normout
