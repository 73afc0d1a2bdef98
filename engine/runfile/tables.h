#pragma once
// The thesis's tables rebuilt from run files: Table 3.1 (train/test accuracy and overfitting),
// 3.2/3.3 (final moving averages of the layers' activation statistics), 3.4/3.5 (attack
// accuracies with confidence intervals), 3.6 (Fisher-Rao norm). Runs that differ only in their
// seed form one row: mean ± standard deviation over the seeds. No torch here.
#include <string>
#include <vector>

namespace normout {

enum class TableKind { Accuracy, Activations, Attacks, Flatness };
TableKind table_kind(const std::string& name);  // accuracy | activations | attacks | flatness

struct TableOptions {
    std::vector<int> layers = {48, 51};  // activations: which layers (one block of rows each)
    std::string norm = "linf";           // attacks: linf (Table 3.4) or l2 (Table 3.5)
};

struct Table {
    std::string title;
    std::vector<std::string> header;
    std::vector<std::vector<std::string>> rows;
    // The numbers behind the cells (NaN where a cell is text or empty), for tests and plots.
    std::vector<std::vector<double>> values;
};

// Reads every run (throws RunFileError naming a bad file) and builds the table.
Table build_table(const std::vector<std::string>& run_paths, TableKind kind, const TableOptions& options = {});

std::string to_csv(const Table& table);
std::string to_markdown(const Table& table);
std::string to_latex(const Table& table);

// Names telling runs apart: their names when those differ, else the settings that differ
// between them (the seed left out), e.g. "model.surgery[0].layer.temperature=100".
std::vector<std::string> run_labels(const std::vector<std::string>& config_jsons,
                                    const std::vector<std::string>& names);

// Groups of runs (indices) whose configurations are equal but for train.seed, in first-seen order.
std::vector<std::vector<std::size_t>> seed_groups(const std::vector<std::string>& config_jsons);

}  // namespace normout
