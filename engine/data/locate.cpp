#include "engine/data/locate.h"

#include <cstdlib>
#include <filesystem>

#include "engine/data/archive.h"
#include "engine/data/image_set.h"

namespace normout {

namespace {

namespace fs = std::filesystem;

bool looks_like(const std::string& dataset, const fs::path& p) {
    std::error_code ec;
    if (dataset == "cifar10") return fs::exists(p / "data_batch_1.bin", ec);
    if (dataset == "fashion-mnist")
        return fs::exists(p / "train-images-idx3-ubyte.gz", ec) || fs::exists(p / "train-images-idx3-ubyte", ec);
    return fs::is_directory(p / "train", ec) || (fs::is_regular_file(p, ec) && is_tar_name(p.string()));
}

std::vector<std::string> subdirs(const std::string& dataset) {
    if (dataset == "cifar10") return {"cifar-10-batches-bin", "cifar10/cifar-10-batches-bin", "cifar10"};
    if (dataset == "fashion-mnist") return {"fashion-mnist", "fashion_mnist", "FashionMNIST"};
    return {};
}

}  // namespace

std::vector<std::string> data_roots(const std::string& cli_root) {
    std::vector<std::string> roots;
    if (!cli_root.empty()) roots.push_back(cli_root);
    if (const char* env = std::getenv("NORMOUT_DATA"); env && *env) roots.emplace_back(env);
    roots.push_back(default_data_dir());
    return roots;
}

std::string locate_dataset(const DataConfig& data, const std::vector<std::string>& roots) {
    if (!data.path.empty()) {
        std::error_code ec;
        if (!fs::exists(data.path, ec)) throw DataError(data.path + ": not found (data.path)");
        return data.path;
    }
    std::vector<std::string> tried;
    auto candidates = [&](const fs::path& root) {
        std::vector<fs::path> c{root};
        for (const auto& s : subdirs(data.dataset))
            c.push_back(root / s);
        return c;
    };
    std::vector<fs::path> places;
    for (const auto& r : roots)
        for (const auto& c : candidates(r))
            places.push_back(c);
    if (data.dataset == "fashion-mnist") places.emplace_back("/usr/share/datasets/fashion-mnist");
    for (const auto& p : places) {
        if (looks_like(data.dataset, p)) return p.string();
        tried.push_back(p.string());
    }
    std::string msg = "data set '" + data.dataset + "' not found; looked in:";
    for (const auto& t : tried)
        msg += "\n  " + t;
    if (data.dataset == "cifar10")
        msg +=
            "\nGet it with `normout data fetch cifar10`, or pass --data DIR (the folder holding "
            "cifar-10-batches-bin).";
    else if (data.dataset == "fashion-mnist")
        msg += "\nInstall Debian's dataset-fashion-mnist package, or pass --data DIR.";
    else
        msg += "\nSet data.path to a folder with train/<class>/ and test/<class>/ (or a .tar.gz of one).";
    throw DataError(msg);
}

}  // namespace normout
