#include "engine/report/claims.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

#include "engine/report/stats.h"
#include "engine/runfile/tables.h"

namespace normout {

const char* const kRoleBaseline = "baseline";
const char* const kRoleDropout = "dropout-48-51";
const char* const kRoleTemporalSoftmax = "temporal-softmax-48-51-T100";
const char* const kRoleSpatialMax = "spatialmax-48-51";
const char* const kRoleSpatiotemporalMax = "spatiotemporalmax-48-51";

namespace {

using nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The layer a surgery op puts at 48 or 51, as a short code: I, D0.5, NO:<variant>[:T].
std::string layer_code(const json& layer) {
    const std::string type = layer.value("type", "");
    if (type == "identity") return "I";
    if (type == "dropout") return fmt::format("D{}", layer.value("p", 0.5));
    if (type == "normout") {
        const std::string variant = layer.value("variant", "");
        std::string code = "NO:" + variant;
        if (variant.find("softmax") != std::string::npos) code += fmt::format(":{}", layer.value("temperature", 1.0));
        return code;
    }
    return "?" + type;
}

std::string role_from_codes(const std::string& a, const std::string& b) {
    if (a != b) return "";
    if (a == "I") return kRoleBaseline;
    if (a == "D0.5") return kRoleDropout;
    if (a == "NO:temporal-softmax:100") return kRoleTemporalSoftmax;
    if (a == "NO:spatial-max") return kRoleSpatialMax;
    if (a == "NO:spatiotemporal-max") return kRoleSpatiotemporalMax;
    return "";
}

std::string interval_text(double effect, double low, double high, int decimals, const char* unit = "") {
    if (!std::isfinite(effect)) return "–";
    std::string s = fmt::format("{:+.{}f}{}", effect, decimals, unit);
    if (std::isfinite(low)) s += fmt::format(" [{:+.{}f}, {:+.{}f}]", low, decimals, high, decimals);
    return s;
}

struct Selected {
    const ConfigGroup* group = nullptr;
    std::string note;
};

// The group playing `role`: the only one, else the one made from the thesis preset, else the one
// with most runs (the others are named in the note).
Selected find_role(const std::vector<RunSummary>& runs, const std::vector<ConfigGroup>& groups,
                   const std::string& role) {
    std::vector<const ConfigGroup*> candidates;
    for (const auto& g : groups)
        if (g.role == role) candidates.push_back(&g);
    Selected s;
    if (candidates.empty()) return s;
    s.group = candidates.front();
    if (candidates.size() == 1) return s;
    const std::string preset = "thesis/" + role;
    const ConfigGroup* by_preset = nullptr;
    for (const auto* g : candidates)
        if (runs[g->runs.front()].preset == preset && !by_preset) by_preset = g;
    if (by_preset) {
        s.group = by_preset;
    } else {
        for (const auto* g : candidates)
            if (g->runs.size() > s.group->runs.size()) s.group = g;
    }
    std::string others;
    for (const auto* g : candidates)
        if (g != s.group) others += (others.empty() ? "" : "; ") + g->label;
    s.note = "several configurations are '" + role + "'; used " + s.group->label + ", not " + others + ".";
    return s;
}

std::vector<stats::Observation> observations(const std::vector<RunSummary>& runs, const ConfigGroup& g,
                                             double RunSummary::*field, bool log_scale) {
    std::vector<stats::Observation> out;
    for (std::size_t i : g.runs) {
        const double v = runs[i].*field;
        if (!std::isfinite(v) || (log_scale && !(v > 0))) continue;
        out.push_back({runs[i].seed, log_scale ? std::log(v) : v});
    }
    return out;
}

struct Pending {
    ClaimResult result;
    // The effect on the scale of its test, where 0 is "no effect": a difference, log(ratio), a
    // share minus one half, rho. Its sign against expected_sign gives the verdict's direction.
    double tested_effect = kNaN;
    double sd = kNaN;
    bool paired = false;
    enum class Kind { Means, Proportion, Correlation } kind = Kind::Means;
    int expected_sign = 1;  // the claim's direction
};

Pending compare_claim(const std::vector<RunSummary>& runs, const std::vector<ConfigGroup>& groups, const char* id,
                      const std::string& statement, const std::string& role_a, const std::string& role_b,
                      double RunSummary::*field, bool log_ratio, int expected_sign, const std::string& thesis) {
    Pending p;
    auto& r = p.result;
    r.id = id;
    r.statement = statement;
    r.thesis = thesis;
    p.expected_sign = expected_sign;
    r.measure = log_ratio ? "Fisher-Rao norm (empirical), ratio A / B" : "test accuracy, A − B in percentage points";
    r.effect = r.low = r.high = r.p = kNaN;
    const Selected a = find_role(runs, groups, role_a), b = find_role(runs, groups, role_b);
    if (!a.group || !b.group) {
        r.detail = "needs runs of " + std::string(!a.group ? role_a : role_b) + " (thesis/" +
                   (!a.group ? role_a : role_b) + "; `normout sweep thesis/claims` runs all of them)";
        return p;
    }
    r.compared = a.group->label + " vs " + b.group->label;
    r.detail = a.note + (a.note.empty() || b.note.empty() ? "" : " ") + b.note;
    const auto oa = observations(runs, *a.group, field, log_ratio), ob = observations(runs, *b.group, field, log_ratio);
    r.runs = static_cast<int>(oa.size() + ob.size());
    const stats::Comparison c = stats::compare(oa, ob);
    if (!c.valid()) {
        r.detail +=
            (r.detail.empty() ? "" : " ") +
            fmt::format("too few runs with the measure: {} and {} (a test needs two of each, or two shared seeds)",
                        oa.size(), ob.size());
        return p;
    }
    r.method = c.method + (log_ratio ? " on log(norm)" : "");
    r.p = c.p;
    p.sd = c.sd;
    p.paired = c.paired;
    if (log_ratio) {
        r.effect = std::exp(c.effect);
        r.low = std::exp(c.low);
        r.high = std::exp(c.high);
        r.effect_text = std::isfinite(r.low) ? fmt::format("×{:.3g} [{:.3g}, {:.3g}]", r.effect, r.low, r.high)
                                             : fmt::format("×{:.3g}", r.effect);
    } else {
        r.effect = c.effect;
        r.low = c.low;
        r.high = c.high;
        r.effect_text = interval_text(c.effect, c.low, c.high, 2, " pp");
    }
    p.tested_effect = c.effect;
    return p;
}

}  // namespace

std::string configuration_role(const std::string& config_json) {
    const json c = json::parse(config_json, nullptr, false);
    if (!c.is_object()) return "";
    const json model = c.value("model", json::object());
    const json surgery = model.is_object() ? model.value("surgery", json::array()) : json::array();
    std::map<int, std::string> at;
    if (!surgery.is_array()) return "";
    for (const auto& op : surgery) {
        if (!op.is_object() || op.value("op", "") != "replace") return "";
        const json indices = op.value("at", json::array());
        const json layer = op.value("layer", json::object());
        if (!indices.is_array() || !layer.is_object()) return "";
        for (const auto& i : indices) {
            if (!i.is_number_integer()) return "";
            const int index = i.get<int>();
            if (index != 48 && index != 51) return "";  // other surgery: not one of the claims' rows
            at[index] = layer_code(layer);
        }
    }
    // Without surgery at 48 / 51 the base table has Dropout(0.5) there (torchvision's VGG).
    const std::string a = at.count(48) ? at[48] : "D0.5", b = at.count(51) ? at[51] : "D0.5";
    return role_from_codes(a, b);
}

std::vector<ConfigGroup> group_runs(const std::vector<RunSummary>& runs) {
    std::vector<std::string> configs, names;
    for (const auto& r : runs) {
        configs.push_back(r.config_json);
        names.push_back(r.name);
    }
    const auto indices = seed_groups(configs);
    std::vector<std::string> group_configs, group_names;
    for (const auto& g : indices) {
        group_configs.push_back(configs[g.front()]);
        group_names.push_back(names[g.front()]);
    }
    const auto labels = run_labels(group_configs, group_names);
    std::vector<ConfigGroup> groups;
    for (std::size_t g = 0; g < indices.size(); ++g)
        groups.push_back({labels[g], configuration_role(group_configs[g]), indices[g]});
    return groups;
}

const char* verdict_name(ClaimVerdict v) {
    switch (v) {
        case ClaimVerdict::Supported:
            return "supported";
        case ClaimVerdict::Contradicted:
            return "contradicted";
        case ClaimVerdict::Inconclusive:
            return "inconclusive";
        case ClaimVerdict::NotTested:
            return "not tested";
    }
    return "";
}

std::vector<ClaimResult> evaluate_claims(const std::vector<RunSummary>& runs, const std::vector<ConfigGroup>& groups,
                                         const ClaimOptions& options) {
    std::vector<Pending> claims;
    claims.push_back(compare_claim(runs, groups, "a",
                                   "Temporal Softmax T=100 at 48 51 has a higher test accuracy than Dropout 48 51",
                                   kRoleTemporalSoftmax, kRoleDropout, &RunSummary::test_accuracy, false, +1,
                                   "92.58% vs 91.3%: +1.28 pp (one run each)"));
    claims.push_back(compare_claim(runs, groups, "b",
                                   "Temporal Softmax T=100 at 48 51 has a higher test accuracy than the baseline",
                                   kRoleTemporalSoftmax, kRoleBaseline, &RunSummary::test_accuracy, false, +1,
                                   "92.58% vs 90.1%: +2.48 pp (one run each)"));
    claims.push_back(compare_claim(runs, groups, "c", "Dropout 48 51 lowers the Fisher-Rao norm against the baseline",
                                   kRoleDropout, kRoleBaseline, &RunSummary::fisher_rao_empirical, true, -1,
                                   "7.68 vs 31.8: ×0.24 (one run each)"));
    claims.push_back(compare_claim(
        runs, groups, "d", "NormOut (Temporal Softmax T=100 at 48 51) lowers the Fisher-Rao norm against the baseline",
        kRoleTemporalSoftmax, kRoleBaseline, &RunSummary::fisher_rao_empirical, true, -1,
        "4.2 vs 31.8: ×0.13 (one run each)"));
    {
        Pending p;
        p.kind = Pending::Kind::Proportion;
        auto& r = p.result;
        r.id = "e";
        r.statement = "SpatialMax and SpatiotemporalMax 48 51 owe their apparent robustness to gradient masking";
        r.measure = "share of their runs whose masking diagnosis says masking is likely";
        r.thesis = "argued from one run each (chance-level PGD-T, high PGD-CE; section 4.1)";
        r.effect = r.low = r.high = r.p = kNaN;
        int k = 0, n = 0;
        std::string used;
        for (const char* role : {kRoleSpatialMax, kRoleSpatiotemporalMax}) {
            const Selected s = find_role(runs, groups, role);
            if (!s.group) continue;
            used += (used.empty() ? "" : " and ") + s.group->label;
            for (std::size_t i : s.group->runs)
                if (std::isfinite(runs[i].masking_likely)) {
                    ++n;
                    k += runs[i].masking_likely > 0.5;
                }
        }
        r.compared = used;
        r.runs = n;
        if (n == 0) {
            r.detail = used.empty() ? "needs runs of spatialmax-48-51 or spatiotemporalmax-48-51"
                                    : "none of their runs has a masking diagnosis (run attacks during training or "
                                      "`normout attack`)";
        } else {
            const stats::Proportion pr = stats::proportion(k, n);
            r.method = "exact binomial test of the share against 1/2 (two-sided), Clopper-Pearson interval";
            r.effect = 100 * pr.rate;
            r.low = 100 * pr.low;
            r.high = 100 * pr.high;
            r.effect_text = fmt::format("{}/{} runs = {:.0f}% [{:.0f}%, {:.0f}%]", k, n, r.effect, r.low, r.high);
            r.p = std::min(1.0, 2 * std::min(pr.p_greater, pr.p_less));
            p.tested_effect = pr.rate - 0.5;
        }
        claims.push_back(p);
    }
    {
        Pending p;
        p.kind = Pending::Kind::Correlation;
        p.expected_sign = -1;
        auto& r = p.result;
        r.id = "f";
        r.statement = "A lower Fisher-Rao norm goes with a higher robust accuracy (section 4.3.1)";
        r.measure =
            "Spearman's rank correlation over runs of the Fisher-Rao norm (empirical) and PGD-CE L-inf accuracy";
        r.thesis = "raised as a question (section 4.3.1); Table 3.6 against Table 3.4 gives no single answer";
        r.effect = r.low = r.high = r.p = kNaN;
        std::vector<double> x, y;
        for (const auto& run : runs) {
            const auto it = run.attacks.find("linf/pgd-ce");
            if (it == run.attacks.end() || !std::isfinite(run.fisher_rao_empirical)) continue;
            x.push_back(run.fisher_rao_empirical);
            y.push_back(it->second.accuracy);
        }
        r.runs = static_cast<int>(x.size());
        r.compared = "all runs with both measures";
        if (x.size() < 4) {
            r.detail = fmt::format("needs at least 4 runs with both measures, has {}", x.size());
        } else {
            const stats::Correlation c = stats::spearman(x, y);
            r.method = c.method;
            r.effect = c.rho;
            p.tested_effect = c.rho;
            r.low = c.low;
            r.high = c.high;
            r.p = c.p;
            r.effect_text = std::isfinite(c.rho) ? fmt::format("ρ = {:+.2f} [{:+.2f}, {:+.2f}]", c.rho, c.low, c.high)
                                                 : "undefined (a measure does not vary)";
            if (!std::isfinite(c.rho)) r.p = kNaN;
        }
        claims.push_back(p);
    }

    std::vector<double> ps;
    for (const auto& c : claims)
        ps.push_back(c.result.p);
    const auto adjusted = stats::holm(ps);
    int tested = 0;
    for (double p : ps)
        tested += std::isfinite(p);
    const double alpha_each = tested ? options.alpha / tested : options.alpha;  // Holm's first step, for power
    std::vector<ClaimResult> out;
    for (std::size_t i = 0; i < claims.size(); ++i) {
        auto& c = claims[i];
        auto& r = c.result;
        r.p_adjusted = adjusted[i];
        if (!std::isfinite(r.p)) {
            r.verdict = ClaimVerdict::NotTested;
            r.seeds_needed = -1;
            out.push_back(r);
            continue;
        }
        const bool along = c.tested_effect * c.expected_sign > 0;
        if (r.p_adjusted < options.alpha)
            r.verdict = along ? ClaimVerdict::Supported : ClaimVerdict::Contradicted;
        else
            r.verdict = ClaimVerdict::Inconclusive;
        if (r.verdict != ClaimVerdict::Inconclusive) {
            r.seeds_needed = -1;
            r.needed_text = "";
        } else if (c.kind == Pending::Kind::Means) {
            r.seeds_needed = stats::seeds_needed(c.tested_effect, c.sd, c.paired, alpha_each, options.power);
            r.needed_text =
                r.seeds_needed < 0
                    ? "no effect observed: no number of seeds is predicted to settle it"
                    : fmt::format(
                          "about {} seeds per configuration ({}, observed effect and spread, power {:.0f}%, "
                          "two-sided level {:.3g} = Holm's first step)",
                          r.seeds_needed, c.paired ? "paired" : "unpaired", 100 * options.power, alpha_each);
        } else if (c.kind == Pending::Kind::Proportion) {
            r.seeds_needed = stats::binomial_runs_needed(alpha_each / 2);  // two-sided test
            r.needed_text = fmt::format("at least {} runs, all with the same verdict, reach level {:.3g}",
                                        r.seeds_needed, alpha_each);
        } else {
            const double rho = std::clamp(std::fabs(r.effect), 1e-9, 0.999999);
            const double z = stats::normal_quantile(1 - alpha_each / 2) + stats::normal_quantile(options.power);
            const double n = 3 + (1 + rho * rho / 2) * std::pow(z / std::atanh(rho), 2);
            r.seeds_needed = std::isfinite(n) ? static_cast<int>(std::min(1e6, std::ceil(n))) : -1;
            r.needed_text = fmt::format("about {} runs for the observed ρ (Fisher-z, power {:.0f}%, level {:.3g})",
                                        r.seeds_needed, 100 * options.power, alpha_each);
        }
        out.push_back(r);
    }
    return out;
}

}  // namespace normout
