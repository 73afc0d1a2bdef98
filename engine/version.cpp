#include "engine/version.h"

#include <hdf5.h>
#include <torch/version.h>

#include "engine/hdf5_handle.h"

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
    // The version LibTorch was compiled against (set by CMake); whether a GPU is usable now is
    // another question (train.device=auto answers it).
#ifdef NORMOUT_CUDA_VERSION
    return NORMOUT_CUDA_VERSION;
#else
    return "none";
#endif
}

}  // namespace normout
