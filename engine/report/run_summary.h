#pragma once
// What a report needs of one run, read once from its file and its analysis sidecar: identity,
// final accuracies, the last attack and flatness results, the masking verdict, and the layers'
// activation statistics at the end of training. No torch, no Qt.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace normout {

struct AttackFigure {
    double accuracy = 0;       // percent
    double low = 0, high = 0;  // its 95% Wilson interval, percent
    std::string target_mode;   // pgd-t: random | all | thesis
};

struct LayerEnd {
    double mean = 0, max = 0, std = 0, var = 0, sparsity = 0;  // output EWMAs; sparsity in percent
};

struct RunSummary {
    std::string path;
    std::string name;
    std::string preset;
    std::string config_json;
    std::string code_version, device, torch_version, created_utc, status, dataset;
    uint64_t seed = 0;
    int epochs = 0;          // epochs recorded
    int planned_epochs = 0;  // train.epochs of the configuration
    int64_t train_count = 0, test_count = 0;
    double train_accuracy = 0;  // percent, last epoch (NaN without epochs)
    double test_accuracy = 0;
    double fisher_rao_empirical = 0, fisher_rao_model = 0;  // NaN when not measured
    double masking_likely = 0;                              // 1 / 0 from the last diagnosis, NaN when none
    std::string masking_verdict;
    std::map<std::string, AttackFigure> attacks;  // "linf/fgsm", "l2/pgd-ce", "clean"
    std::map<int, LayerEnd> layers;               // instrumented layers
};

// Throws RunFileError naming the file when it is not a readable run.
RunSummary read_run_summary(const std::string& path);

// Expands folders (their *.h5 runs, sweep folders included, continuation segments left out) and
// keeps files; duplicates removed, order kept. Throws std::invalid_argument for a path that does
// not exist.
std::vector<std::string> collect_run_paths(const std::vector<std::string>& paths_or_folders);

}  // namespace normout
