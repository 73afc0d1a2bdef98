#pragma once
// The results of the attack suite as plain values (no torch), per image as well, so that attacks
// can be compared image by image and the lab can show them.
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "engine/attacks/attack_config.h"
#include "engine/attacks/proportions.h"

namespace normout {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

struct AttackResult {
    std::string attack;  // clean | fgsm (FGM in L2) | pgd-ce | pgd-t | square | noise
    std::string norm;    // linf | l2; "" for clean
    double eps = 0;      // the unbounded budget as its radius (1 in L-inf, sqrt(C*H*W) in L2)
    bool unbounded = false;
    std::string role = "main";  // main | sweep (the eps sweep of PGD-CE)
    int64_t n = 0;              // images evaluated
    // Robust images (AutoAttack's convention): classified correctly when clean AND still after
    // the attack; for clean, the correctly classified images. PGD-T with target_mode "thesis":
    // accuracy is instead the mean over images and all k targets (true class included) of
    // [pred == label], without the clean requirement, correct = round(accuracy * n), and ci its
    // Wilson interval as a rate over n images.
    int64_t correct = 0;
    double accuracy = kNaN;
    Interval ci;  // 95% Wilson

    // PGD-T: targets and how often the prediction became the target (wrong targets only: the
    // true-class target of "thesis" is not a trial).
    std::string target_mode;  // random | all | thesis
    int64_t target_trials = 0, target_hits = 0;
    double target_success = kNaN;
    Interval target_ci;  // 95% Wilson; "all" and "thesis" count images, not (image, target) pairs

    // Square: over the images it attacked (those classified correctly when clean).
    int query_budget = 0;
    int64_t square_attacked = 0, square_fooled = 0;
    double queries_mean = kNaN, queries_median = kNaN;  // over the fooled images

    // Settings that shaped the result.
    int steps = 0;
    double step = 0;
    int restarts = 0;
    bool random_start = false;
    int samples = 0;  // noise draws
    double p_init = 0;

    double seconds = 0;
    // Per subset image: 1 = correct when clean and after the attack (PGD-T "all" and "thesis":
    // after each of its targets).
    std::vector<uint8_t> robust;
};

// The vanishing-gradient probe on the images classified correctly when clean.
struct GradientProbeResult {
    std::string norm;
    double eps = 0;
    int64_t n = 0;            // images probed
    int64_t ce_zero = 0;      // cross-entropy input gradient exactly zero (or not finite)
    int64_t flat_margin = 0;  // eps * ||grad margin||_dual below the tolerance
    int64_t vanishing = 0;    // either
    double grad_tol = 0;
    double median_ce_l2 = kNaN, median_margin_dual = kNaN;
    double seconds = 0;
};

struct AttackReport {
    AttackConfig config;
    int64_t test_size = 0;
    std::vector<int64_t> indices;    // the subset: indices into the test set, increasing
    std::string subset_fingerprint;  // hex digest of the test-set size, indices and labels
    int classes = 0;
    bool stochastic = false;  // the model is stochastic at inference (EOT gradients)
    int eot_samples = 1;
    std::string device;
    std::vector<AttackResult> results;  // clean first
    std::vector<GradientProbeResult> probes;
    bool cancelled = false;  // stopped early: holds the evaluations completed before
    double seconds = 0;

    const AttackResult* find(const std::string& attack, const std::string& norm, double eps,
                             const std::string& role = "main") const;
};

// The display name: "FGSM", "FGM" (fgsm in L2), "PGD-CE", "PGD-T", "Square", "noise", "clean".
std::string attack_label(const std::string& attack, const std::string& norm);

}  // namespace normout
