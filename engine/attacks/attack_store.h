#pragma once
// Attack results and masking diagnoses of a run: tables /analysis/attacks and /analysis/masking,
// and the per-image outcomes as arrays, stored in the run's analysis sidecar (run_analysis.h;
// docs/run-file.md describes them).
#include <cstdint>
#include <map>
#include <string>

#include "engine/attacks/masking.h"
#include "engine/attacks/report.h"
#include "engine/runfile/run_analysis.h"

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

// The number of the next evaluation, after those stored (1 for none).
int64_t next_evaluation(const AnalysisData& stored);
// Adds one evaluation's rows and arrays to a batch.
void add_records(AnalysisBatch& batch, const AttackRecords& records);

// Stores one evaluation (all its attacks and flags) and returns its number (1, 2, ... per run).
// Throws AnalysisNotStored (a RunFileError) when it cannot be stored: the message says why and
// which JSON file keeps the results instead (see store_analysis).
int64_t write_attack_report(const std::string& run_path, const AttackReport& report, const MaskingDiagnosis& diagnosis,
                            const AttackedWeights& weights);

}  // namespace normout
