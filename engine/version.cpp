#include "engine/version.h"

#include <hdf5.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include "engine/runfile/hdf5_handle.h"

namespace normout {

std::string torch_version() {
    return TORCH_VERSION;
}

std::string hdf5_version() {
    silence_hdf5_errors();
    unsigned major = 0, minor = 0, release = 0;
    H5get_libversion(&major, &minor, &release);
    return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(release);
}

std::string cuda_version() {
    // The CUDA runtime LibTorch was built with, from its CUDA hooks: they exist whenever the
    // LibTorch in use has CUDA, GPU or not, and throw in a CPU-only LibTorch. Whether a GPU is
    // usable now is another question (train.device=auto answers it).
    try {
        const long v = at::detail::getCUDAHooks().versionCUDART();
        if (v > 0) return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 10);
    } catch (const std::exception&) {
    }
    return "none";
}

std::string device_summary() {
    const std::string cuda = cuda_version();
    if (cuda == "none") return "CPU only (LibTorch built without CUDA)";
    const int gpus = torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0;
    return "CUDA " + cuda + ", " + (gpus > 0 ? std::to_string(gpus) + " GPU(s) visible" : std::string("no GPU visible"));
}

}  // namespace normout
