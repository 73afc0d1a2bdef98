#include "engine/attacks/attack_bench.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <chrono>

#include "engine/attacks/gradient_attacks.h"
#include "engine/attacks/input_gradients.h"
#include "engine/attacks/square.h"
#include "engine/attacks/suite.h"
#include "engine/rng.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

using Clock = std::chrono::steady_clock;

}  // namespace

AttackBenchResult bench_attacks(Net& net, const AttackConfig& cfg, Norm norm, int64_t images, int channels, int side,
                                int square_queries, const c10::Device& device) {
    validate(cfg);
    AttackBenchResult result;
    result.parameters = parameter_count(net);  // before the guard freezes them (requires_grad off)
    AttackModeGuard guard(net);
    const Classifier model = net_classifier(net, cfg.eot_samples);
    result.device = device.str();
    result.threads = at::get_num_threads();
    result.images = images;
    result.square_queries = square_queries;

    std::vector<uint64_t> seeds;
    for (int64_t i = 0; i < images; ++i)
        seeds.push_back(derive_seed(cfg.seed, 0xbe7c4, static_cast<uint64_t>(i)));
    // Uniform random pixels; the labels are the model's predictions, so all images start correct.
    const at::Tensor x =
        (random_perturbation(at::empty({images, channels, side, side}), Norm::Linf, 0.5, seeds, false) + 0.5)
            .clamp(0.0, 1.0)
            .to(device);
    const at::Tensor y = predict_logits(model, x).argmax(1);
    const double eps = (norm == Norm::Linf ? cfg.eps_linf : cfg.eps_l2).front();
    PgdOptions pgd;
    pgd.norm = norm;
    pgd.eps = eps;
    pgd.step = cfg.step_ratio * eps;
    pgd.steps = cfg.steps;
    pgd.random_start = cfg.random_start;
    pgd.restarts = 1;

    const auto time = [&](const std::string& attack, const std::string& what, const std::function<void()>& f,
                          double scale = 1.0) {
        const auto t0 = Clock::now();
        f();
        const double s = seconds_since(t0) * scale;
        result.rows.push_back({attack, what, s, s * 1000.0 / static_cast<double>(std::max<int64_t>(1, images))});
    };
    time("clean", "one forward pass", [&] { predict_logits(model, x); });
    time("fgsm", "one gradient", [&] { fgsm(model, x, y, norm, eps); });
    time("pgd-ce", std::to_string(cfg.steps) + " steps", [&] { pgd_untargeted(model, x, y, pgd, seeds); });
    const at::Tensor y_cpu = y.to(at::kCPU).contiguous();
    const std::vector<int64_t> labels(y_cpu.data_ptr<int64_t>(), y_cpu.data_ptr<int64_t>() + images);
    const auto classes = static_cast<int>(predict_logits(model, x.slice(0, 0, 1)).size(1));
    const at::Tensor targets = at::tensor(random_wrong_classes(labels, classes, seeds), at::kLong).to(device);
    time("pgd-t", std::to_string(cfg.steps) + " steps, one random target",
         [&] { pgd_targeted(model, x, targets, pgd, seeds); });
    time("noise", std::to_string(cfg.noise_samples) + " draws (fewer once all are fooled)",
         [&] { random_noise(model, x, y, norm, eps, cfg.noise_samples, seeds); });
    time("gradient-probe", "two gradients", [&] { input_gradient_norms(model, x, y, norm); });
    SquareOptions sq;
    sq.norm = norm;
    sq.eps = eps;
    sq.queries = square_queries;
    sq.p_init = cfg.square_p_init;
    sq.stop_when_fooled = false;
    time("square", std::to_string(square_queries) + " queries", [&] { square_attack(model, x, y, sq, seeds); });
    const AttackBenchRow timed = result.rows.back();
    result.rows.push_back({"square", std::to_string(cfg.square_queries) + " queries (budget, never fooled)",
                           timed.seconds * cfg.square_queries / square_queries,
                           timed.seconds_per_1000 * cfg.square_queries / square_queries});
    return result;
}

}  // namespace normout
