#pragma once
// The thesis's claims as tests on the runs at hand (`normout report`). Runs are summarised once
// (run_summary.h), grouped into configurations (runs equal but for their seed), and each claim
// compares the configurations it names: an effect with its 95% interval, a p-value adjusted with
// Holm's method across the claims, and a verdict. No torch, no Qt.
#include <string>
#include <vector>

#include "engine/report/run_summary.h"

namespace normout {

// A configuration: runs equal but for the seed.
struct ConfigGroup {
    std::string label;              // unique among the groups (run_labels)
    std::string role;               // a thesis configuration the claims know ("baseline", ...), or ""
    std::vector<std::size_t> runs;  // indices into the summaries
};

// The roles the claims use, and the thesis preset each corresponds to.
extern const char* const kRoleBaseline;           // thesis/baseline
extern const char* const kRoleDropout;            // thesis/dropout-48-51
extern const char* const kRoleTemporalSoftmax;    // thesis/temporal-softmax-48-51-T100
extern const char* const kRoleSpatialMax;         // thesis/spatialmax-48-51
extern const char* const kRoleSpatiotemporalMax;  // thesis/spatiotemporalmax-48-51

// The thesis configuration a run's configuration is: its preset when that is one of the thesis's
// rows, else recognised from its surgery at 48 and 51 (and no other surgery). "" when neither.
std::string configuration_role(const std::string& config_json);

// Groups runs by configuration (seed_groups), labels them (run_labels) and gives them roles.
std::vector<ConfigGroup> group_runs(const std::vector<RunSummary>& runs);

enum class ClaimVerdict { Supported, Contradicted, Inconclusive, NotTested };
const char* verdict_name(ClaimVerdict v);

struct ClaimResult {
    std::string id;                        // "a" ... "f"
    std::string statement;                 // the claim, in the thesis's terms
    std::string measure;                   // what is compared, and its unit
    std::string method;                    // the test used
    std::string compared;                  // "Temporal Softmax 48 51 (T=100) − Dropout 48 51"
    int runs = 0;                          // runs that entered the test
    double effect = 0, low = 0, high = 0;  // on the scale of `measure` (NaN when not tested)
    std::string effect_text;               // the effect and its 95% interval, formatted
    double p = 1, p_adjusted = 1;          // two-sided; Holm-adjusted across the tested claims
    ClaimVerdict verdict = ClaimVerdict::NotTested;
    int seeds_needed = -1;    // inconclusive: seeds (runs) per configuration that would settle it
    std::string needed_text;  // how that was estimated, or why not
    std::string thesis;       // what the thesis reports for it
    std::string detail;       // why not tested, or per-run facts
};

struct ClaimOptions {
    double alpha = 0.05;  // family-wise error rate over the tested claims (Holm)
    double power = 0.8;   // for the seeds an inconclusive claim would need
};

std::vector<ClaimResult> evaluate_claims(const std::vector<RunSummary>& runs, const std::vector<ConfigGroup>& groups,
                                         const ClaimOptions& options = {});

}  // namespace normout
