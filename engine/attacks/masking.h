#pragma once
// The gradient-masking diagnosis: Athalye, Carlini and Wagner (2018)'s red flags, each decided
// from the attack results with its numbers. No torch.
//
// Each flag estimates a gap that is <= 0 for a model whose gradients are informative and tests
// it against sampling noise: it is raised only when the whole confidence interval of the gap lies
// above `min_gap`. The intervals are Bonferroni-adjusted over the flags tested (level
// 1 - alpha / m each), so an ordinary model raises any flag with probability at most alpha.
// Accuracies of two attacks are compared image by image (paired; Newcombe's interval). Every
// attack counts an image as robust only when it is correct when clean and after the attack
// (AutoAttack's convention, suite.h), so all accuracies compared share that meaning; PGD-T's
// "thesis" mode is compared through its per-image flags (robust under every target), not its
// rate over (image, target) pairs.
//
//   one_step_beats_iterative     acc(PGD-CE) - acc(FGSM): PGD starts where FGSM steps and keeps
//                                its best iterate, so a one-step attack must not do better.
//   black_box_beats_white_box    acc(PGD-CE) - acc(Square): with true gradients a white-box
//                                attack is at least as strong as a query-only search.
//   noise_beats_gradient         fraction of images fooled by random noise in the ball but not
//                                by PGD-CE.
//   untargeted_weaker_than_targeted  acc(PGD-CE) - acc(PGD-T): any hit of the targeted attack is
//                                a misclassification, so the untargeted attack (any wrong class)
//                                must not leave more images correct than the targeted one (one
//                                given wrong class). PGD-CE far *above* PGD-T is the red flag
//                                (the thesis's SpatiotemporalMax: 84.8% vs 16.2%).
//   vanishing_gradients          fraction of correctly classified images whose cross-entropy
//                                input gradient is exactly zero, or whose margin can change by
//                                less than grad_tol logits over the whole ball to first order.
//   eps_sweep_not_monotone       largest acc(eps_b) - acc(eps_a) with eps_a < eps_b over the
//                                PGD-CE sweep (clean accuracy at eps 0): a larger ball contains
//                                the smaller, so accuracy must not rise.
//   unbounded_not_zero           acc(PGD-CE) at the unbounded budget, where any image can be
//                                turned into any other, so it must reach 0.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/attacks/report.h"

namespace normout {

struct MaskingFlag {
    std::string name;   // as above
    std::string title;  // in words
    std::string norm;
    double eps = 0;  // the attacks' eps; the largest sweep eps for the sweep flags
    bool tested = false;
    bool raised = false;
    double gap = kNaN;          // the estimated gap (> 0 points towards masking)
    Interval ci{kNaN, kNaN};    // at the adjusted level
    double a = kNaN, b = kNaN;  // the two accuracies (or fractions) behind the gap
    int64_t n = 0;
    int64_t count = 0;     // images behind a fraction
    std::string evidence;  // one line with the numbers, or why it was not tested
};

struct MaskingDiagnosis {
    std::vector<MaskingFlag> flags;
    int tested = 0;
    int raised = 0;
    bool masking_likely = false;
    std::string verdict;  // one line
    double alpha = 0.05, min_gap = 0.02;
    double level = 0.95;  // confidence level of each flag's interval after the adjustment
};

MaskingDiagnosis diagnose(const AttackReport& report, const MaskingThresholds& thresholds);
inline MaskingDiagnosis diagnose(const AttackReport& report) {
    return diagnose(report, report.config.masking);
}

}  // namespace normout
