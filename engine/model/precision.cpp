#include "engine/model/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>
#include <torch/version.h>

#include "engine/config/config.h"

namespace normout {

namespace {

// LibTorch 2.x names the autocast switches by device type; 1.13 had one function per device.
#if TORCH_VERSION_MAJOR >= 2
bool autocast_enabled(bool cuda) {
    return at::autocast::is_autocast_enabled(cuda ? at::kCUDA : at::kCPU);
}
void set_autocast(bool cuda, bool enabled) {
    at::autocast::set_autocast_dtype(cuda ? at::kCUDA : at::kCPU, at::kBFloat16);
    at::autocast::set_autocast_enabled(cuda ? at::kCUDA : at::kCPU, enabled);
}
constexpr bool kCpuBf16Autocast = true;
#else
bool autocast_enabled(bool cuda) {
    return cuda ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
}
void set_autocast(bool cuda, bool enabled) {
    if (cuda) {
        at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
        at::autocast::set_enabled(enabled);
    } else {
        at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
        at::autocast::set_cpu_enabled(enabled);
    }
}
constexpr bool kCpuBf16Autocast = true;  // LibTorch 1.13's CPU autocast does bf16 too
#endif

}  // namespace

void configure_precision(const std::string& precision, bool channels_last, const DeviceChoice& device) {
    (void)channels_last;  // supported by every build and device
    const bool tf32 = precision == "tf32";
    if (tf32 && !device.cuda)
        throw ConfigError("train.precision", "tf32 is a CUDA matrix-unit format; on the CPU use fp32 or bf16");
    if (precision == "bf16" && !device.cuda && !kCpuBf16Autocast)
        throw ConfigError("train.precision",
                          "bf16 autocast on the CPU needs LibTorch 2.x (this build has " TORCH_VERSION
                          "; NORMOUT_TORCH=pypi builds against one)");
    if (device.cuda) {
        at::globalContext().setAllowTF32CuBLAS(tf32);
        at::globalContext().setAllowTF32CuDNN(tf32);
    }
}

AutocastScope::AutocastScope(const std::string& precision, const DeviceChoice& device) {
    if (precision != "bf16") return;
    active_ = true;
    cuda_ = device.cuda;
    was_enabled_ = autocast_enabled(cuda_);
    set_autocast(cuda_, true);
}

AutocastScope::~AutocastScope() {
    if (!active_) return;
    set_autocast(cuda_, was_enabled_);
    if (!was_enabled_) at::autocast::clear_cache();
}

void to_channels_last(torch::nn::Module& module) {
    torch::NoGradGuard no_grad;
    for (auto& p : module.parameters(true))
        if (p.dim() == 4) p.set_data(p.contiguous(at::MemoryFormat::ChannelsLast));
}

at::Tensor in_memory_format(const at::Tensor& x, bool channels_last) {
    return channels_last && x.dim() == 4 ? x.contiguous(at::MemoryFormat::ChannelsLast) : x;
}

}  // namespace normout
