#include "engine/attacks/masking.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>

namespace normout {

namespace {

std::string pct(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f%%", 100.0 * v);
    return buf;
}

std::string points(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%+.1f", 100.0 * v);
    return buf;
}

std::string interval_text(const Interval& ci, double level) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "%.3g%% CI [%+.1f, %+.1f]", 100.0 * level, 100.0 * ci.low, 100.0 * ci.high);
    return buf;
}

PairedCounts pair_counts(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b) {
    PairedCounts c;
    for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
        if (a[i] && b[i])
            ++c.both;
        else if (a[i])
            ++c.only_a;
        else if (b[i])
            ++c.only_b;
        else
            ++c.neither;
    }
    return c;
}

// The accuracy that goes with the per-image flags. Every attack counts robust images (correct
// when clean and after the attack), so this is its accuracy, except for PGD-T's "thesis" mode,
// whose accuracy is a rate over (image, target) pairs: its paired comparison uses the images
// robust under every target instead.
double paired_accuracy(const AttackResult& r) {
    if (r.target_mode != "thesis" || r.n <= 0) return r.accuracy;
    return static_cast<double>(std::count(r.robust.begin(), r.robust.end(), uint8_t{1})) / static_cast<double>(r.n);
}

// A flag whose computation waits for the adjusted quantile (known once all flags are counted).
struct Pending {
    MaskingFlag flag;
    std::function<void(MaskingFlag&, double alpha_each, double min_gap)> decide;
};

// gap = acc(stronger) - acc(weaker) from paired outcomes; raised when its interval clears min_gap.
Pending paired_flag(const std::string& name, const std::string& title, const AttackResult* stronger,
                    const AttackResult* weaker, const std::string& norm, double eps) {
    Pending p;
    p.flag.name = name;
    p.flag.title = title;
    p.flag.norm = norm;
    p.flag.eps = eps;
    if (!stronger || !weaker) {
        p.flag.evidence = "not tested: needs " + std::string(!stronger ? "the stronger" : "the weaker") + " attack";
        return p;
    }
    p.flag.tested = true;
    p.decide = [stronger, weaker](MaskingFlag& f, double alpha_each, double min_gap) {
        const double z = normal_quantile_two_sided(1.0 - alpha_each);
        f.a = paired_accuracy(*stronger);
        f.b = paired_accuracy(*weaker);
        f.gap = f.a - f.b;
        f.n = stronger->n;
        f.ci = paired_difference_interval(pair_counts(stronger->robust, weaker->robust), z);
        f.raised = f.ci.low > min_gap;
        f.evidence = attack_label(stronger->attack, stronger->norm) + " " + pct(f.a) + " vs " +
                     attack_label(weaker->attack, weaker->norm) +
                     (weaker->target_mode == "thesis" ? " (every target)" : "") + " " + pct(f.b) + ": gap " +
                     points(f.gap) + " points, " + interval_text(f.ci, 1.0 - alpha_each);
    };
    return p;
}

Pending fraction_flag(const std::string& name, const std::string& title, const std::string& norm, double eps,
                      int64_t count, int64_t n, const std::string& what) {
    Pending p;
    p.flag.name = name;
    p.flag.title = title;
    p.flag.norm = norm;
    p.flag.eps = eps;
    if (n <= 0) {
        p.flag.evidence = "not tested: no images";
        return p;
    }
    p.flag.tested = true;
    p.decide = [count, n, what](MaskingFlag& f, double alpha_each, double min_gap) {
        const double z = normal_quantile_two_sided(1.0 - alpha_each);
        f.count = count;
        f.n = n;
        f.a = static_cast<double>(count) / static_cast<double>(n);
        f.b = 0;
        f.gap = f.a;
        f.ci = wilson_interval(count, n, z);
        f.raised = f.ci.low > min_gap;
        f.evidence = what + ": " + std::to_string(count) + " of " + std::to_string(n) + " = " + pct(f.a) + ", " +
                     interval_text(f.ci, 1.0 - alpha_each);
    };
    return p;
}

void add_eps_flags(const AttackReport& r, const std::string& norm, double eps, std::vector<Pending>& out) {
    const AttackResult* fgsm = r.find("fgsm", norm, eps);
    const AttackResult* pgd = r.find("pgd-ce", norm, eps);
    const AttackResult* pgdt = r.find("pgd-t", norm, eps);
    const AttackResult* square = r.find("square", norm, eps);
    const AttackResult* noise = r.find("noise", norm, eps);
    out.push_back(
        paired_flag("one_step_beats_iterative", "one-step attack beats the iterative one", pgd, fgsm, norm, eps));
    out.push_back(
        paired_flag("black_box_beats_white_box", "black-box attack beats the white-box one", pgd, square, norm, eps));
    if (noise && pgd) {
        int64_t count = 0;
        for (std::size_t i = 0; i < pgd->robust.size() && i < noise->robust.size(); ++i)
            count += (pgd->robust[i] && !noise->robust[i]) ? 1 : 0;
        out.push_back(fraction_flag("noise_beats_gradient", "random noise finds what PGD misses", norm, eps, count,
                                    pgd->n, "fooled by noise, not by PGD-CE"));
    } else {
        Pending p;
        p.flag.name = "noise_beats_gradient";
        p.flag.title = "random noise finds what PGD misses";
        p.flag.norm = norm;
        p.flag.eps = eps;
        p.flag.evidence = "not tested: needs noise and pgd-ce";
        out.push_back(p);
    }
    out.push_back(paired_flag("untargeted_weaker_than_targeted", "untargeted PGD leaves more correct than targeted",
                              pgd, pgdt, norm, eps));
    const GradientProbeResult* probe = nullptr;
    for (const auto& p : r.probes)
        if (p.norm == norm && std::fabs(p.eps - eps) <= 1e-12) probe = &p;
    if (probe) {
        char what[160];
        std::snprintf(what, sizeof what, "zero CE gradient %lld, margin flat within %.3g logits %lld",
                      static_cast<long long>(probe->ce_zero), probe->grad_tol,
                      static_cast<long long>(probe->flat_margin));
        out.push_back(fraction_flag("vanishing_gradients", "input gradients vanish", norm, eps, probe->vanishing,
                                    probe->n, what));
    } else {
        Pending p;
        p.flag.name = "vanishing_gradients";
        p.flag.title = "input gradients vanish";
        p.flag.norm = norm;
        p.flag.eps = eps;
        p.flag.evidence = "not tested: gradient probe off";
        out.push_back(p);
    }
}

void add_sweep_flags(const AttackReport& r, const std::string& norm, std::vector<Pending>& out) {
    std::vector<const AttackResult*> sweep;
    for (const auto& x : r.results)
        if (x.role == "sweep" && x.norm == norm && x.attack == "pgd-ce") sweep.push_back(&x);
    std::sort(sweep.begin(), sweep.end(), [](const AttackResult* a, const AttackResult* b) { return a->eps < b->eps; });
    const AttackResult* clean = r.find("clean", "", 0);
    std::vector<const AttackResult*> curve;  // accuracy over eps, clean at eps 0
    if (clean) curve.push_back(clean);
    curve.insert(curve.end(), sweep.begin(), sweep.end());

    Pending mono;
    mono.flag.name = "eps_sweep_not_monotone";
    mono.flag.title = "accuracy rises with eps";
    mono.flag.norm = norm;
    Pending unb;
    unb.flag.name = "unbounded_not_zero";
    unb.flag.title = "unbounded attack leaves images correct";
    unb.flag.norm = norm;
    if (sweep.empty()) {
        mono.flag.evidence = unb.flag.evidence = "not tested: no eps sweep";
        out.push_back(mono);
        out.push_back(unb);
        return;
    }
    mono.flag.eps = sweep.back()->eps;
    if (curve.size() >= 2) {
        // The pair (smaller eps, larger eps) with the largest rise; the adjustment counts every pair.
        std::size_t lo = 0, hi = 1;
        double worst = -2;
        for (std::size_t j = 1; j < curve.size(); ++j)
            for (std::size_t i = 0; i < j; ++i)
                if (curve[j]->accuracy - curve[i]->accuracy > worst) {
                    worst = curve[j]->accuracy - curve[i]->accuracy;
                    lo = i;
                    hi = j;
                }
        const double pairs = static_cast<double>(curve.size() * (curve.size() - 1) / 2);
        const AttackResult* small = curve[lo];
        const AttackResult* large = curve[hi];
        mono.flag.tested = true;
        mono.decide = [small, large, pairs, norm](MaskingFlag& f, double alpha_each, double min_gap) {
            const double level_alpha = alpha_each / pairs;
            const double z = normal_quantile_two_sided(1.0 - level_alpha);
            f.a = large->accuracy;
            f.b = small->accuracy;
            f.gap = f.a - f.b;
            f.n = large->n;
            f.ci = paired_difference_interval(pair_counts(large->robust, small->robust), z);
            f.raised = f.ci.low > min_gap;
            f.evidence = "largest rise: eps " + format_eps(large->eps, norm) + " " + pct(f.a) + " vs eps " +
                         (small->attack == "clean" ? std::string("0") : format_eps(small->eps, norm)) + " " + pct(f.b) +
                         ": gap " + points(f.gap) + " points, " + interval_text(f.ci, 1.0 - level_alpha);
        };
    } else {
        mono.flag.evidence = "not tested: one sweep point";
    }
    out.push_back(mono);

    const AttackResult* top = nullptr;
    for (const auto* x : sweep)
        if (x->unbounded) top = x;
    if (!top) {
        unb.flag.evidence = "not tested: the sweep has no unbounded eps (inf)";
        out.push_back(unb);
        return;
    }
    Pending f = fraction_flag("unbounded_not_zero", unb.flag.title, norm, top->eps, top->correct, top->n,
                              "PGD-CE accuracy at eps " + format_eps(top->eps, norm) + " (unbounded)");
    out.push_back(f);
}

}  // namespace

MaskingDiagnosis diagnose(const AttackReport& report, const MaskingThresholds& t) {
    std::vector<Pending> pending;
    for (const auto& norm : report.config.norms) {
        const auto& eps_list = norm == "linf" ? report.config.eps_linf : report.config.eps_l2;
        for (double eps : eps_list)
            add_eps_flags(report, norm, eps, pending);
        add_sweep_flags(report, norm, pending);
    }
    MaskingDiagnosis d;
    d.alpha = t.alpha;
    d.min_gap = t.min_gap;
    for (const auto& p : pending)
        d.tested += p.flag.tested ? 1 : 0;
    const double alpha_each = d.tested > 0 ? t.alpha / d.tested : t.alpha;
    d.level = 1.0 - alpha_each;
    std::string raised_names, untested_names;
    for (auto& p : pending) {
        if (p.flag.tested && p.decide) p.decide(p.flag, alpha_each, t.min_gap);
        if (p.flag.raised) {
            ++d.raised;
            raised_names += (raised_names.empty() ? "" : ", ") + p.flag.name;
        }
        if (!p.flag.tested && untested_names.find(p.flag.name) == std::string::npos)
            untested_names += (untested_names.empty() ? "" : ", ") + p.flag.name;
        d.flags.push_back(p.flag);
    }
    d.masking_likely = d.raised > 0;
    if (d.masking_likely)
        d.verdict = "gradient masking likely: " + std::to_string(d.raised) + " of " + std::to_string(d.tested) +
                    " red flags raised (" + raised_names + ")";
    else if (d.tested > 0)
        d.verdict = "gradient masking not detected: none of " + std::to_string(d.tested) + " red flags raised";
    else
        d.verdict = "gradient masking not assessed: no red flag could be tested";
    if (!d.masking_likely && !untested_names.empty()) d.verdict += " (untested: " + untested_names + ")";
    if (d.verdict.size() > 250) d.verdict = d.verdict.substr(0, 247) + "...";
    return d;
}

}  // namespace normout
