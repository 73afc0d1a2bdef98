#include "engine/runfile/notable_units.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace normout {

std::optional<NotableKind> parse_notable_kind(const std::string& name) {
    if (name == "dead") return NotableKind::Dead;
    if (name == "saturated") return NotableKind::Saturated;
    if (name == "undropped") return NotableKind::Undropped;
    if (name == "changed") return NotableKind::Changed;
    return std::nullopt;
}

std::string notable_name(NotableKind kind) {
    switch (kind) {
        case NotableKind::Dead:
            return "dead";
        case NotableKind::Saturated:
            return "saturated";
        case NotableKind::Undropped:
            return "undropped";
        case NotableKind::Changed:
            return "changed";
    }
    return "";
}

std::string notable_description(NotableKind kind) {
    switch (kind) {
        case NotableKind::Dead:
            return "dead (only zeros over the epoch; score: values seen)";
        case NotableKind::Saturated:
            return "saturated (never zero over the epoch; score: values seen)";
        case NotableKind::Undropped:
            return "undropped (keep probability >= 0.95 throughout the epoch; score: values seen)";
        case NotableKind::Changed:
            return "most changed (score: total-variation distance of the histograms)";
    }
    return "";
}

double unit_total(const UnitHistograms& h, int64_t unit) {
    double n = 0;
    for (int s = 0; s < h.bins + 3; ++s)
        n += h.unit(unit)[s];
    return n;
}

double unit_change(const UnitHistograms& before, const UnitHistograms& after, int64_t unit) {
    const double na = unit_total(before, unit), nb = unit_total(after, unit);
    if (na <= 0 || nb <= 0) return na == nb ? 0.0 : 1.0;
    double d = 0;
    for (int s = 0; s < after.bins + 3; ++s)
        d += std::fabs(before.unit(unit)[s] / na - after.unit(unit)[s] / nb);
    return d / 2;
}

std::vector<NotableUnit> notable_units(const UnitHistograms& h, NotableKind kind, const UnitHistograms* before,
                                       int top) {
    std::vector<NotableUnit> found;
    switch (kind) {
        case NotableKind::Dead:
            for (int64_t u = 0; u < h.units; ++u)
                if (const double n = unit_total(h, u); n > 0 && h.unit(u)[0] == n) found.push_back({u, n});
            break;
        case NotableKind::Saturated:
            for (int64_t u = 0; u < h.units; ++u)
                if (const double n = unit_total(h, u); n > 0 && h.unit(u)[0] == 0) found.push_back({u, n});
            break;
        case NotableKind::Undropped:
            if (h.keep.empty())
                throw std::invalid_argument("layer " + std::to_string(h.layer) +
                                            " has no keep probabilities (only NormOut and Dropout layers have them)");
            for (int64_t u = 0; u < h.units; ++u) {
                const double* k = h.keep.data() + u * kKeepHistogramBins;
                double n = 0;
                for (int b = 0; b < kKeepHistogramBins; ++b)
                    n += k[b];
                if (n > 0 && k[kKeepHistogramBins - 1] == n) found.push_back({u, n});
            }
            break;
        case NotableKind::Changed:
            if (!before || before->units != h.units || before->bins != h.bins ||
                before->counts.size() != h.counts.size())
                throw std::invalid_argument("the units' change needs an earlier epoch of the same layer");
            for (int64_t u = 0; u < h.units; ++u)
                found.push_back({u, unit_change(*before, h, u)});
            std::stable_sort(found.begin(), found.end(),
                             [](const NotableUnit& x, const NotableUnit& y) { return x.score > y.score; });
            if (found.size() > static_cast<std::size_t>(std::max(top, 0))) found.resize(static_cast<std::size_t>(top));
            break;
    }
    return found;
}

}  // namespace normout
