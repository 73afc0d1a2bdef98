#pragma once
// `normout report`: run files in, a Document out (tables 3.1-3.6 with 95% intervals over seeds,
// the claims tested, figures, every run's provenance), rendered by document.h. No torch, no Qt.
#include <string>
#include <vector>

#include "engine/report/claims.h"
#include "engine/report/document.h"
#include "engine/report/run_summary.h"

namespace normout {

struct ReportOptions {
    std::string title = "Does synaptic failure find flatter minima?";
    std::string command;                 // how the report was made, printed in it
    std::vector<int> layers = {48, 51};  // Tables 3.2 / 3.3
    ClaimOptions claims;
};

struct Report {
    Document document;
    std::vector<RunSummary> runs;
    std::vector<ConfigGroup> groups;
    std::vector<ClaimResult> claims;
};

// Reads the runs (files, or folders of runs such as a sweep's) and builds the report. Throws
// RunFileError naming a bad file, std::invalid_argument when there is no run.
Report build_report(const std::vector<std::string>& paths_or_folders, const ReportOptions& options = {});

}  // namespace normout
