#include "engine/attacks/attack_store.h"

#include <algorithm>
#include <cmath>
#include <ctime>

#include "engine/runfile/run_analysis.h"

namespace normout {

namespace {

std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string clip_text(const std::string& s) {
    return s.size() <= 255 ? s : s.substr(0, 252) + "...";
}

}  // namespace

int64_t next_evaluation(const AnalysisData& stored) {
    double last = 0;
    for (const char* table : {"attacks", "masking"}) {
        const auto t = stored.tables.find(table);
        if (t == stored.tables.end()) continue;
        for (const auto& row : t->second.rows) {
            const auto e = row.numbers.find("evaluation");
            if (e != row.numbers.end() && std::isfinite(e->second)) last = std::max(last, e->second);
        }
    }
    return static_cast<int64_t>(last) + 1;
}

void add_records(AnalysisBatch& batch, const AttackRecords& records) {
    auto& attacks = batch.tables["attacks"];
    attacks.insert(attacks.end(), records.attacks.begin(), records.attacks.end());
    auto& masking = batch.tables["masking"];
    masking.insert(masking.end(), records.masking.begin(), records.masking.end());
    for (const auto& [name, array] : records.arrays)
        batch.arrays[name] = array;
}

AttackRecords attack_records(const AttackReport& report, const MaskingDiagnosis& diagnosis,
                             const AttackedWeights& weights, int64_t evaluation) {
    const std::string when = utc_now();
    const auto common = [&](AnalysisRow& row) {
        row.numbers["evaluation"] = static_cast<double>(evaluation);
        row.numbers["weights_step"] = static_cast<double>(weights.weights_step);
        row.numbers["epoch"] = weights.epoch;
        row.numbers["subset_seed"] = static_cast<double>(report.config.seed);
        row.numbers["subset_n"] = static_cast<double>(report.indices.size());
        row.numbers["test_size"] = static_cast<double>(report.test_size);
        row.texts["subset_fingerprint"] = report.subset_fingerprint;
        row.texts["evaluated_utc"] = when;
    };

    std::vector<AnalysisRow> attacks;
    for (const auto& r : report.results) {
        AnalysisRow row;
        common(row);
        row.texts["attack"] = r.attack;
        row.texts["norm"] = r.norm;
        row.texts["role"] = r.role;
        row.texts["target_mode"] = r.target_mode;
        row.texts["device"] = report.device;
        auto& x = row.numbers;
        x["eps"] = r.eps;
        x["unbounded"] = r.unbounded ? 1 : 0;
        x["n"] = static_cast<double>(r.n);
        x["correct"] = static_cast<double>(r.correct);
        x["accuracy"] = r.accuracy;
        x["ci_low"] = r.ci.low;
        x["ci_high"] = r.ci.high;
        x["ci_level"] = 0.95;
        const bool targeted = r.attack == "pgd-t";
        x["target_trials"] = targeted ? static_cast<double>(r.target_trials) : kNaN;
        x["target_hits"] = targeted ? static_cast<double>(r.target_hits) : kNaN;
        x["target_success"] = targeted ? r.target_success : kNaN;
        x["target_ci_low"] = targeted ? r.target_ci.low : kNaN;
        x["target_ci_high"] = targeted ? r.target_ci.high : kNaN;
        const bool square = r.attack == "square";
        x["query_budget"] = square ? r.query_budget : kNaN;
        x["p_init"] = square ? r.p_init : kNaN;
        x["square_attacked"] = square ? static_cast<double>(r.square_attacked) : kNaN;
        x["square_fooled"] = square ? static_cast<double>(r.square_fooled) : kNaN;
        x["queries_mean"] = square ? r.queries_mean : kNaN;
        x["queries_median"] = square ? r.queries_median : kNaN;
        x["steps"] = r.steps;
        x["step"] = r.step;
        x["restarts"] = r.restarts;
        x["random_start"] = r.random_start ? 1 : 0;
        x["noise_samples"] = r.samples;
        x["stochastic"] = report.stochastic ? 1 : 0;
        x["eot_samples"] = report.eot_samples;
        x["seconds"] = r.seconds;
        x["seconds_per_1000"] = r.n > 0 ? r.seconds * 1000.0 / static_cast<double>(r.n) : kNaN;
        attacks.push_back(row);
    }

    std::vector<AnalysisRow> masking;
    for (const auto& f : diagnosis.flags) {
        AnalysisRow row;
        common(row);
        row.texts["flag"] = f.name;
        row.texts["title"] = f.title;
        row.texts["norm"] = f.norm;
        row.texts["evidence"] = clip_text(f.evidence);
        auto& x = row.numbers;
        x["eps"] = f.eps;
        x["tested"] = f.tested ? 1 : 0;
        x["raised"] = f.raised ? 1 : 0;
        x["gap"] = f.gap;
        x["ci_low"] = f.ci.low;
        x["ci_high"] = f.ci.high;
        x["ci_level"] = diagnosis.level;
        x["a"] = f.a;
        x["b"] = f.b;
        x["n"] = static_cast<double>(f.n);
        x["count"] = static_cast<double>(f.count);
        x["alpha"] = diagnosis.alpha;
        x["min_gap"] = diagnosis.min_gap;
        masking.push_back(row);
    }
    AnalysisRow verdict;
    common(verdict);
    verdict.texts["flag"] = "verdict";
    verdict.texts["verdict"] = clip_text(diagnosis.verdict);
    verdict.numbers["masking_likely"] = diagnosis.masking_likely ? 1 : 0;
    verdict.numbers["tested"] = diagnosis.tested;
    verdict.numbers["raised"] = diagnosis.raised;
    verdict.numbers["alpha"] = diagnosis.alpha;
    verdict.numbers["min_gap"] = diagnosis.min_gap;
    verdict.numbers["ci_level"] = diagnosis.level;
    masking.push_back(verdict);

    // Per-image outcomes, so that later comparisons can pair images.
    AnalysisArray outcomes;
    const auto n = static_cast<int64_t>(report.indices.size());
    outcomes.shape = {static_cast<int64_t>(report.results.size()), n};
    std::string rows;
    for (const auto& r : report.results) {
        for (int64_t i = 0; i < n; ++i)
            outcomes.values.push_back(i < static_cast<int64_t>(r.robust.size()) ? r.robust[static_cast<std::size_t>(i)]
                                                                                : kNaN);
        rows += (rows.empty() ? "" : ";") + r.attack + "," + r.norm + "," + std::to_string(r.eps) + "," + r.role;
    }
    outcomes.attributes["axes"] = "row of the attacks table of this evaluation, image of the subset";
    outcomes.attributes["rows"] = rows;
    outcomes.attributes["values"] = "1 = still classified as its true label after the attack";
    AnalysisArray subset;
    subset.shape = {n};
    for (int64_t i : report.indices)
        subset.values.push_back(static_cast<double>(i));
    subset.attributes["meaning"] = "test-set indices of the evaluation subset";

    AttackRecords out;
    out.attacks = std::move(attacks);
    out.masking = std::move(masking);
    out.arrays["attack_outcomes_" + std::to_string(evaluation)] = std::move(outcomes);
    out.arrays["attack_subset_" + std::to_string(evaluation)] = std::move(subset);
    return out;
}

int64_t write_attack_report(const std::string& run_path, const AttackReport& report, const MaskingDiagnosis& diagnosis,
                            const AttackedWeights& weights) {
    int64_t evaluation = 0;
    // The number comes from what is stored when the writers' lock is held: two processes
    // attacking one run get different numbers.
    store_analysis(run_path, [&](const AnalysisData& stored) {
        evaluation = next_evaluation(stored);
        AnalysisBatch batch;
        add_records(batch, attack_records(report, diagnosis, weights, evaluation));
        return batch;
    });
    return evaluation;
}

}  // namespace normout
