#pragma once
// How the lab writes numbers in text: percentages with a dash for missing values.
#include <QString>

#include <cmath>

namespace normout::ui {

// 0.8931 -> "89.31%"; NaN or infinity -> an en dash.
inline QString percent_text(double fraction, int decimals = 2) {
    return std::isfinite(fraction) ? QStringLiteral("%1%").arg(100 * fraction, 0, 'f', decimals)
                                   : QStringLiteral("–");
}

}  // namespace normout::ui
