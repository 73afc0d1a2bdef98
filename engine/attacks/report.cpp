#include "engine/attacks/report.h"

#include <algorithm>
#include <cmath>

namespace normout {

const AttackResult* AttackReport::find(const std::string& attack, const std::string& norm, double eps,
                                       const std::string& role) const {
    for (const auto& r : results)
        if (r.attack == attack && r.norm == norm && r.role == role &&
            std::fabs(r.eps - eps) <= 1e-9 * std::max(1.0, std::fabs(eps)))
            return &r;
    return nullptr;
}

std::string attack_label(const std::string& attack, const std::string& norm) {
    if (attack == "fgsm") return norm == "l2" ? "FGM" : "FGSM";
    if (attack == "pgd-ce") return "PGD-CE";
    if (attack == "pgd-t") return "PGD-T";
    if (attack == "square") return "Square";
    return attack;
}

}  // namespace normout
