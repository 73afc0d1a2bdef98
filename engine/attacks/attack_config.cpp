#include "engine/attacks/attack_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>

#include "engine/config/config.h"
#include "engine/rng.h"

namespace normout {

namespace {

[[noreturn]] void fail(const std::string& field, const std::string& why) {
    throw ConfigError(field, why);
}

void check_eps_list(const std::vector<double>& list, const std::string& field, bool allow_unbounded) {
    for (double e : list) {
        const bool unbounded = allow_unbounded && e == kUnboundedEps;
        if (!unbounded && !(std::isfinite(e) && e > 0))
            fail(field, "every eps must be a positive finite number" +
                            std::string(allow_unbounded ? " or \"inf\" (unbounded)" : ""));
    }
}

}  // namespace

void validate(const AttackConfig& c) {
    static const std::vector<std::string> known = {"fgsm", "pgd-ce", "pgd-t", "square", "noise"};
    for (const auto& a : c.attacks)
        if (std::find(known.begin(), known.end(), a) == known.end())
            fail("attack.attacks", "unknown attack \"" + a + "\" (known: fgsm, pgd-ce, pgd-t, square, noise)");
    if (c.norms.empty()) fail("attack.norms", "needs at least one of linf, l2");
    for (const auto& n : c.norms)
        if (n != "linf" && n != "l2") fail("attack.norms", "must be \"linf\" or \"l2\", not \"" + n + "\"");
    check_eps_list(c.eps_linf, "attack.eps_linf", false);
    check_eps_list(c.eps_l2, "attack.eps_l2", false);
    for (const auto& e : c.eps_linf)
        if (e > 1.0) fail("attack.eps_linf", "must be <= 1 (pixels are in [0, 1])");
    if (c.steps < 1 || c.steps > 100000) fail("attack.steps", "must be between 1 and 100000");
    if (!(c.step_ratio > 0) || !std::isfinite(c.step_ratio)) fail("attack.step_ratio", "must be > 0");
    if (c.restarts < 1 || c.restarts > 1000) fail("attack.restarts", "must be between 1 and 1000");
    if (c.targets != "random" && c.targets != "all" && c.targets != "thesis")
        fail("attack.targets", "must be \"random\", \"all\" or \"thesis\", not \"" + c.targets + "\"");
    if (c.square_queries < 1) fail("attack.square_queries", "must be >= 1");
    if (!(c.square_p_init > 0 && c.square_p_init <= 1)) fail("attack.square_p_init", "must be in (0, 1]");
    if (c.noise_samples < 1) fail("attack.noise_samples", "must be >= 1");
    check_eps_list(c.sweep_linf, "attack.sweep_linf", true);
    check_eps_list(c.sweep_l2, "attack.sweep_l2", true);
    for (const auto& e : c.sweep_linf)
        if (e != kUnboundedEps && e > 1.0) fail("attack.sweep_linf", "must be <= 1 (use inf for unbounded)");
    if (c.n < 0) fail("attack.n", "must be >= 0 (0 = the whole test set)");
    if (c.batch_size < 1) fail("attack.batch_size", "must be >= 1");
    if (c.eot_samples < 1) fail("attack.eot_samples", "must be >= 1");
    if (!(c.masking.alpha > 0 && c.masking.alpha < 1)) fail("attack.masking.alpha", "must be in (0, 1)");
    if (!(c.masking.min_gap >= 0 && c.masking.min_gap < 1)) fail("attack.masking.min_gap", "must be in [0, 1)");
    if (!(c.masking.grad_tol >= 0) || !std::isfinite(c.masking.grad_tol))
        fail("attack.masking.grad_tol", "must be >= 0");
}

std::vector<int64_t> attack_subset(int64_t count, int64_t n, uint64_t seed) {
    return seeded_subset(count, n, seed, 0xa77ac5);
}

double parse_eps(const std::string& text, const std::string& field) {
    if (text == "inf" || text == "unbounded") return kUnboundedEps;
    try {
        std::size_t used = 0;
        const auto slash = text.find('/');
        double value;
        if (slash == std::string::npos) {
            value = std::stod(text, &used);
            if (used != text.size()) throw std::invalid_argument(text);
        } else {
            const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
            const double num = std::stod(a, &used);
            if (used != a.size()) throw std::invalid_argument(text);
            const double den = std::stod(b, &used);
            if (used != b.size() || den == 0) throw std::invalid_argument(text);
            value = num / den;
        }
        if (!(std::isfinite(value) && value > 0)) throw std::invalid_argument(text);
        return value;
    } catch (const std::exception&) {
        fail(field, "\"" + text + "\" is not a positive number, a fraction like 8/255, or inf");
    }
}

std::string format_eps(double eps, const std::string& norm) {
    if (std::isinf(eps)) return "unbounded";
    char buf[64];
    if (norm == "linf") {
        const double k = eps * 255.0;
        if (eps == 1.0) return "1";
        if (std::fabs(k - std::round(k)) < 1e-6 && std::round(k) >= 1) {
            std::snprintf(buf, sizeof buf, "%.0f/255", std::round(k));
            return buf;
        }
    }
    std::snprintf(buf, sizeof buf, "%.4g", eps);
    return buf;
}

}  // namespace normout
