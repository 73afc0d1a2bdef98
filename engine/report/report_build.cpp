#include "engine/report/report_build.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <ctime>
#include <limits>
#include <map>
#include <set>
#include <stdexcept>

#include "engine/config/presets.h"
#include "engine/report/stats.h"
#include "engine/runfile/run_file.h"
#include "engine/version.h"

namespace normout {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The thesis's own numbers (Tables 3.4, 3.5 and 3.6), by preset; accuracies come from the presets.
struct ThesisRow {
    double fisher_rao = kNaN;
    double fgsm = kNaN, pgd_ce = kNaN, pgd_t = kNaN, square = kNaN;  // L-inf, percent
    double l2_pgd_ce = kNaN, l2_pgd_t = kNaN;
};

const std::map<std::string, ThesisRow>& thesis_rows() {
    static const std::map<std::string, ThesisRow> rows = {
        {"thesis/baseline", {31.8, 13.2, 4.8, 11.7, 0, 5.14, 5.33}},
        {"thesis/dropout-48-51", {7.68, 8.98, 3.5, 11, 0, 5.23, 5.15}},
        {"thesis/spatialmax-48-51", {117.8, 56.3, 36.3, 14.2, 0, 79.9, 5.14}},
        {"thesis/temporalmax-48-51", {90.56, 30.9, 7.4, 12.3, 0, 5.62, 10.5}},
        {"thesis/spatiotemporalmax-48-51", {175.4, 89.1, 84.8, 16.2, 0, 84.8, 16.2}},
        {"thesis/spatiotemporal-softmax-48-51-T50", {13.6, 21.1, 5.43, 10.8, 0, 33.2, 11.2}},
        {"thesis/spatiotemporal-softmax-48-51-T80", {10.92, 17.4, 5.67, 10.3, 0, 15.3, 11.3}},
        {"thesis/temporal-softmax-48-51-T10", {10.68, 33.9, 16.4, 11.2, 0}},
        {"thesis/temporal-softmax-48-51-T25", {kNaN, 22.2, 5.56, 10.4, 0}},
        {"thesis/temporal-softmax-48-51-T50", {9.4, 22.2, 5.56, 10.4, 0}},
        {"thesis/temporal-softmax-48-51-T100", {4.2, 22.2, 5.56, 10.4, 0, 5.67, 10.2}},
        {"thesis/temporal-softmax-48-51-T150", {7.14}},
    };
    return rows;
}

// The thesis preset a group corresponds to: its runs' preset, else the one its role names.
std::string thesis_preset(const RunSummary& run, const ConfigGroup& g) {
    if (run.preset.rfind("thesis/", 0) == 0) return run.preset;
    return g.role.empty() ? "" : "thesis/" + g.role;
}

std::string cell(const std::vector<double>& values, int decimals, bool significant = false) {
    const stats::MeanInterval m = stats::mean_interval(values);
    if (m.n == 0) return "–";
    auto f = [&](double v) {
        return significant ? fmt::format("{:.{}g}", v, decimals) : fmt::format("{:.{}f}", v, decimals);
    };
    std::string s = f(m.mean);
    if (m.n > 1) s += " ± " + (significant ? fmt::format("{:.2g}", m.high - m.mean) : f(m.high - m.mean));
    return s;
}

std::string thesis_cell(double v, int decimals = 2) {
    return std::isfinite(v) && v >= 0 ? fmt::format("{:.{}f}", v, decimals) : "";
}

std::vector<double> collect(const std::vector<RunSummary>& runs, const ConfigGroup& g,
                            const std::function<double(const RunSummary&)>& f) {
    std::vector<double> v;
    for (std::size_t i : g.runs)
        v.push_back(f(runs[i]));
    return v;
}

std::string group_name(const ConfigGroup& g) {
    return g.label + (g.runs.size() > 1 ? fmt::format(" ({} seeds)", g.runs.size()) : "");
}

// What scale the runs are at, against the thesis's (VGG-16-BN at full width on CIFAR-10,
// 50,000 training images, 100 epochs).
std::string scale_statement(const std::vector<RunSummary>& runs) {
    std::set<std::string> datasets;
    std::set<double> widths;
    std::set<int> epochs;
    int64_t min_train = -1;
    for (const auto& r : runs) {
        datasets.insert(r.dataset);
        epochs.insert(r.epochs);
        const auto c = nlohmann::json::parse(r.config_json, nullptr, false);
        if (c.is_object() && c.contains("model") && c["model"].is_object())
            widths.insert(c["model"].value("width", 1.0));
        if (min_train < 0 || r.train_count < min_train) min_train = r.train_count;
    }
    auto join = [](const auto& set, auto fmt_one) {
        std::string s;
        for (const auto& x : set)
            s += (s.empty() ? "" : ", ") + fmt_one(x);
        return s;
    };
    const bool thesis_scale = datasets == std::set<std::string>{"cifar10"} && widths == std::set<double>{1.0} &&
                              epochs == std::set<int>{100} && min_train >= 50000;
    std::string s = fmt::format("Data: {}; model width: {}; epochs: {}; at least {} training images per run.",
                                join(datasets, [](const std::string& d) { return d; }),
                                join(widths, [](double w) { return fmt::format("{:g}", w); }),
                                join(epochs, [](int e) { return std::to_string(e); }), min_train);
    if (!thesis_scale)
        s += " This is not the thesis's scale (VGG-16-BN at full width on all 50,000 CIFAR-10 training images for 100 "
             "epochs): the verdicts are about these runs, and say what they can and cannot settle at this scale; "
             "they are not a replication of the thesis's numbers.";
    return s;
}

}  // namespace

Report build_report(const std::vector<std::string>& given, const ReportOptions& options) {
    Report report;
    const auto paths = collect_run_paths(given);
    if (paths.empty()) throw std::invalid_argument("no run files found in the paths given");
    // Runs still training, stopped or failed are listed, not tested: their last epoch is not the
    // end of their training.
    std::vector<RunSummary> unfinished;
    for (const auto& p : paths) {
        RunSummary s = read_run_summary(p);
        (s.status == "finished" ? report.runs : unfinished).push_back(std::move(s));
    }
    if (report.runs.empty())
        throw std::invalid_argument("none of the " + std::to_string(unfinished.size()) +
                                    " runs found has finished training: nothing to test yet");
    report.groups = group_runs(report.runs);
    report.claims = evaluate_claims(report.runs, report.groups, options.claims);
    const auto& runs = report.runs;
    const auto& groups = report.groups;
    Document& doc = report.document;
    doc.title = options.title;
    doc.subtitle = fmt::format("{} finished run{} in {} configuration{}{}; made {} by NormOut Lab {}", runs.size(),
                               runs.size() == 1 ? "" : "s", groups.size(), groups.size() == 1 ? "" : "s",
                               unfinished.empty() ? "" : fmt::format(" ({} unfinished left out)", unfinished.size()),
                               utc_now_iso8601(), code_version());

    doc.heading("What these runs say");
    doc.paragraph(scale_statement(runs));
    if (!unfinished.empty()) {
        std::string names;
        for (const auto& u : unfinished)
            names += (names.empty() ? "" : ", ") + u.path + " (" + u.status + ")";
        doc.paragraph(fmt::format("{} run{} left out because {} not finished training: {}.", unfinished.size(),
                                  unfinished.size() == 1 ? " is" : "s are",
                                  unfinished.size() == 1 ? "it has" : "they have", names));
    }
    {
        TableBlock t;
        t.title = "The thesis's claims, tested on these runs";
        t.header = {"Claim",   "Compared",        "Runs",  "Effect [95% interval]", "p", "p (Holm)",
                    "Verdict", "Seeds to settle", "Thesis"};
        for (const auto& c : report.claims) {
            t.rows.push_back(
                {"(" + c.id + ") " + c.statement, c.compared, std::to_string(c.runs),
                 c.effect_text.empty() ? "–" : c.effect_text, std::isfinite(c.p) ? fmt::format("{:.3g}", c.p) : "–",
                 std::isfinite(c.p_adjusted) ? fmt::format("{:.3g}", c.p_adjusted) : "–", verdict_name(c.verdict),
                 c.seeds_needed > 0 ? std::to_string(c.seeds_needed) : "–", c.thesis});
        }
        t.note = fmt::format(
            "Verdicts at a family-wise error rate of {:g} over the tested claims (Holm's step-down method): "
            "supported or contradicted when the adjusted p is below it, in the direction of the effect; "
            "inconclusive otherwise. Thesis: the thesis's own numbers, from single runs at its scale.",
            options.claims.alpha);
        doc.table(t);
    }
    for (const auto& c : report.claims) {
        std::string text = fmt::format("({}) {}. Verdict: {}.", c.id, c.statement, verdict_name(c.verdict));
        if (!c.measure.empty()) text += " Measure: " + c.measure + ".";
        if (!c.method.empty()) text += " Test: " + c.method + ".";
        if (!c.effect_text.empty()) text += " Effect: " + c.effect_text + ".";
        if (!c.needed_text.empty()) text += " To settle it: " + c.needed_text + ".";
        if (!c.detail.empty()) text += " " + c.detail;
        doc.paragraph(text);
    }

    // Figures: accuracy and Fisher-Rao per configuration, and the correlation of claim (f).
    {
        Chart acc;
        acc.title = "Test accuracy per configuration (mean, 95% interval, seeds; ◇ thesis)";
        acc.x_label = "test accuracy (%)";
        acc.zero_line = kNaN;
        Chart fr;
        fr.title = "Fisher-Rao norm (empirical) per configuration (geometric mean, 95% interval, seeds; ◇ thesis)";
        fr.x_label = "Fisher-Rao norm (log scale)";
        fr.x_log = true;
        fr.zero_line = kNaN;
        for (const auto& g : groups) {
            const RunSummary& first = runs[g.runs.front()];
            const std::string preset = thesis_preset(first, g);
            const Preset* p = find_preset(preset);
            IntervalItem a;
            a.label = group_name(g);
            a.observations = stats::finite(collect(runs, g, [](const RunSummary& r) { return r.test_accuracy; }));
            const auto ma = stats::mean_interval(a.observations);
            a.estimate = ma.n ? ma.mean : kNaN;
            a.low = ma.low;
            a.high = ma.high;
            a.reference = p && p->thesis_test_accuracy >= 0 ? p->thesis_test_accuracy : kNaN;
            acc.items.push_back(a);
            IntervalItem f;
            f.label = a.label;
            f.observations =
                stats::finite(collect(runs, g, [](const RunSummary& r) { return r.fisher_rao_empirical; }));
            // Norms are compared on the log scale (claims c, d): the geometric mean and its interval.
            std::vector<double> logs;
            for (double o : f.observations)
                if (o > 0) logs.push_back(std::log(o));
            const auto mf = stats::mean_interval(logs);
            f.estimate = mf.n ? std::exp(mf.mean) : kNaN;
            f.low = std::exp(mf.low);
            f.high = std::exp(mf.high);
            const auto t = thesis_rows().find(preset);
            f.reference = t == thesis_rows().end() ? kNaN : t->second.fisher_rao;
            fr.items.push_back(f);
        }
        doc.heading("Figures", 2);
        doc.figure(acc);
        doc.figure(fr);
        Chart scatter;
        scatter.kind = Chart::Kind::Scatter;
        scatter.title = "Claim (f): Fisher-Rao norm against PGD-CE L-inf accuracy, one point per run";
        scatter.x_label = "Fisher-Rao norm (empirical, log scale)";
        scatter.y_label = "PGD-CE L-inf accuracy (%)";
        scatter.x_log = true;
        for (const auto& g : groups)
            for (std::size_t i : g.runs) {
                const auto it = runs[i].attacks.find("linf/pgd-ce");
                if (it != runs[i].attacks.end() && runs[i].fisher_rao_empirical > 0)
                    scatter.points.push_back({runs[i].fisher_rao_empirical, it->second.accuracy, g.label});
            }
        if (!scatter.points.empty()) doc.figure(scatter);
    }

    doc.heading("The thesis's tables, with 95% intervals over seeds");
    doc.paragraph(
        "Each cell is the mean over a configuration's seeds ± the half-width of its 95% t interval (no interval for "
        "a single run). Columns marked 'thesis' hold the thesis's own single-run numbers, for comparison only.");
    {
        TableBlock t;
        t.title = "Table 3.1: train and test accuracy (%), overfitting = |train − test|";
        t.header = {"Model", "Train", "Test", "Overfitting", "Epochs", "Test (thesis)"};
        for (const auto& g : groups) {
            const Preset* p = find_preset(thesis_preset(runs[g.runs.front()], g));
            t.rows.push_back(
                {group_name(g), cell(collect(runs, g, [](const RunSummary& r) { return r.train_accuracy; }), 2),
                 cell(collect(runs, g, [](const RunSummary& r) { return r.test_accuracy; }), 2),
                 cell(collect(runs, g,
                              [](const RunSummary& r) { return std::fabs(r.train_accuracy - r.test_accuracy); }),
                      2),
                 cell(collect(runs, g, [](const RunSummary& r) { return double(r.epochs); }), 0),
                 p ? thesis_cell(p->thesis_test_accuracy) : ""});
        }
        doc.table(t);
    }
    for (int layer : options.layers) {
        TableBlock t;
        t.title = fmt::format("Table {}: activation statistics of layer {} at the end of training (moving averages)",
                              layer == 48   ? "3.2"
                              : layer == 51 ? "3.3"
                                            : "3.2/3.3",
                              layer);
        t.header = {"Model", "Mean", "Max", "Standard deviation", "Variance", "Sparsity (%)"};
        bool any = false;
        for (const auto& g : groups) {
            auto field = [&](double LayerEnd::*m) {
                return collect(runs, g, [&](const RunSummary& r) {
                    const auto it = r.layers.find(layer);
                    return it == r.layers.end() ? kNaN : it->second.*m;
                });
            };
            const auto means = field(&LayerEnd::mean);
            any |= !stats::finite(means).empty();
            t.rows.push_back({group_name(g), cell(means, 3, true), cell(field(&LayerEnd::max), 3, true),
                              cell(field(&LayerEnd::std), 3, true), cell(field(&LayerEnd::var), 3, true),
                              cell(field(&LayerEnd::sparsity), 1)});
        }
        if (!any) t.note = fmt::format("No run instrumented layer {}.", layer);
        doc.table(t);
    }
    for (const char* norm : {"linf", "l2"}) {
        const bool linf = std::string(norm) == "linf";
        TableBlock t;
        t.title = linf ? "Table 3.4: robust accuracy (%) against L-inf attacks"
                       : "Table 3.5: robust accuracy (%) against L2 attacks";
        const std::vector<std::pair<std::string, std::string>> columns = {
            {"clean", "Clean"},   {linf ? "fgsm" : "fgm", linf ? "FGSM" : "FGM"},
            {"pgd-ce", "PGD-CE"}, {"pgd-t", "PGD-T"},
            {"square", "Square"}, {"noise", "Noise"}};
        t.header = {"Model"};
        for (const auto& c : columns)
            t.header.push_back(c.second);
        t.header.push_back(linf ? "FGSM / PGD-CE / PGD-T / Square (thesis)" : "PGD-CE / PGD-T (thesis)");
        bool any = false;
        std::set<std::string> target_modes;
        for (const auto& g : groups) {
            std::vector<std::string> row = {group_name(g)};
            for (const auto& [attack, title] : columns) {
                const std::string key = attack == "clean" ? "clean" : std::string(norm) + "/" + attack;
                const auto v = collect(runs, g, [&](const RunSummary& r) {
                    const auto it = r.attacks.find(key);
                    return it == r.attacks.end() ? kNaN : it->second.accuracy;
                });
                any |= attack != "clean" && !stats::finite(v).empty();
                for (std::size_t i : g.runs)
                    if (auto it = runs[i].attacks.find(key); it != runs[i].attacks.end() && attack == "pgd-t")
                        target_modes.insert(it->second.target_mode);
                row.push_back(cell(v, 1));
            }
            const auto th = thesis_rows().find(thesis_preset(runs[g.runs.front()], g));
            std::string thesis;
            if (th != thesis_rows().end()) {
                const auto& r = th->second;
                thesis = linf ? fmt::format("{} / {} / {} / {}", thesis_cell(r.fgsm, 1), thesis_cell(r.pgd_ce, 1),
                                            thesis_cell(r.pgd_t, 1), thesis_cell(r.square, 0))
                              : (std::isfinite(r.l2_pgd_ce)
                                     ? fmt::format("{} / {}", thesis_cell(r.l2_pgd_ce, 1), thesis_cell(r.l2_pgd_t, 1))
                                     : "");
            }
            row.push_back(thesis);
            t.rows.push_back(row);
        }
        std::string modes;
        for (const auto& m : target_modes)
            modes += (modes.empty() ? "" : ", ") + (m.empty() ? std::string("random") : m);
        t.note =
            "Robust: correct on the clean image and still correct after the attack (one convention for every "
            "attack). PGD-T targets here: " +
            (modes.empty() ? std::string("–") : modes) +
            "; the thesis's PGD-T averages over all 10 targets including the true class (`--targets thesis`), "
            "about 9 points above a wrong-class target.";
        if (!any) t.note = std::string("No run has ") + (linf ? "L-inf" : "L2") + " attack results. " + t.note;
        doc.table(t);
    }
    {
        TableBlock t;
        t.title = "Table 3.6: Fisher-Rao norm";
        t.header = {"Model", "Empirical", "Model", "Thesis"};
        for (const auto& g : groups) {
            const auto th = thesis_rows().find(thesis_preset(runs[g.runs.front()], g));
            t.rows.push_back(
                {group_name(g),
                 cell(collect(runs, g, [](const RunSummary& r) { return r.fisher_rao_empirical; }), 4, true),
                 cell(collect(runs, g, [](const RunSummary& r) { return r.fisher_rao_model; }), 4, true),
                 th == thesis_rows().end() ? "" : thesis_cell(th->second.fisher_rao)});
        }
        t.note = "Empirical: the true labels; model: labels drawn from the model's softmax (exact expectation).";
        doc.table(t);
    }

    doc.heading("Runs");
    {
        TableBlock t;
        t.title = "Every run: configuration, seed, code, device and file";
        t.header = {"Configuration", "Seed", "Epochs", "Status", "Code version", "Device", "Created", "File"};
        for (const auto& g : groups)
            for (std::size_t i : g.runs) {
                const auto& r = runs[i];
                t.rows.push_back({g.label, std::to_string(r.seed), fmt::format("{}/{}", r.epochs, r.planned_epochs),
                                  r.status, r.code_version, r.device, r.created_utc, r.path});
            }
        for (const auto& r : unfinished)
            t.rows.push_back({r.name + " (left out)", std::to_string(r.seed),
                              fmt::format("{}/{}", r.epochs, r.planned_epochs), r.status, r.code_version, r.device,
                              r.created_utc, r.path});
        t.note =
            "Configurations are named by their settings that differ (run_labels); runs equal but for the seed "
            "form one configuration.";
        doc.table(t);
    }
    doc.heading("Methods", 2);
    doc.paragraph(
        "Differences in test accuracy are paired by seed when two configurations share at least two seeds (a t "
        "interval on the per-seed differences), and compared with Welch's t test otherwise. Fisher-Rao norms are "
        "compared on the log scale (the same tests on log(norm)) and shown as ratios. Claim (e) counts the runs "
        "whose gradient-masking diagnosis (per run: Bonferroni-controlled red-flag tests) concludes masking is likely, "
        "with an exact binomial test against one half. Claim (f) is Spearman's rank correlation with a Fisher-z "
        "interval (Bonett-Wright variance) and a permutation p-value. All p-values are adjusted together with Holm's "
        "method. 'Seeds to settle' is the number of seeds per configuration with which a two-sided test at Holm's "
        "first-step level would detect the observed effect with 80% power, given the observed spread; it is an "
        "estimate from few runs, not a promise.");
    if (!options.command.empty()) {
        doc.heading("How this report was made", 2);
        doc.preformatted(options.command);
    }
    return report;
}

}  // namespace normout
