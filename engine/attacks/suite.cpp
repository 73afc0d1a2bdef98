#include "engine/attacks/suite.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <numeric>

#include "engine/attacks/gradient_attacks.h"
#include "engine/attacks/input_gradients.h"
#include "engine/attacks/square.h"
#include "engine/model/generators.h"
#include "engine/rng.h"
#include "engine/train/loader.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

using Clock = std::chrono::steady_clock;

uint64_t fnv1a(uint64_t h, const void* data, std::size_t size) {
    const auto* p = static_cast<const unsigned char*>(data);
    for (std::size_t i = 0; i < size; ++i) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

// One random stream per evaluation (attack, norm, eps), so evaluations do not share numbers.
uint64_t stream_id(const std::string& attack, Norm norm, double eps) {
    uint64_t h = 0xcbf29ce484222325ull;
    h = fnv1a(h, attack.data(), attack.size());
    const int n = norm == Norm::Linf ? 1 : 2;
    h = fnv1a(h, &n, sizeof n);
    return fnv1a(h, &eps, sizeof eps);
}

double median(std::vector<double> v) {
    if (v.empty()) return kNaN;
    std::sort(v.begin(), v.end());
    const std::size_t m = v.size() / 2;
    return v.size() % 2 ? v[m] : 0.5 * (v[m - 1] + v[m]);
}

// Wilson interval for a rate averaged over images (PGD-T with every target, or the thesis's
// accuracy over every target): the per-image average lies in [0, 1], so its variance is at most
// that of one Bernoulli draw per image.
Interval wilson_of_rate(double rate, int64_t images) {
    const double z = 1.959963984540054, n = static_cast<double>(images);
    if (images <= 0) return {0, 1};
    const double centre = (rate + z * z / (2 * n)) / (1 + z * z / n);
    const double half = z / (1 + z * z / n) * std::sqrt(rate * (1 - rate) / n + z * z / (4 * n * n));
    return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

class Suite {
  public:
    Suite(const Classifier& model, const ImageSet& test, const AttackConfig& cfg, const c10::Device& device,
          const std::function<bool()>& cancelled, const std::function<void(const AttackResult&)>& on_result)
        : model_(model), cfg_(cfg), device_(device), cancelled_(cancelled), on_result_(on_result) {
        report_.config = cfg;
        report_.test_size = test.count;
        report_.indices = attack_subset(test.count, cfg.n, cfg.seed);
        subset_ = test.subset(report_.indices);
        batches_ = std::make_unique<EvalBatches>(subset_);
        n_ = subset_.count;
        uint64_t h = 0xcbf29ce484222325ull;
        h = fnv1a(h, &report_.test_size, sizeof report_.test_size);
        for (std::size_t i = 0; i < report_.indices.size(); ++i) {
            h = fnv1a(h, &report_.indices[i], sizeof(int64_t));
            h = fnv1a(h, &subset_.labels[i], sizeof(int32_t));
        }
        char buf[17];
        std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
        report_.subset_fingerprint = buf;
        for (int64_t i : report_.indices)
            image_seeds_.push_back(derive_seed(cfg.seed, 0x1a6e5eed, static_cast<uint64_t>(i)));
        for (int32_t y : subset_.labels)
            labels_.push_back(y);
        report_.stochastic = model.stochastic;
        report_.eot_samples = model.stochastic ? model.eot_samples : 1;
        report_.device = device.str();
    }

    AttackReport run() {
        const auto t0 = Clock::now();
        if (!evaluate("clean", Norm::Linf, 0, false, "main")) return finish(t0);
        for (const auto& norm_text : cfg_.norms) {
            const Norm norm = parse_norm(norm_text);
            static const char* order[] = {"fgsm", "pgd-ce", "pgd-t", "square", "noise"};
            for (double eps : eps_list(norm))
                for (const char* a : order)
                    if (std::find(cfg_.attacks.begin(), cfg_.attacks.end(), a) != cfg_.attacks.end())
                        if (!evaluate(a, norm, eps, false, "main")) return finish(t0);
            if (cfg_.gradient_probe && !probe(norm)) return finish(t0);
            if (cfg_.eps_sweep)
                for (double e : norm == Norm::Linf ? cfg_.sweep_linf : cfg_.sweep_l2) {
                    const bool unbounded = e == kUnboundedEps;
                    const double eps = unbounded ? unbounded_radius(norm) : e;
                    if (const AttackResult* main = report_.find("pgd-ce", norm_name(norm), eps)) {
                        AttackResult copy = *main;  // already measured at this eps
                        copy.role = "sweep";
                        copy.unbounded = unbounded;
                        publish(copy);
                        continue;
                    }
                    if (!evaluate("pgd-ce", norm, eps, unbounded, "sweep")) return finish(t0);
                }
        }
        return finish(t0);
    }

  private:
    const std::vector<double>& eps_list(Norm norm) const { return norm == Norm::Linf ? cfg_.eps_linf : cfg_.eps_l2; }

    double unbounded_radius(Norm norm) const {
        if (norm == Norm::Linf) return 1.0;
        return std::sqrt(static_cast<double>(subset_.channels) * subset_.height * subset_.width);
    }

    AttackReport finish(Clock::time_point t0) {
        report_.seconds = seconds_since(t0);
        return report_;
    }

    void publish(const AttackResult& r) {
        report_.results.push_back(r);
        if (on_result_) on_result_(r);
    }

    bool stop() const { return cancelled_ && cancelled_(); }

    std::vector<uint64_t> seeds(int64_t begin, int64_t end, uint64_t stream, uint64_t extra = 0) const {
        std::vector<uint64_t> s;
        for (int64_t i = begin; i < end; ++i)
            s.push_back(derive_seed(image_seeds_[static_cast<std::size_t>(i)], stream, extra));
        return s;
    }

    at::Tensor predicted(const at::Tensor& x) const { return predict_logits(model_, x).argmax(1); }

    static std::vector<uint8_t> to_bytes(const at::Tensor& mask) {
        const at::Tensor m = mask.to(at::kCPU, at::kByte).contiguous();
        return std::vector<uint8_t>(m.data_ptr<uint8_t>(), m.data_ptr<uint8_t>() + m.numel());
    }

    bool evaluate(const std::string& attack, Norm norm, double eps, bool unbounded, const std::string& role) {
        const auto t0 = Clock::now();
        AttackResult r;
        r.attack = attack;
        r.norm = attack == "clean" ? "" : norm_name(norm);
        r.eps = eps;
        r.unbounded = unbounded;
        r.role = role;
        r.n = n_;
        r.robust.assign(static_cast<std::size_t>(n_), 0);
        const uint64_t stream = stream_id(attack, norm, eps);
        PgdOptions pgd;
        pgd.norm = norm;
        pgd.eps = eps;
        pgd.step = cfg_.step_ratio * eps;
        pgd.steps = cfg_.steps;
        pgd.random_start = cfg_.random_start;
        pgd.restarts = cfg_.restarts;
        if (attack == "pgd-ce" || attack == "pgd-t") {
            r.steps = pgd.steps;
            r.step = pgd.step;
            r.restarts = pgd.restarts;
            r.random_start = pgd.random_start;
        }
        if (attack == "fgsm") r.steps = 1, r.step = eps;
        if (attack == "noise") r.samples = cfg_.noise_samples;
        if (attack == "pgd-t") r.target_mode = cfg_.targets;
        const bool thesis = attack == "pgd-t" && cfg_.targets == "thesis";
        int64_t thesis_correct = 0;  // (image, target) pairs still classified as the label
        std::vector<double> fooled_queries;
        if (attack == "square") {
            r.query_budget = cfg_.square_queries;
            r.p_init = cfg_.square_p_init;
        }
        for (int64_t b = 0; b < n_; b += cfg_.batch_size) {
            if (stop()) return false;
            const int64_t e = std::min<int64_t>(n_, b + cfg_.batch_size);
            const Batch batch = batches_->slice(b, e);
            const at::Tensor x = batch.x.to(device_), y = batch.y.to(device_);
            at::Tensor ok;  // [B] bool: still the true label (before the clean outcome is required)
            if (attack == "clean") {
                const at::Tensor z = predict_logits(model_, x);
                ok = z.argmax(1).eq(y);
                report_.classes = static_cast<int>(z.size(1));
            } else if (attack == "fgsm") {
                ok = predicted(fgsm(model_, x, y, norm, eps)).eq(y);
            } else if (attack == "pgd-ce") {
                ok = predicted(pgd_untargeted(model_, x, y, pgd, seeds(b, e, stream))).eq(y);
            } else if (attack == "noise") {
                ok = predicted(random_noise(model_, x, y, norm, eps, cfg_.noise_samples, seeds(b, e, stream))).eq(y);
            } else if (attack == "pgd-t") {
                ok = targeted(x, y, pgd, b, e, stream, r, thesis_correct);
            } else if (attack == "square") {
                ok = square(x, y, norm, eps, b, e, stream, r, fooled_queries);
                if (!ok.defined()) return false;
            }
            auto bytes = to_bytes(ok);
            // AutoAttack's convention for every attack: robust = correct when clean AND correct
            // after the attack (an image already misclassified is not made robust by an attack
            // that happens to move it onto its label). Clean is always evaluated first.
            if (attack != "clean")
                for (std::size_t i = 0; i < bytes.size(); ++i)
                    bytes[i] = static_cast<uint8_t>(bytes[i] && clean_[static_cast<std::size_t>(b) + i]);
            std::copy(bytes.begin(), bytes.end(), r.robust.begin() + b);
        }
        r.correct = std::count(r.robust.begin(), r.robust.end(), uint8_t{1});
        r.accuracy = n_ > 0 ? static_cast<double>(r.correct) / static_cast<double>(n_) : kNaN;
        r.ci = wilson_interval(r.correct, n_);
        if (thesis && n_ > 0 && report_.classes >= 2) {
            // The thesis's PGD-T accuracy: the mean over images and all k targets (the true class
            // included) of [pred == y], with no clean-correct requirement. `correct` holds that
            // rate times n, rounded; `robust` stays per image (clean, and correct under every target).
            r.accuracy = static_cast<double>(thesis_correct) / (static_cast<double>(n_) * report_.classes);
            r.correct = std::llround(r.accuracy * static_cast<double>(n_));
            r.ci = wilson_of_rate(r.accuracy, n_);
        }
        if (attack == "pgd-t") {
            r.target_success = r.target_trials ? static_cast<double>(r.target_hits) / r.target_trials : kNaN;
            r.target_ci = cfg_.targets == "random" ? wilson_interval(r.target_hits, r.target_trials)
                                                   : wilson_of_rate(r.target_success, n_);
        }
        if (attack == "square") {
            r.queries_mean = fooled_queries.empty()
                                 ? kNaN
                                 : std::accumulate(fooled_queries.begin(), fooled_queries.end(), 0.0) /
                                       static_cast<double>(fooled_queries.size());
            r.queries_median = median(fooled_queries);
        }
        if (attack == "clean") clean_ = r.robust;
        r.seconds = seconds_since(t0);
        publish(r);
        return true;
    }

    // PGD-T. "random": one wrong class per image; "all": every wrong class (robust = correct under
    // each); "thesis": every class, the true one included (offset 0), and `thesis_correct` counts
    // the (image, target) pairs still classified as the label. A wrong target at offset o draws
    // its random starts from the same seeds in "all" and "thesis". Target hits and trials count
    // wrong targets only.
    at::Tensor targeted(const at::Tensor& x, const at::Tensor& y, const PgdOptions& pgd, int64_t b, int64_t e,
                        uint64_t stream, AttackResult& r, int64_t& thesis_correct) {
        const int k = report_.classes;
        at::Tensor ok = at::ones({x.size(0)}, y.options().dtype(at::kBool));
        if (k < 2) {
            const at::Tensor same = predicted(x).eq(y);
            thesis_correct += same.sum().item<int64_t>();
            return same;
        }
        std::vector<std::pair<at::Tensor, uint64_t>> target_sets;  // targets, seed stream
        if (cfg_.targets == "random") {
            const std::vector<int64_t> labels(labels_.begin() + b, labels_.begin() + e);
            auto t = random_wrong_classes(labels, k, seeds(b, e, stream, 0x7a46e7));
            target_sets.emplace_back(at::tensor(t, at::kLong).to(device_), 1);
        } else {
            for (int offset = cfg_.targets == "thesis" ? 0 : 1; offset < k; ++offset)
                target_sets.emplace_back(y.add(offset).remainder(k), static_cast<uint64_t>(offset));
        }
        for (const auto& [t, extra] : target_sets) {
            const at::Tensor pred = predicted(pgd_targeted(model_, x, t, pgd, seeds(b, e, stream, extra)));
            const at::Tensor same = pred.eq(y);
            ok = ok.logical_and(same);
            thesis_correct += same.sum().item<int64_t>();
            const at::Tensor wrong_target = t.ne(y);
            r.target_hits += pred.eq(t).logical_and(wrong_target).sum().item<int64_t>();
            r.target_trials += wrong_target.sum().item<int64_t>();
        }
        return ok;
    }

    // Square on the images classified correctly when clean (the others are already errors).
    at::Tensor square(const at::Tensor& x, const at::Tensor& y, Norm norm, double eps, int64_t b, int64_t e,
                      uint64_t stream, AttackResult& r, std::vector<double>& fooled_queries) {
        std::vector<int64_t> rows;
        for (int64_t i = b; i < e; ++i)
            if (clean_[static_cast<std::size_t>(i)]) rows.push_back(i - b);
        at::Tensor ok = at::zeros({x.size(0)}, y.options().dtype(at::kBool));
        if (rows.empty()) return ok;
        const at::Tensor idx = at::tensor(rows, at::kLong).to(device_);
        std::vector<uint64_t> s;
        const auto all = seeds(b, e, stream);
        for (int64_t i : rows)
            s.push_back(all[static_cast<std::size_t>(i)]);
        SquareOptions o;
        o.norm = norm;
        o.eps = eps;
        o.queries = cfg_.square_queries;
        o.p_init = cfg_.square_p_init;
        const SquareOutcome out =
            square_attack(model_, x.index_select(0, idx), y.index_select(0, idx), o, s, cancelled_);
        if (stop()) return {};
        ok.index_copy_(0, idx, predicted(out.x_adv).eq(y.index_select(0, idx)));
        r.square_attacked += static_cast<int64_t>(rows.size());
        for (std::size_t k = 0; k < rows.size(); ++k)
            if (out.fooled[k]) {
                ++r.square_fooled;
                fooled_queries.push_back(static_cast<double>(out.queries[k]));
            }
        return ok;
    }

    bool probe(Norm norm) {
        const auto t0 = Clock::now();
        std::vector<uint8_t> ce_zero;
        std::vector<double> ce_l2, dual;
        for (int64_t b = 0; b < n_; b += cfg_.batch_size) {
            if (stop()) return false;
            const int64_t e = std::min<int64_t>(n_, b + cfg_.batch_size);
            std::vector<int64_t> rows;
            for (int64_t i = b; i < e; ++i)
                if (clean_[static_cast<std::size_t>(i)]) rows.push_back(i - b);
            if (rows.empty()) continue;
            const Batch batch = batches_->slice(b, e);
            const at::Tensor idx = at::tensor(rows, at::kLong);
            const at::Tensor x = batch.x.index_select(0, idx).to(device_), y = batch.y.index_select(0, idx).to(device_);
            const InputGradientNorms g = input_gradient_norms(model_, x, y, norm);
            ce_zero.insert(ce_zero.end(), g.ce_zero.begin(), g.ce_zero.end());
            ce_l2.insert(ce_l2.end(), g.ce_l2.begin(), g.ce_l2.end());
            dual.insert(dual.end(), g.margin_dual.begin(), g.margin_dual.end());
        }
        const double seconds = seconds_since(t0);
        for (double eps : eps_list(norm)) {
            GradientProbeResult p;
            p.norm = norm_name(norm);
            p.eps = eps;
            p.n = static_cast<int64_t>(ce_zero.size());
            p.grad_tol = cfg_.masking.grad_tol;
            for (std::size_t i = 0; i < ce_zero.size(); ++i) {
                const bool flat = !(eps * dual[i] >= cfg_.masking.grad_tol);  // NaN counts as flat
                p.ce_zero += ce_zero[i];
                p.flat_margin += flat ? 1 : 0;
                p.vanishing += (ce_zero[i] || flat) ? 1 : 0;
            }
            p.median_ce_l2 = median(ce_l2);
            p.median_margin_dual = median(dual);
            p.seconds = seconds;
            report_.probes.push_back(p);
        }
        return true;
    }

    const Classifier& model_;
    AttackConfig cfg_;
    c10::Device device_;
    std::function<bool()> cancelled_;
    std::function<void(const AttackResult&)> on_result_;
    AttackReport report_;
    ImageSet subset_;
    std::unique_ptr<EvalBatches> batches_;
    int64_t n_ = 0;
    std::vector<uint64_t> image_seeds_;
    std::vector<int64_t> labels_;
    std::vector<uint8_t> clean_;
};

}  // namespace

AttackReport run_attack_suite(const Classifier& model, const ImageSet& test, const AttackConfig& config,
                              const c10::Device& device, const std::function<bool()>& cancelled,
                              const std::function<void(const AttackResult&)>& on_result) {
    validate(config);
    if (test.count == 0) throw DataError("the test set is empty: nothing to attack");
    std::unique_ptr<GeneratorScope> rng;
    if (model.stochastic) rng = std::make_unique<GeneratorScope>(derive_seed(config.seed, 0xe07));
    AttackReport report = Suite(model, test, config, device, cancelled, on_result).run();
    report.cancelled = cancelled && cancelled();
    return report;
}

AttackReport run_attack_suite(Net& net, const ImageSet& test, const AttackConfig& config, const c10::Device& device,
                              const std::function<bool()>& cancelled,
                              const std::function<void(const AttackResult&)>& on_result) {
    AttackModeGuard guard(net);
    return run_attack_suite(net_classifier(net, config.eot_samples), test, config, device, cancelled, on_result);
}

std::vector<int64_t> random_wrong_classes(const std::vector<int64_t>& labels, int classes,
                                          const std::vector<uint64_t>& seeds) {
    std::vector<int64_t> out;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        SplitMix64 rng(seeds.at(i));
        const auto shift = 1 + static_cast<int64_t>(rng.below(static_cast<uint64_t>(std::max(1, classes - 1))));
        out.push_back((labels[i] + shift) % classes);
    }
    return out;
}

}  // namespace normout
