#pragma once
// The adversarial robustness suite: clean accuracy, FGSM/FGM, PGD-CE, PGD-T, Square and random
// noise on a fixed, seeded subset of the test set, each accuracy with a 95% Wilson interval,
// plus the probes of the masking diagnosis (eps sweep, input gradients). Results: report.h.
//
// Robust accuracy follows AutoAttack's convention for every attack: an image counts as robust
// only when it is classified correctly when clean AND still after the attack, so an attack's
// per-image flags imply the clean ones and its accuracy never exceeds the clean accuracy. The
// one exception is PGD-T with targets = "thesis", whose accuracy is the thesis's rate over every
// (image, target) pair with no clean-correct requirement (attack_config.h).
#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/attacks/attack_config.h"
#include "engine/attacks/classifier.h"
#include "engine/attacks/report.h"
#include "engine/data/image_set.h"
#include "engine/model/model.h"

namespace normout {

// Runs the configured suite on a generic classifier. `test` is uint8 N x C x H x W as prepared for
// training. `on_result` (optional) sees each evaluation as it completes. Throws ConfigError
// for an invalid configuration.
AttackReport run_attack_suite(const Classifier& model, const ImageSet& test, const AttackConfig& config,
                              const c10::Device& device, const std::function<bool()>& cancelled = {},
                              const std::function<void(const AttackResult&)>& on_result = {});

// The same for a net (which must live on `device`): evaluation mode while it runs (BatchNorm
// frozen, NormOut off unless at_inference, then EOT gradients), its mode and parameters restored
// afterwards. The default CPU generator is seeded from config.seed for the stochastic layers and
// restored afterwards, so a training run around it draws the same numbers.
AttackReport run_attack_suite(Net& net, const ImageSet& test, const AttackConfig& config, const c10::Device& device,
                              const std::function<bool()>& cancelled = {},
                              const std::function<void(const AttackResult&)>& on_result = {});

// PGD-T's random targets: for each label a class drawn uniformly among the other `classes` - 1,
// from one seed per image.
std::vector<int64_t> random_wrong_classes(const std::vector<int64_t>& labels, int classes,
                                          const std::vector<uint64_t>& seeds);

}  // namespace normout
