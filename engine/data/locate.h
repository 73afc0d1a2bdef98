#pragma once
// Where data sets are found: an explicit data.path, else under the data roots in order
// (--data, $NORMOUT_DATA, the default data directory), and for Fashion-MNIST finally Debian's
// dataset-fashion-mnist package.
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/util/user_dirs.h"

namespace normout {

// The roots in search order, skipping empty entries: cli_root, $NORMOUT_DATA, default_data_dir().
std::vector<std::string> data_roots(const std::string& cli_root);

// The directory (or archive) of the configured data set. Throws DataError listing the places tried.
std::string locate_dataset(const DataConfig& data, const std::vector<std::string>& roots);

}  // namespace normout
