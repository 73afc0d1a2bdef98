#include "engine/model/device.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <thread>

#include "engine/config/config.h"
#include "engine/version.h"

namespace normout {

DeviceChoice resolve_device(const std::string& setting) {
    const bool have_cuda = torch::cuda::is_available();
    if (setting == "auto") return have_cuda ? DeviceChoice{"cuda:0", true} : DeviceChoice{"cpu", false};
    if (setting == "cpu") return {"cpu", false};
    if (!have_cuda)
        throw ConfigError("train.device", "'" + setting + "' requested but no CUDA device is available (" +
                                              device_summary() + "; LibTorch " + torch_version() +
                                              "); use train.device=cpu or auto");
    const std::string name = setting == "cuda" ? "cuda:0" : setting;
    const int index = std::stoi(name.substr(5));
    if (index >= static_cast<int>(torch::cuda::device_count()))
        throw ConfigError("train.device",
                          "'" + setting + "': only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s)");
    return {name, true};
}

int configure_threads(int threads) {
    const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    at::set_num_threads(n);
    return at::get_num_threads();
}

}  // namespace normout
