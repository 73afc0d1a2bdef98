#pragma once
// Attack results and masking diagnoses in the run file: tables /analysis/attacks and
// /analysis/masking, and the per-image outcomes as arrays (docs/run-file.md describes them).
#include <cstdint>
#include <map>
#include <string>

#include "engine/attacks/masking.h"
#include "engine/attacks/report.h"
#include "engine/run_analysis.h"

namespace normout {

// Which weights were attacked.
struct AttackedWeights {
    int64_t weights_step = -1;  // global step of the weights
    int epoch = 0;              // epochs completed
};

// One evaluation as table rows and arrays, numbered `evaluation`.
struct AttackRecords {
    std::vector<AnalysisRow> attacks, masking;
    std::map<std::string, AnalysisArray> arrays;
};
AttackRecords attack_records(const AttackReport& report, const MaskingDiagnosis& diagnosis,
                             const AttackedWeights& weights, int64_t evaluation);

// Appends one evaluation (all its attacks and flags) and returns its number (1, 2, ... per file).
// Throws RunFileError when the run is still being written or the file is not a run.
int64_t write_attack_report(const std::string& run_path, const AttackReport& report, const MaskingDiagnosis& diagnosis,
                            const AttackedWeights& weights);

}  // namespace normout
