#pragma once
// A recorded run brought back: its configuration, its data prepared exactly as in training (same
// seed, same splits and subsets), and its model with the stored weights, in evaluation mode.
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/data/prepare.h"
#include "engine/model/device.h"
#include "engine/model/model.h"
#include "engine/runfile/run_file.h"

namespace normout {

struct LoadedRun {
    RunConfig config;
    RunInfo info;
    std::shared_ptr<const PreparedData> data;
    Net net{nullptr};
    DeviceChoice device;
};

// Throws RunFileError / DataError / ConfigError with clear messages. `device` overrides the
// configuration's train.device when not empty.
LoadedRun load_run(const std::string& run_path, const std::vector<std::string>& data_roots,
                   const std::string& device = "", std::shared_ptr<const PreparedData> data = nullptr);

}  // namespace normout
