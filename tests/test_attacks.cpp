// The adversarial robustness suite: attacks against analytic optima on linear models, budgets and
// the image box, targeted success, Square on a trained model, the statistics, the masking
// diagnosis on a masked and an ordinary model, and `normout attack` end to end.
#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/nn/modules/linear.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <memory>

#include "engine/attacks/attack_store.h"
#include "engine/attacks/gradient_attacks.h"
#include "engine/attacks/input_gradients.h"
#include "engine/attacks/masking.h"
#include "engine/attacks/square.h"
#include "engine/attacks/suite.h"
#include "engine/config/config.h"
#include "engine/data/prepare.h"
#include "engine/model/layers.h"
#include "engine/rng.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/load_run.h"
#include "engine/train/loader.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

// logits = x W^T + b on the flattened image.
struct Linear {
    at::Tensor w, b;  // [K, D], [K]
    Classifier classifier() const {
        Classifier c;
        const at::Tensor ww = w, bb = b;
        c.logits = [ww, bb](const at::Tensor& x) { return at::addmm(bb, x.flatten(1), ww.t()); };
        return c;
    }
};

Linear random_linear(int classes, int64_t d, double scale, uint64_t seed) {
    at::manual_seed(seed);
    return {at::randn({classes, d}) * scale, at::randn({classes}) * scale};
}

std::vector<uint64_t> seeds_for(int64_t n, uint64_t base) {
    std::vector<uint64_t> s;
    for (int64_t i = 0; i < n; ++i)
        s.push_back(derive_seed(base, static_cast<uint64_t>(i)));
    return s;
}

// Uniform images in [lo, hi] from a seed.
at::Tensor images(int64_t n, int64_t c, int64_t side, double lo, double hi, uint64_t seed) {
    at::manual_seed(seed);
    return at::rand({n, c, side, side}) * (hi - lo) + lo;
}

// The analytic optimum of the binary linear margin over the L-inf box: each pixel moves by eps
// towards the other class, clipped to [0, 1].
at::Tensor linf_optimum(const Linear& m, const at::Tensor& x, const at::Tensor& y, double eps) {
    const at::Tensor w = m.w.to(at::kDouble), xd = x.to(at::kDouble).flatten(1);
    at::Tensor out = at::empty_like(xd);
    for (int64_t i = 0; i < x.size(0); ++i) {
        const int64_t yi = y[i].item<int64_t>();
        const at::Tensor d = w[1 - yi] - w[yi];
        out[i] = (xd[i] + eps * d.sign()).clamp(0.0, 1.0);
    }
    return out.view(x.sizes());
}

double max_abs(const at::Tensor& t) {
    return t.abs().max().item<double>();
}

// The norm of each perturbation in double (so float rounding in the check does not hide excess).
std::vector<double> norms(const at::Tensor& adv, const at::Tensor& x, Norm norm) {
    const at::Tensor d = (adv.to(at::kDouble) - x.to(at::kDouble)).flatten(1);
    const at::Tensor n = norm == Norm::Linf ? d.abs().amax(1) : d.pow(2).sum(1).sqrt();
    return std::vector<double>(n.data_ptr<double>(), n.data_ptr<double>() + n.numel());
}

struct MlpImpl : torch::nn::Module {
    MlpImpl(int64_t in, int64_t hidden, int64_t classes)
        : fc1(register_module("fc1", torch::nn::Linear(in, hidden))),
          fc2(register_module("fc2", torch::nn::Linear(hidden, classes))) {}
    at::Tensor forward(const at::Tensor& x) { return fc2(at::relu(fc1(x.flatten(1)))); }
    torch::nn::Linear fc1{nullptr}, fc2{nullptr};
};
TORCH_MODULE(Mlp);

ImageSet synthetic_set(int64_t n, int channels, int side, int classes, uint64_t seed) {
    ImageSet s;
    s.count = n;
    s.channels = channels;
    s.height = s.width = side;
    SplitMix64 rng(seed);
    for (std::size_t i = 0; i < static_cast<std::size_t>(n) * s.image_bytes(); ++i)
        s.pixels.push_back(static_cast<uint8_t>(rng.below(256)));
    for (int64_t i = 0; i < n; ++i)
        s.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes))));
    return s;
}

const AnalysisRow* find_row(const AnalysisTable& t, const std::string& key, const std::string& value,
                            double evaluation) {
    for (const auto& r : t.rows)
        if (r.texts.count(key) && r.texts.at(key) == value && r.numbers.at("evaluation") == evaluation) return &r;
    return nullptr;
}

}  // namespace

class TestAttacks : public QObject {
    Q_OBJECT

    std::shared_ptr<const PreparedData> fmnist_;
    Mlp mlp_{nullptr};
    double mlp_accuracy_ = 0;

    Classifier mlp_classifier(bool quantised) const {
        Classifier c;
        Mlp m = mlp_;
        if (quantised)  // a non-differentiable input quantisation: round() has a zero gradient
            c.logits = [m](const at::Tensor& x) mutable { return m->forward(at::round(x * 4.0) / 4.0); };
        else
            c.logits = [m](const at::Tensor& x) mutable { return m->forward(x); };
        return c;
    }

  private Q_SLOTS:
    void initTestCase() {
        at::set_num_threads(2);
        DataConfig d;
        d.dataset = "fashion-mnist";
        d.path = normout::test::fashion_mnist_dir();
        d.pad_to = 28;
        d.train_limit = 6000;
        d.test_limit = 1000;
        fmnist_ = std::make_shared<PreparedData>(prepare_data(d, {}, 0));
        // A small ordinary classifier, trained in a second: 784 - 128 - 10 with ReLU.
        at::manual_seed(0);
        mlp_ = Mlp(784, 128, 10);
        torch::optim::SGD opt(mlp_->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
        const EvalBatches train(fmnist_->train);
        for (int epoch = 0; epoch < 3; ++epoch)
            for (int64_t b = 0; b < train.size(); b += 100) {
                const Batch batch = train.slice(b, std::min<int64_t>(train.size(), b + 100));
                opt.zero_grad();
                const at::Tensor loss = summed_cross_entropy(mlp_->forward(batch.x), batch.y) / batch.x.size(0);
                loss.backward();
                opt.step();
            }
        torch::NoGradGuard no_grad;
        const EvalBatches test(fmnist_->test);
        const Batch all = test.slice(0, test.size());
        mlp_accuracy_ = mlp_->forward(all.x).argmax(1).eq(all.y).to(at::kDouble).mean().item<double>();
        QVERIFY2(mlp_accuracy_ > 0.75, qPrintable(QString("MLP test accuracy %1").arg(mlp_accuracy_)));
    }

    void wilsonIntervalMatchesPublishedValues() {
        QVERIFY(std::fabs(normal_quantile_two_sided(0.95) - 1.959964) < 1e-6);
        QVERIFY(std::fabs(normal_quantile_two_sided(0.99) - 2.575829) < 1e-6);
        // Newcombe (1998), Table I: 81/263 gives [0.2553, 0.3662]; 0/10 has upper bound z^2/(n+z^2).
        const Interval a = wilson_interval(81, 263);
        QVERIFY(std::fabs(a.low - 0.2553) < 1e-4 && std::fabs(a.high - 0.3662) < 1e-4);
        const Interval b = wilson_interval(0, 10);
        const double z2 = 1.959963984540054 * 1.959963984540054;
        QCOMPARE(b.low, 0.0);
        QVERIFY(std::fabs(b.high - z2 / (10 + z2)) < 1e-12);
        QCOMPARE(wilson_interval(10, 10).high, 1.0);
        const Interval none = wilson_interval(0, 0);
        QVERIFY(none.low == 0.0 && none.high == 1.0);
    }

    void pairedIntervalCoversAtTheNominalRate() {
        // Paired outcomes with P(A) = 0.30, P(B) = 0.25 (both 0.20, A only 0.10, B only 0.05) on
        // 200 items: the 95% interval must contain 0.05 in about 95% of 2000 repetitions.
        SplitMix64 rng(7);
        int covered = 0;
        const int reps = 2000;
        for (int r = 0; r < reps; ++r) {
            PairedCounts c;
            for (int i = 0; i < 200; ++i) {
                const double u = rng.uniform();
                if (u < 0.20)
                    ++c.both;
                else if (u < 0.30)
                    ++c.only_a;
                else if (u < 0.35)
                    ++c.only_b;
                else
                    ++c.neither;
            }
            const Interval ci = paired_difference_interval(c);
            covered += (ci.low <= 0.05 && 0.05 <= ci.high) ? 1 : 0;
        }
        const double rate = static_cast<double>(covered) / reps;
        QVERIFY2(rate > 0.925 && rate < 0.975, qPrintable(QString("coverage %1").arg(rate)));
        // Identical outcomes: the difference is exactly 0 and the interval is tight around it.
        PairedCounts same;
        same.both = 60;
        same.neither = 140;
        const Interval s = paired_difference_interval(same);
        QVERIFY(s.low <= 0 && s.high >= 0 && s.high - s.low < 0.05);
    }

    void subsetIsSeededNestedAndComplete() {
        const auto a = attack_subset(10000, 1000, 3), b = attack_subset(10000, 1000, 3);
        QVERIFY(a == b);
        QCOMPARE(a.size(), std::size_t(1000));
        QVERIFY(std::is_sorted(a.begin(), a.end()));
        QVERIFY(std::adjacent_find(a.begin(), a.end()) == a.end());
        QVERIFY(attack_subset(10000, 1000, 4) != a);
        const auto big = attack_subset(10000, 2000, 3);
        QVERIFY(std::includes(big.begin(), big.end(), a.begin(), a.end()));  // nested
        QCOMPARE(attack_subset(50, 0, 3).size(), std::size_t(50));
        QCOMPARE(attack_subset(50, 80, 3).size(), std::size_t(50));
    }

    void settingsAreValidatedByName() {
        QCOMPARE(parse_eps("8/255", "x"), 8.0 / 255.0);
        QCOMPARE(parse_eps("0.5", "x"), 0.5);
        QVERIFY(std::isinf(parse_eps("inf", "x")));
        QCOMPARE(QString::fromStdString(format_eps(8.0 / 255.0, "linf")), QString("8/255"));
        const auto field_of = [](const AttackConfig& c) {
            try {
                validate(c);
            } catch (const ConfigError& e) {
                return QString::fromStdString(e.field());
            }
            return QString();
        };
        AttackConfig c;
        QCOMPARE(field_of(c), QString());
        c.steps = 0;
        QCOMPARE(field_of(c), QString("attack.steps"));
        c = AttackConfig{};
        c.attacks = {"fgsm", "cw"};
        QCOMPARE(field_of(c), QString("attack.attacks"));
        c = AttackConfig{};
        c.norms = {"l1"};
        QCOMPARE(field_of(c), QString("attack.norms"));
        c = AttackConfig{};
        c.targets = "one";
        QCOMPARE(field_of(c), QString("attack.targets"));
        c = AttackConfig{};
        c.square_p_init = 0;
        QCOMPARE(field_of(c), QString("attack.square_p_init"));
        try {
            parse_eps("eight", "attack.eps");
            QFAIL("no error");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("attack.eps"));
        }
    }

    void fgsmIsTheAnalyticSignStep() {
        // Multi-class: the input gradient of the cross-entropy is W^T (softmax(Wx + b) - e_y).
        const Linear m = random_linear(5, 48, 1.0, 1);
        const at::Tensor x = images(16, 3, 4, 0.2, 0.8, 2);
        const at::Tensor y = at::arange(16, at::kLong).remainder(5);
        const double eps = 8.0 / 255.0;
        const at::Tensor adv = fgsm(m.classifier(), x, y, Norm::Linf, eps);
        const at::Tensor w = m.w.to(at::kDouble), xd = x.to(at::kDouble).flatten(1);
        const at::Tensor p = at::softmax(at::addmm(m.b.to(at::kDouble), xd, w.t()), 1);
        const at::Tensor g = at::matmul(p - at::one_hot(y, 5).to(at::kDouble), w);
        const at::Tensor step = (adv.to(at::kDouble) - x.to(at::kDouble)).flatten(1);
        const at::Tensor clear = g.abs() > 1e-5 * g.abs().max();  // signs float cannot resolve are skipped
        QVERIFY(max_abs((step - eps * g.sign()).masked_select(clear)) < 1e-6);
        QVERIFY(clear.to(at::kDouble).mean().item<double>() > 0.99);
        // FGM: eps * g / ||g||_2.
        const at::Tensor adv2 = fgsm(m.classifier(), x, y, Norm::L2, 0.5);
        const at::Tensor step2 = (adv2.to(at::kDouble) - x.to(at::kDouble)).flatten(1);
        QVERIFY(max_abs(step2 - 0.5 * g / g.norm(2, {1}, true)) < 1e-5);
        // Binary: FGSM lands on the L-inf optimum of the margin, clipping included.
        const Linear bin = random_linear(2, 48, 1.0, 3);
        const at::Tensor xb = images(16, 3, 4, 0.0, 1.0, 4);
        const at::Tensor yb = at::arange(16, at::kLong).remainder(2);
        QVERIFY(max_abs(fgsm(bin.classifier(), xb, yb, Norm::Linf, 0.1).to(at::kDouble) -
                        linf_optimum(bin, xb, yb, 0.1)) < 1e-6);
    }

    void pgdReachesTheLinfOptimum() {
        // Binary linear model: the margin (w_y - w_j) x + (b_y - b_j) is linear, so its minimum over
        // the box is x + eps * sign(w_j - w_y) clipped to [0, 1]; cross-entropy is monotone in it.
        const Linear m = random_linear(2, 64, 0.5, 5);
        at::Tensor x = images(24, 1, 8, 0.0, 1.0, 6);
        x.index_put_({x < 0.1}, 0.0);  // pixels on the box's faces
        x.index_put_({x > 0.9}, 1.0);
        const at::Tensor y = at::arange(24, at::kLong).remainder(2);
        const double eps = 8.0 / 255.0;
        const at::Tensor expected = linf_optimum(m, x, y, eps);
        for (bool random_start : {false, true}) {
            PgdOptions o;
            o.eps = eps;
            o.step = 3.0 / 255.0;
            o.random_start = random_start;
            const at::Tensor adv = pgd_untargeted(m.classifier(), x, y, o, seeds_for(24, 7));
            QVERIFY2(max_abs(adv.to(at::kDouble) - expected) < 1e-6, random_start ? "random start" : "clean start");
            // The targeted attack towards the other class has the same optimum.
            const at::Tensor other = at::ones_like(y) - y;
            const at::Tensor adv_t = pgd_targeted(m.classifier(), x, other, o, seeds_for(24, 8));
            QVERIFY2(max_abs(adv_t.to(at::kDouble) - expected) < 1e-6, "targeted");
        }
    }

    void pgdReachesTheL2Optimum() {
        // Interior images and a ball that stays inside [0, 1]: the optimum is x + eps * d / ||d||
        // with d = w_j - w_y.
        const Linear m = random_linear(2, 64, 0.5, 9);
        const at::Tensor x = images(24, 1, 8, 0.3, 0.7, 10);
        const at::Tensor y = at::arange(24, at::kLong).remainder(2);
        const double eps = 0.5;
        at::Tensor d = at::empty({24, 64}, at::kDouble);
        for (int64_t i = 0; i < 24; ++i) {
            const int64_t yi = y[i].item<int64_t>();
            d[i] = (m.w[1 - yi] - m.w[yi]).to(at::kDouble);
        }
        const at::Tensor expected = x.to(at::kDouble).flatten(1) + eps * d / d.norm(2, {1}, true);
        QVERIFY(expected.min().item<double>() > 0 && expected.max().item<double>() < 1);
        PgdOptions o;
        o.norm = Norm::L2;
        o.eps = eps;
        o.step = eps * 3.0 / 8.0;
        o.random_start = false;  // straight line: on the optimum after three steps
        at::Tensor adv = pgd_untargeted(m.classifier(), x, y, o, seeds_for(24, 11));
        QVERIFY(max_abs(adv.to(at::kDouble).flatten(1) - expected) < 1e-5);
        // From a random start the component across d shrinks by eps / ||.|| per projection.
        o.random_start = true;
        o.steps = 60;
        adv = pgd_untargeted(m.classifier(), x, y, o, seeds_for(24, 12));
        QVERIFY(max_abs(adv.to(at::kDouble).flatten(1) - expected) < 1e-4);
    }

    void everyAttackRespectsItsBudgetAndTheBox() {
        // A random ReLU network on 3 x 8 x 8 images with many pixels at 0 and 1.
        at::manual_seed(13);
        Mlp net(192, 32, 4);
        Classifier model;
        model.logits = [net](const at::Tensor& x) mutable { return net->forward(x); };
        at::Tensor x = images(20, 3, 8, 0.0, 1.0, 14);
        x.index_put_({x < 0.2}, 0.0);
        x.index_put_({x > 0.8}, 1.0);
        const at::Tensor y = at::arange(20, at::kLong).remainder(4);
        const auto seeds = seeds_for(20, 15);
        for (Norm norm : {Norm::Linf, Norm::L2})
            for (double eps :
                 norm == Norm::Linf ? std::vector<double>{8.0 / 255.0, 0.6} : std::vector<double>{0.5, 4.0}) {
                PgdOptions o;
                o.norm = norm;
                o.eps = eps;
                o.step = 0.375 * eps;
                SquareOptions s;
                s.norm = norm;
                s.eps = eps;
                s.queries = 40;
                s.stop_when_fooled = false;
                const std::vector<std::pair<const char*, at::Tensor>> adv = {
                    {"fgsm", fgsm(model, x, y, norm, eps)},
                    {"pgd-ce", pgd_untargeted(model, x, y, o, seeds)},
                    {"pgd-t", pgd_targeted(model, x, y.add(1).remainder(4), o, seeds)},
                    {"square", square_attack(model, x, y, s, seeds).x_adv},
                    {"noise", random_noise(model, x, y, norm, eps, 5, seeds)}};
                for (const auto& [name, a] : adv) {
                    const QString what =
                        QString("%1 %2 eps %3").arg(name, QString::fromStdString(norm_name(norm))).arg(eps);
                    QVERIFY2(a.min().item<float>() >= 0.0f && a.max().item<float>() <= 1.0f, qPrintable(what));
                    QVERIFY2(max_abs(a - x) > 0, qPrintable(what + " did nothing"));
                    for (double n : norms(a, x, norm))
                        QVERIFY2(n <= eps * (1 + 1e-5) + 1e-6, qPrintable(what + QString(": norm %1").arg(n)));
                }
            }
    }

    void targetedAttackReachesItsTarget() {
        // Random targets are never the label and cover every other class.
        std::vector<int64_t> labels(4000);
        for (std::size_t i = 0; i < labels.size(); ++i)
            labels[i] = static_cast<int64_t>(i % 10);
        const auto t = random_wrong_classes(labels, 10, seeds_for(4000, 16));
        std::vector<int> seen(10, 0);
        for (std::size_t i = 0; i < t.size(); ++i) {
            QVERIFY(t[i] != labels[i] && t[i] >= 0 && t[i] < 10);
            ++seen[static_cast<std::size_t>(t[i])];
        }
        for (int s : seen)
            QVERIFY(s > 300);  // 400 expected per class
        // A weak linear model and a large ball: PGD-T reaches the target nearly always, and the
        // robust accuracy counts the true label, not the target.
        const Linear weak = random_linear(4, 64, 0.05, 17);
        const ImageSet set = synthetic_set(40, 1, 8, 4, 18);
        AttackConfig c;
        c.attacks = {"pgd-t"};
        c.eps_linf = {0.5};
        c.gradient_probe = false;
        c.n = 0;
        for (const char* mode : {"random", "all"}) {
            c.targets = mode;
            const AttackReport r = run_attack_suite(weak.classifier(), set, c, c10::Device("cpu"));
            const AttackResult* pgdt = r.find("pgd-t", "linf", 0.5);
            QVERIFY(pgdt);
            QCOMPARE(pgdt->target_trials, int64_t(std::string(mode) == "all" ? 40 * 3 : 40));
            QVERIFY2(pgdt->target_success >= 0.95, qPrintable(QString("%1: %2").arg(mode).arg(pgdt->target_success)));
            QVERIFY(pgdt->accuracy <= 1.0 - pgdt->target_success + 1e-12);
            QVERIFY(pgdt->target_ci.low <= pgdt->target_success && pgdt->target_success <= pgdt->target_ci.high);
        }
    }

    void robustImpliesCorrectWhenClean() {
        // AutoAttack's convention for every attack: an image is robust only when it is classified
        // correctly when clean and still after the attack. A "chaotic" model (logits sin(40 W x))
        // turns any step of the ball into a new random class, so about a quarter of the images
        // that are wrong when clean would otherwise count as correct after the attack.
        at::manual_seed(30);
        const at::Tensor w = at::randn({4, 64});
        Classifier chaotic;
        chaotic.logits = [w](const at::Tensor& x) { return at::sin(at::matmul(x.flatten(1), w.t()) * 40.0); };
        const ImageSet set = synthetic_set(160, 1, 8, 4, 31);
        AttackConfig c;
        c.eps_linf = {0.1};
        c.square_queries = 40;
        c.noise_samples = 3;
        c.steps = 3;
        c.gradient_probe = false;
        c.n = 0;
        for (const char* mode : {"random", "all", "thesis"}) {
            c.targets = mode;
            const AttackReport r = run_attack_suite(chaotic, set, c, c10::Device("cpu"));
            const AttackResult* clean = r.find("clean", "", 0);
            QVERIFY(clean);
            QVERIFY2(clean->correct > 10 && clean->correct < 150, qPrintable(QString::number(clean->correct)));
            QCOMPARE(r.results.size(), std::size_t(6));
            for (const auto& x : r.results) {
                const QString what = QString("%1 (targets %2)").arg(QString::fromStdString(x.attack), mode);
                QCOMPARE(x.robust.size(), clean->robust.size());
                for (std::size_t i = 0; i < x.robust.size(); ++i)
                    QVERIFY2(!x.robust[i] || clean->robust[i], qPrintable(what));
                // PGD-T's "thesis" mode is a rate over every target (the true class included), not a
                // count of robust images; its per-image flags follow the convention all the same.
                if (x.attack == "pgd-t" && std::string(mode) == "thesis") continue;
                QVERIFY2(x.accuracy <= clean->accuracy, qPrintable(what));
                QCOMPARE(x.correct, static_cast<int64_t>(std::count(x.robust.begin(), x.robust.end(), uint8_t{1})));
            }
        }
        // A ball too small to change any prediction: every attack's accuracy is the clean one,
        // image by image.
        const Linear m = random_linear(4, 64, 1.0, 32);
        c.eps_linf = {1e-7};
        c.targets = "random";
        const AttackReport r = run_attack_suite(m.classifier(), set, c, c10::Device("cpu"));
        const AttackResult* clean = r.find("clean", "", 0);
        QVERIFY(clean && clean->correct > 0 && clean->correct < clean->n);
        for (const auto& x : r.results) {
            QVERIFY2(x.robust == clean->robust, x.attack.c_str());
            QCOMPARE(x.accuracy, clean->accuracy);
        }
    }

    void thesisTargetsAverageEveryClass() {
        // A model that ignores its input and always says class 2: every targeted attack leaves the
        // prediction at 2, so the rate over (image, target) pairs is the fraction of images labelled
        // 2 (one in k of the pairs is the true class, correct or not); a wrong target is hit when it
        // is 2, once per image not labelled 2.
        const int k = 4;
        const ImageSet set = synthetic_set(60, 1, 8, k, 33);
        Classifier constant;
        const at::Tensor bias = at::tensor({0.0f, 0.5f, 2.0f, 1.0f});
        constant.logits = [bias](const at::Tensor& x) { return at::matmul(x.flatten(1), at::zeros({64, 4})) + bias; };
        const int64_t twos = std::count(set.labels.begin(), set.labels.end(), 2);
        QVERIFY(twos > 0 && twos < set.count);
        AttackConfig c;
        c.attacks = {"pgd-t"};
        c.eps_linf = {0.1};
        c.gradient_probe = false;
        c.n = 0;
        c.targets = "thesis";
        validate(c);
        {
            const AttackReport r = run_attack_suite(constant, set, c, c10::Device("cpu"));
            const AttackResult* t = r.find("pgd-t", "linf", 0.1);
            QVERIFY(t);
            QCOMPARE(QString::fromStdString(t->target_mode), QString("thesis"));
            QCOMPARE(t->accuracy, static_cast<double>(twos) / static_cast<double>(set.count));
            QCOMPARE(t->correct, twos);
            QCOMPARE(t->target_trials, set.count * (k - 1));
            QCOMPARE(t->target_hits, set.count - twos);
            QVERIFY(t->ci.low <= t->accuracy && t->accuracy <= t->ci.high);
            for (std::size_t i = 0; i < t->robust.size(); ++i)
                QCOMPARE(t->robust[i], static_cast<uint8_t>(set.labels[i] == 2));
        }
        // A weak linear model in a large ball: the wrong targets are nearly always reached, so the
        // thesis's rate falls to about 1/k, all of it from the true-class target, and it is never
        // below the accuracy with every wrong class as target.
        const Linear weak = random_linear(k, 64, 0.05, 17);
        const ImageSet s40 = synthetic_set(40, 1, 8, k, 18);
        c.eps_linf = {0.5};
        const AttackResult thesis =
            *run_attack_suite(weak.classifier(), s40, c, c10::Device("cpu")).find("pgd-t", "linf", 0.5);
        c.targets = "all";
        const AttackResult all =
            *run_attack_suite(weak.classifier(), s40, c, c10::Device("cpu")).find("pgd-t", "linf", 0.5);
        qInfo("thesis %.4f (target success %.3f), all %.4f (target success %.3f)", thesis.accuracy,
              thesis.target_success, all.accuracy, all.target_success);
        QVERIFY(thesis.accuracy >= all.accuracy);
        QVERIFY(thesis.accuracy >= 1.0 / k - 1e-12);
        QVERIFY(thesis.accuracy <= 1.0 / k + (1.0 - thesis.target_success) * (k - 1) / k + 1e-12);
        QCOMPARE(thesis.target_trials, all.target_trials);  // the wrong targets: the same attacks
        QCOMPARE(thesis.target_hits, all.target_hits);
    }

    void squareFindsAdversarialExamplesWithQueryCounts() {
        // On the trained MLP: only correctly classified test images, L-inf 0.1 and L2 2.0.
        const Classifier model = mlp_classifier(false);
        const EvalBatches test(fmnist_->test);
        const Batch b = test.slice(0, 200);
        const at::Tensor correct =
            at::nonzero(predict_logits(model, b.x).argmax(1).eq(b.y)).view({-1}).slice(0, 0, 100);
        const at::Tensor x = b.x.index_select(0, correct), y = b.y.index_select(0, correct);
        for (Norm norm : {Norm::Linf, Norm::L2}) {
            SquareOptions o;
            o.norm = norm;
            o.eps = norm == Norm::Linf ? 0.1 : 2.0;  // 2.0: the usual MNIST-scale L2 budget
            o.queries = 1000;
            const SquareOutcome out = square_attack(model, x, y, o, seeds_for(x.size(0), 19));
            const at::Tensor wrong = predict_logits(model, out.x_adv).argmax(1).ne(y);
            int fooled = 0;
            for (int64_t i = 0; i < x.size(0); ++i) {
                const auto k = static_cast<std::size_t>(i);
                fooled += out.fooled[k];
                QVERIFY(out.queries[k] >= 1 && out.queries[k] <= o.queries);
                if (!out.fooled[k]) QCOMPARE(out.queries[k], int64_t(o.queries));  // spent the whole budget
                QCOMPARE(static_cast<bool>(out.fooled[k]), wrong[i].item<bool>());
            }
            QVERIFY2(fooled >= 50, qPrintable(QString("%1: %2 of %3 fooled")
                                                  .arg(QString::fromStdString(norm_name(norm)))
                                                  .arg(fooled)
                                                  .arg(x.size(0))));
            double fooled_queries = 0;
            for (std::size_t k = 0; k < out.queries.size(); ++k)
                if (out.fooled[k]) fooled_queries += static_cast<double>(out.queries[k]);
            QVERIFY(fooled_queries / fooled > 1.0);  // it searched, not just the initialisation
            for (double n : norms(out.x_adv, x, norm))
                QVERIFY(n <= o.eps * (1 + 1e-5) + 1e-6);
        }
    }

    void eotAveragesGradientsOfStochasticModels() {
        // A "stochastic" model whose logits are scaled by 1, 3, 1, 3, ... on successive calls: the
        // EOT gradient is the mean of the two deterministic gradients.
        const Linear m = random_linear(3, 12, 1.0, 20);
        const at::Tensor x = images(6, 3, 2, 0.2, 0.8, 21);
        const at::Tensor y = at::arange(6, at::kLong).remainder(3);
        auto calls = std::make_shared<int>(0);
        const Classifier base = m.classifier();
        Classifier noisy;
        noisy.logits = [base, calls](const at::Tensor& xi) { return base.logits(xi) * ((*calls)++ % 2 ? 3.0 : 1.0); };
        noisy.stochastic = true;
        noisy.eot_samples = 4;
        const LossGradient g = cross_entropy_gradient(noisy, x, y);
        QCOMPARE(*calls, 4);
        const auto scaled = [&](double s) {
            Classifier c;
            c.logits = [base, s](const at::Tensor& xi) { return base.logits(xi) * s; };
            return cross_entropy_gradient(c, x, y).grad;
        };
        QVERIFY(max_abs(g.grad - 0.5 * (scaled(1.0) + scaled(3.0))) < 1e-5);
        // A deterministic model is called once per gradient whatever eot_samples says.
        *calls = 0;
        Classifier once;
        once.logits = [base, calls](const at::Tensor& xi) {
            ++*calls;
            return base.logits(xi);
        };
        once.eot_samples = 4;
        cross_entropy_gradient(once, x, y);
        QCOMPARE(*calls, 1);
    }

    void suiteFreezesTheNetAndRestoresIt() {
        const RunConfig rc = normout::test::TinyRun().config();
        auto table = layer_table(rc.model, 1, 10);
        QVERIFY(!stochastic_at_inference(table));
        at::manual_seed(22);
        Net net = build_model(table, {0.3f}, {0.3f});
        net->train();
        const ImageSet set = synthetic_set(12, 1, 32, 10, 23);
        std::vector<at::Tensor> before;
        for (const auto& b : net->buffers())
            before.push_back(b.clone());
        AttackConfig c;
        c.attacks = {"fgsm", "pgd-ce"};
        c.steps = 2;
        c.n = 0;
        bool eval_during = true;
        run_attack_suite(net, set, c, c10::Device("cpu"), {},
                         [&](const AttackResult&) { eval_during = eval_during && !net->is_training(); });
        QVERIFY(eval_during);
        QVERIFY(net->is_training());  // restored
        const auto after = net->buffers();
        for (std::size_t i = 0; i < before.size(); ++i)
            QVERIFY(at::equal(before[i], after[i]));  // BatchNorm statistics untouched
        for (const auto& p : net->parameters())
            QVERIFY(p.requires_grad() && !p.grad().defined());

        // NormOut kept at inference: stochastic, EOT gradients, and the global generator is left
        // where it was.
        for (auto& l : table)
            if (l.kind == "NormOut") l.custom.at_inference = true;
        QVERIFY(stochastic_at_inference(table));
        Net noisy = build_model(table, {0.3f}, {0.3f});
        QVERIFY(net_classifier(noisy, 5).stochastic);
        QCOMPARE(net_classifier(noisy, 5).eot_samples, 5);
        at::manual_seed(99);
        const at::Tensor expected = at::rand({4});
        at::manual_seed(99);
        c.eot_samples = 3;
        const AttackReport r = run_attack_suite(noisy, set, c, c10::Device("cpu"));
        QVERIFY(r.stochastic);
        QCOMPARE(r.eot_samples, 3);
        QVERIFY(at::equal(at::rand({4}), expected));
    }

    void diagnosisPassesAnOrdinaryModel() {
        const AttackReport r = run_attack_suite(
            mlp_classifier(false), fmnist_->test, masking_config(), c10::Device("cpu"), {}, [](const AttackResult& x) {
                qInfo("%s %s %g: %.3f s acc %.3f", x.attack.c_str(), x.role.c_str(), x.eps, x.seconds, x.accuracy);
            });
        qInfo("total %.2f s, probe %.2f s", r.seconds, r.probes.front().seconds);
        const MaskingDiagnosis d = diagnose(r);
        for (const auto& f : d.flags)
            qInfo("%s %s: %s%s", f.name.c_str(), f.norm.c_str(), f.raised ? "RAISED " : "", f.evidence.c_str());
        QCOMPARE(d.tested, 7);
        QVERIFY2(!d.masking_likely, d.verdict.c_str());
        QVERIFY(QString::fromStdString(d.verdict).startsWith("gradient masking not detected"));
        // The facts behind it: PGD beats FGSM, and accuracy falls to 0 at the unbounded budget.
        QVERIFY(r.find("pgd-ce", "linf", 0.1)->accuracy <= r.find("fgsm", "linf", 0.1)->accuracy);
        const AttackResult* unbounded = r.find("pgd-ce", "linf", 1.0, "sweep");
        QVERIFY(unbounded && unbounded->unbounded);
        QCOMPARE(unbounded->accuracy, 0.0);
    }

    void diagnosisFlagsAMaskedModel() {
        const AttackReport r =
            run_attack_suite(mlp_classifier(true), fmnist_->test, masking_config(), c10::Device("cpu"));
        const MaskingDiagnosis d = diagnose(r);
        for (const auto& f : d.flags)
            qInfo("%s %s: %s%s", f.name.c_str(), f.norm.c_str(), f.raised ? "RAISED " : "", f.evidence.c_str());
        QVERIFY2(d.masking_likely, d.verdict.c_str());
        QVERIFY(QString::fromStdString(d.verdict).startsWith("gradient masking likely"));
        const auto raised = [&](const std::string& name) {
            for (const auto& f : d.flags)
                if (f.name == name) return f.raised;
            return false;
        };
        QVERIFY(raised("vanishing_gradients"));
        QVERIFY(raised("unbounded_not_zero"));
        QVERIFY(raised("black_box_beats_white_box"));
        // Zero gradients move nothing: FGSM leaves the clean accuracy as it is.
        QCOMPARE(r.find("fgsm", "linf", 0.1)->correct, r.find("clean", "", 0)->correct);
        QCOMPARE(r.probes.front().ce_zero, r.probes.front().n);
    }

    void commandLineAppendsResultsToTheRunFile() {
        const normout::test::CliRunner cli;
        QVERIFY2(cli.exists(), "NORMOUT_CLI must point at the normout binary");
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/tiny.h5";
        // Without evaluation while training: the rows counted below are the command's alone.
        const RunConfig c = normout::test::TinyRun()
                                .limits(1024, 200)
                                .threads(2)
                                .without_evaluation()
                                .data_path(normout::test::fashion_mnist_dir())
                                .config();
        TrainOptions o;
        o.out_path = path;
        o.progress_interval_seconds = 0;
        QCOMPARE(train(c, o).status, RunStatus::Finished);

        const QStringList args = {"attack",
                                  QString::fromStdString(path),
                                  "--n",
                                  "40",
                                  "--queries",
                                  "60",
                                  "--eps-sweep",
                                  "--sweep-eps",
                                  "8/255,inf",
                                  "--threads",
                                  "2"};
        const auto first = cli.run(args, 300000);
        QVERIFY(!first.timed_out);
        const QString& out = first.out;
        QVERIFY2(first.code == 0, qPrintable(out + first.err));
        QVERIFY2(out.contains("Verdict: gradient masking"), qPrintable(out));
        QVERIFY(out.contains("PGD-T") && out.contains("Square") && out.contains("one_step_beats_iterative"));

        const AnalysisData data = read_analysis(path);
        QVERIFY(data.tables.count("attacks") && data.tables.count("masking"));
        const AnalysisTable& attacks = data.tables.at("attacks");
        QCOMPARE(attacks.rows.size(), std::size_t(1 + 5 + 2));  // clean, five attacks, two sweep points
        for (const auto& row : attacks.rows) {
            const double acc = row.numbers.at("accuracy");
            QVERIFY(row.numbers.at("ci_low") <= acc && acc <= row.numbers.at("ci_high"));
            QCOMPARE(row.numbers.at("n"), 40.0);
            QCOMPARE(row.numbers.at("weights_step"), static_cast<double>(read_run(path).weights_step));
        }
        const AnalysisRow* sq = find_row(attacks, "attack", "square", 1);
        QVERIFY(sq && sq->numbers.at("query_budget") == 60);
        const AnalysisRow* verdict = find_row(data.tables.at("masking"), "flag", "verdict", 1);
        QVERIFY(verdict && !verdict->texts.at("verdict").empty());
        QVERIFY(data.arrays.count("attack_outcomes_1"));
        QCOMPARE(data.arrays.at("attack_outcomes_1").shape, (std::vector<int64_t>{8, 40}));

        // The same configuration in-process gives the same numbers (seeded subset and attacks).
        LoadedRun run = load_run(path, {}, "cpu");
        AttackConfig ac;
        ac.n = 40;
        ac.square_queries = 60;
        ac.eps_sweep = true;
        ac.sweep_linf = {8.0 / 255.0, kUnboundedEps};
        const AttackReport again = run_attack_suite(run.net, run.data->test, ac, c10::Device("cpu"));
        for (const auto& r : again.results) {
            const AnalysisRow* row = nullptr;
            for (const auto& x : attacks.rows)
                if (x.texts.at("attack") == r.attack && x.texts.at("role") == r.role) row = &x;
            QVERIFY2(row && row->numbers.at("correct") == static_cast<double>(r.correct), r.attack.c_str());
        }

        // A second evaluation is numbered 2; bad settings fail with the field's name.
        const auto second = cli.run(
            {"attack", QString::fromStdString(path), "--n", "20", "--attacks", "fgsm", "--threads", "2"}, 120000);
        QVERIFY(!second.timed_out && second.code == 0);
        QVERIFY(find_row(read_analysis(path).tables.at("attacks"), "attack", "fgsm", 2));
        const auto bad = cli.run({"attack", QString::fromStdString(path), "--steps", "0"}, 60000);
        QVERIFY(!bad.timed_out);
        QCOMPARE(bad.code, 1);
        QVERIFY(bad.err.contains("attack.steps"));
    }

  private:
    static AttackConfig masking_config() {
        AttackConfig c;
        c.n = 300;
        c.eps_linf = {0.1};
        c.square_queries = 1000;
        c.eps_sweep = true;
        c.sweep_linf = {0.025, 0.05, 0.1, 0.2, kUnboundedEps};
        c.batch_size = 300;
        return c;
    }
};

QTEST_GUILESS_MAIN(TestAttacks)
#include "test_attacks.moc"
