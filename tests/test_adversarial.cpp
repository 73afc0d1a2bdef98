// Adversarial training (engine/train/adversarial.h): budgets, the image box and the mixed batch;
// the crafted rows raise the loss; BatchNorm's statistics, the model's mode and the parameters'
// gradients as adv_bn promises, also when the attack throws; and end to end, a PGD-trained run
// is more robust to PGD than the same run trained clean, and records robust_accuracy.
#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/optim/sgd.h>
#include <torch/utils.h>

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <algorithm>
#include <cmath>
#include <memory>

#include "engine/attacks/classifier.h"
#include "engine/attacks/gradient_attacks.h"
#include "engine/attacks/proportions.h"
#include "engine/data/prepare.h"
#include "engine/model/model.h"
#include "engine/model/state.h"
#include "engine/rng.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/adversarial.h"
#include "engine/train/loader.h"
#include "support/fixtures.h"
#include "support/tiny_nets.h"
#include "support/tiny_run.h"

using namespace normout;
using normout::test::layer;

namespace {

// Conv-BN-ReLU-pool twice and a linear classifier: 28 x 28 grey images, BatchNorm to watch.
Net small_bn_net(const PreparedData& d) {
    const std::vector<LayerInfo> table = {
        layer("Conv2d", 1, 8),  layer("BatchNorm2d", 8, 8),     layer("ReLU"), layer("MaxPool2d"),
        layer("Conv2d", 8, 16), layer("BatchNorm2d", 16, 16),   layer("ReLU"), layer("MaxPool2d"),
        layer("Flatten"),       layer("Linear", 16 * 7 * 7, 10)};
    return build_model(table, d.mean, d.stddev);
}

TrainConfig attack_config(const std::string& attack, const std::string& norm) {
    TrainConfig t;
    t.adversarial = attack;
    t.adv_norm = norm;
    return t;
}

// Per-row perturbation norm in double, so float rounding in the check cannot hide an excess.
at::Tensor row_norms(const at::Tensor& adv, const at::Tensor& x, const std::string& norm) {
    const at::Tensor d = (adv.to(at::kDouble) - x.to(at::kDouble)).flatten(1);
    return norm == "linf" ? d.abs().amax(1) : d.pow(2).sum(1).sqrt();
}

std::vector<at::Tensor> bn_buffers(Net& net) {
    std::vector<at::Tensor> out;
    for (const auto& m : net->modules(false))
        if (auto* b = m->as<torch::nn::BatchNorm2d>())
            for (const at::Tensor& t : {b->running_mean, b->running_var, b->num_batches_tracked})
                out.push_back(t.clone());
    return out;
}

bool all_equal(const std::vector<at::Tensor>& a, const std::vector<at::Tensor>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (!at::equal(a[i], b[i])) return false;
    return true;
}

std::vector<double> bn_momenta(Net& net) {
    std::vector<double> out;
    for (const auto& m : net->modules(false))
        if (auto* b = m->as<torch::nn::BatchNorm2d>()) out.push_back(b->options.momentum().value_or(-1.0));
    return out;
}

// Mean cross-entropy with the model in training mode (batch statistics) or evaluation mode; the
// BatchNorm buffers are put back, so measuring changes nothing.
double mean_loss(Net& net, const at::Tensor& x, const at::Tensor& y, bool training) {
    torch::NoGradGuard no_grad;
    const std::vector<at::Tensor> saved = bn_buffers(net);
    net->train(training);
    const double loss = summed_cross_entropy(net->forward(x), y).item<double>() / static_cast<double>(x.size(0));
    net->train();
    std::size_t k = 0;
    for (const auto& m : net->modules(false))
        if (auto* b = m->as<torch::nn::BatchNorm2d>())
            for (at::Tensor* t : {&b->running_mean, &b->running_var, &b->num_batches_tracked})
                t->copy_(saved[k++]);
    return loss;
}

std::shared_ptr<const PreparedData> run_data(const RunConfig& c) {
    DataConfig d = c.data;
    d.path = normout::test::fashion_mnist_dir();
    return std::make_shared<PreparedData>(prepare_data(d, {}, c.train.seed));
}

// Which of the n test images the net still classifies correctly under PGD (L-inf, eps): the
// engine's evaluation attack, in evaluation mode, with seeds fixed per image.
std::vector<bool> robust_hits(Net& net, const at::Tensor& x, const at::Tensor& y, double eps, bool attack) {
    AttackModeGuard guard(net);
    const Classifier model = net_classifier(net, 1);
    PgdOptions o;
    o.norm = Norm::Linf;
    o.eps = eps;
    o.steps = 10;
    o.step = 2.5 * eps / o.steps;
    std::vector<bool> hits;
    for (int64_t b = 0; b < x.size(0); b += 250) {
        const int64_t e = std::min<int64_t>(x.size(0), b + 250);
        const at::Tensor xb = x.slice(0, b, e), yb = y.slice(0, b, e);
        std::vector<uint64_t> seeds;
        for (int64_t i = b; i < e; ++i)
            seeds.push_back(derive_seed(2024, static_cast<uint64_t>(i)));
        const at::Tensor xa = attack ? pgd_untargeted(model, xb, yb, o, seeds) : xb;
        const at::Tensor ok = predict_logits(model, xa).argmax(1).eq(yb).contiguous();
        for (int64_t i = 0; i < ok.size(0); ++i)
            hits.push_back(ok[i].item<bool>());
    }
    return hits;
}

double rate(const std::vector<bool>& v) {
    return static_cast<double>(std::count(v.begin(), v.end(), true)) / static_cast<double>(v.size());
}

}  // namespace

class TestAdversarial : public QObject {
    Q_OBJECT

    std::shared_ptr<const PreparedData> data_;
    Net net_{nullptr};  // small_bn_net trained a little
    at::Tensor x_, y_;  // 200 test images and labels

  private Q_SLOTS:
    void initTestCase() {
        at::set_num_threads(2);
        DataConfig d;
        d.dataset = "fashion-mnist";
        d.path = normout::test::fashion_mnist_dir();
        d.pad_to = 28;
        d.train_limit = 2000;
        d.test_limit = 200;
        data_ = std::make_shared<PreparedData>(prepare_data(d, {}, 0));
        at::manual_seed(0);
        net_ = small_bn_net(*data_);
        net_->train();
        torch::optim::SGD opt(net_->parameters(), torch::optim::SGDOptions(0.05).momentum(0.9));
        const EvalBatches train(data_->train);
        for (int epoch = 0; epoch < 2; ++epoch)
            for (int64_t b = 0; b < train.size(); b += 100) {
                const Batch batch = train.slice(b, std::min<int64_t>(train.size(), b + 100));
                opt.zero_grad();
                (summed_cross_entropy(net_->forward(batch.x), batch.y) / batch.x.size(0)).backward();
                opt.step();
            }
        const Batch test = EvalBatches(data_->test).slice(0, 200);
        x_ = test.x;
        y_ = test.y;
        torch::NoGradGuard no_grad;
        net_->eval();
        const double acc = net_->forward(x_).argmax(1).eq(y_).to(at::kDouble).mean().item<double>();
        net_->train();
        QVERIFY2(acc > 0.6, qPrintable(QString("small net test accuracy %1").arg(acc)));
    }

    void resolvesDefaults() {
        TrainConfig t = attack_config("pgd", "linf");
        t.adv_iterations = 10;
        QCOMPARE(adversarial_eps(t), 8.0 / 255.0);
        QCOMPARE(adversarial_step(t), 2.5 * (8.0 / 255.0) / 10);
        t.adv_norm = "l2";
        QCOMPARE(adversarial_eps(t), 0.5);
        QCOMPARE(adversarial_step(t), 2.5 * 0.5 / 10);
        t.adversarial = "fgsm-rs";
        QCOMPARE(adversarial_step(t), 1.25 * 0.5);
        t.adv_eps = 0.25;
        t.adv_step = 0.1;
        QCOMPARE(adversarial_eps(t), 0.25);
        QCOMPARE(adversarial_step(t), 0.1);
        t.adv_fraction = 0.25;
        QCOMPARE(adversarial_count(t, 12), int64_t(3));
        t.adv_fraction = 0.3;  // 3.6 rows
        QCOMPARE(adversarial_count(t, 12), int64_t(4));
        t.adv_fraction = 0.01;
        QCOMPARE(adversarial_count(t, 12), int64_t(1));
        t.adversarial = "none";
        QCOMPARE(adversarial_count(t, 12), int64_t(0));
        const AdversarialBatch none = craft_adversarial_batch(net_, x_.slice(0, 0, 12), y_.slice(0, 0, 12), t);
        QCOMPARE(none.count, int64_t(0));
        QVERIFY(at::equal(none.x, x_.slice(0, 0, 12)));
    }

    // The budget, the box, and which rows change, for both attacks and norms, default and given
    // budgets, all and part of the batch.
    void staysInTheBallAndTheBox() {
        const at::Tensor x = x_.slice(0, 0, 12), y = y_.slice(0, 0, 12);
        for (const std::string attack : {"pgd", "fgsm-rs"})
            for (const std::string norm : {"linf", "l2"})
                for (const double eps : {0.0, norm == "linf" ? 0.2 : 2.0})
                    for (const double fraction : {1.0, 0.3}) {
                        TrainConfig t = attack_config(attack, norm);
                        t.adv_eps = eps;
                        t.adv_iterations = 5;
                        t.adv_fraction = fraction;
                        const QString what = QString("%1 %2 eps %3 fraction %4")
                                                 .arg(attack.c_str(), norm.c_str())
                                                 .arg(eps)
                                                 .arg(fraction);
                        const double budget = eps > 0 ? eps : (norm == "linf" ? 8.0 / 255.0 : 0.5);
                        const auto count = static_cast<int64_t>(std::ceil(fraction * 12));
                        const AdversarialBatch a = craft_adversarial_batch(net_, x, y, t);
                        QCOMPARE(a.count, count);
                        QVERIFY(a.x.sizes() == x.sizes());
                        QVERIFY2(!a.x.requires_grad(), qPrintable(what));
                        QVERIFY2(a.x.min().item<float>() >= 0.f && a.x.max().item<float>() <= 1.f, qPrintable(what));
                        const at::Tensor n = row_norms(a.x, x, norm);
                        const double largest = n.slice(0, 0, count).max().item<double>();
                        QVERIFY2(largest <= budget + 1e-6, qPrintable(what + QString(": norm %1").arg(largest)));
                        // Every attacked row moved, and the attack uses its budget (not a no-op).
                        QVERIFY2(n.slice(0, 0, count).min().item<double>() > 0, qPrintable(what));
                        QVERIFY2(largest > 0.5 * budget, qPrintable(what + QString(": norm %1").arg(largest)));
                        if (count < 12) QVERIFY2(at::equal(a.x.slice(0, count), x.slice(0, count)), qPrintable(what));
                    }
    }

    // With no random start and one iteration, each pixel moves by exactly the given step (L-inf)
    // or each image by exactly the step (L2); FGSM-RS's default step 1.25 eps from a uniform start
    // in [-eps, eps] ends on the boundary for 62.5% of the pixels. Images in [0.3, 0.7] keep the
    // box out of the way.
    void usesTheStepSize() {
        at::manual_seed(3);
        const at::Tensor x = at::rand({12, 1, 28, 28}) * 0.4 + 0.3, y = y_.slice(0, 0, 12);
        TrainConfig t = attack_config("pgd", "linf");
        t.adv_eps = 0.1;
        t.adv_step = 0.03;
        t.adv_iterations = 1;
        t.adv_random_start = false;
        at::Tensor d = (craft_adversarial_batch(net_, x, y, t).x.to(at::kDouble) - x.to(at::kDouble)).abs();
        const at::Tensor at_step = d.sub(0.03).abs().lt(1e-6);
        const double share = at_step.to(at::kDouble).mean().item<double>();
        QVERIFY(at_step.logical_or(d.eq(0)).all().item<bool>());  // moved by the step, or not at all
        QVERIFY2(share > 0.9, qPrintable(QString("share at the step %1").arg(share)));

        t.adv_norm = "l2";
        t.adv_eps = 1.0;
        t.adv_step = 0.3;
        const at::Tensor n = row_norms(craft_adversarial_batch(net_, x, y, t).x, x, "l2");
        QVERIFY2((n - 0.3).abs().max().item<double>() < 1e-5,
                 qPrintable(QString("norm %1").arg(n.max().item<double>())));

        t = attack_config("fgsm-rs", "linf");
        d = (craft_adversarial_batch(net_, x, y, t).x.to(at::kDouble) - x.to(at::kDouble)).abs();
        const double on_boundary = d.sub(8.0 / 255.0).abs().lt(1e-6).to(at::kDouble).mean().item<double>();
        // 9408 pixels: the standard error of the share is 0.005.
        QVERIFY2(std::fabs(on_boundary - 0.625) < 0.03, qPrintable(QString("on the boundary %1").arg(on_boundary)));
    }

    void drawsFromTheGlobalGenerator() {
        const at::Tensor x = x_.slice(0, 0, 8), y = y_.slice(0, 0, 8);
        TrainConfig t = attack_config("pgd", "l2");
        t.adv_bn = "eval";  // a deterministic model: only the random start differs
        t.adv_iterations = 2;
        at::manual_seed(11);
        const at::Tensor a = craft_adversarial_batch(net_, x, y, t).x;
        at::manual_seed(11);
        const at::Tensor b = craft_adversarial_batch(net_, x, y, t).x;
        const at::Tensor c = craft_adversarial_batch(net_, x, y, t).x;
        QVERIFY(at::equal(a, b));
        QVERIFY(!at::equal(a, c));
    }

    // On a model trained a little the crafted rows have a clearly higher loss than the clean ones,
    // measured with the model as the attack saw it.
    void raisesTheLoss() {
        for (const std::string bn : {"eval", "frozen"})
            for (const std::string attack : {"pgd", "fgsm-rs"})
                for (const std::string norm : {"linf", "l2"}) {
                    TrainConfig t = attack_config(attack, norm);
                    t.adv_bn = bn;
                    t.adv_iterations = 5;
                    const at::Tensor adv = craft_adversarial_batch(net_, x_, y_, t).x;
                    const bool training = bn == "frozen";
                    const double clean = mean_loss(net_, x_, y_, training),
                                 attacked = mean_loss(net_, adv, y_, training);
                    qInfo("%s %s, BN %s: mean loss %.3f clean, %.3f adversarial", attack.c_str(), norm.c_str(),
                          bn.c_str(), clean, attacked);
                    QVERIFY2(attacked > clean + 0.2, qPrintable(QString("%1 %2 %3: %4 vs %5")
                                                                    .arg(attack.c_str(), norm.c_str(), bn.c_str())
                                                                    .arg(attacked)
                                                                    .arg(clean)));
                }
    }

    void handlesBatchNormAsConfigured() {
        const at::Tensor x = x_.slice(0, 0, 32), y = y_.slice(0, 0, 32);
        // Some parameters with a gradient, some without: both must stay as they are.
        (summed_cross_entropy(net_->forward(x), y)).backward();
        auto params = net_->parameters();
        params[0].mutable_grad().reset();
        std::vector<at::Tensor> grads;
        for (const auto& p : params)
            grads.push_back(p.grad().defined() ? p.grad().clone() : at::Tensor());
        for (const std::string bn : {"frozen", "eval", "train"})
            for (const std::string attack : {"pgd", "fgsm-rs"}) {
                TrainConfig t = attack_config(attack, "linf");
                t.adv_bn = bn;
                t.adv_iterations = 3;
                const QString what = QString("%1 BN %2").arg(attack.c_str(), bn.c_str());
                const std::vector<at::Tensor> before = bn_buffers(net_);
                net_->train();
                craft_adversarial_batch(net_, x, y, t);
                QVERIFY2(net_->is_training(), qPrintable(what));
                QVERIFY2(bn_momenta(net_) == std::vector<double>({0.1, 0.1}), qPrintable(what));
                const bool unchanged = all_equal(before, bn_buffers(net_));
                QVERIFY2(unchanged == (bn != "train"), qPrintable(what));
                for (std::size_t i = 0; i < params.size(); ++i) {
                    const at::Tensor g = params[i].grad();
                    QVERIFY2(g.defined() == grads[i].defined(), qPrintable(what));
                    if (g.defined()) QVERIFY2(at::equal(g, grads[i]), qPrintable(what));
                }
            }
        // Called in evaluation mode, the model goes back to evaluation mode.
        net_->eval();
        craft_adversarial_batch(net_, x, y, attack_config("pgd", "linf"));
        QVERIFY(!net_->is_training());
        net_->train();
    }

    // A failing attack (labels out of range) still restores the mode, momentum and statistics.
    void restoresTheModelWhenTheAttackThrows() {
        const at::Tensor x = x_.slice(0, 0, 8), y = at::full({8}, 99, y_.options());
        for (const std::string bn : {"frozen", "eval"}) {
            TrainConfig t = attack_config("pgd", "linf");
            t.adv_bn = bn;
            const std::vector<at::Tensor> before = bn_buffers(net_);
            net_->train();
            bool threw = false;
            try {
                craft_adversarial_batch(net_, x, y, t);
            } catch (const std::exception&) {
                threw = true;
            }
            QVERIFY(threw);
            QVERIFY(net_->is_training());
            QVERIFY(bn_momenta(net_) == std::vector<double>({0.1, 0.1}));
            QVERIFY(all_equal(before, bn_buffers(net_)));
        }
    }

    // End to end through normout::train(): the same tiny run (the quick preset's NormOut at 48
    // and 51) trained clean and with PGD, then both attacked by the evaluation's PGD on the same
    // test images.
    void pgdTrainingRaisesRobustAccuracy() {
        QElapsedTimer timer;
        timer.start();
        const double eps = 0.1;
        RunConfig c = normout::test::TinyRun()
                          .hidden(64)
                          .epochs(kEpochs)
                          .limits(kTrain, kTest)
                          .threads(2)
                          .without_evaluation()
                          .config();
        // Adam and PyTorch's initialisation leave VGG's initial plateau within the first epoch
        // (SGD with VGG's initialisation needs a few hundred steps, more than this run has).
        c.model.init = "pytorch";
        c.train.optimizer = "adam";
        c.train.lr = 0.002;
        const auto data = run_data(c);
        QTemporaryDir dir;
        TrainOptions o;
        o.data = data;
        o.progress_interval_seconds = 0;

        o.out_path = dir.path().toStdString() + "/clean.h5";
        const RunOutcome clean = train(c, o);
        QCOMPARE(clean.status, RunStatus::Finished);
        const double clean_seconds = timer.elapsed() / 1000.0;

        RunConfig a = c;
        a.train.adversarial = "pgd";
        a.train.adv_norm = "linf";
        a.train.adv_eps = eps;
        a.train.adv_iterations = kTrainIterations;
        o.out_path = dir.path().toStdString() + "/pgd.h5";
        const RunOutcome robust = train(a, o);
        QCOMPARE(robust.status, RunStatus::Finished);
        const double pgd_seconds = timer.elapsed() / 1000.0 - clean_seconds;

        // The run file's extra series: robust_accuracy per step and per epoch, in [0, 1].
        const RunInfo info = read_run(o.out_path);
        const auto& names = info.header.step_extra;
        const auto it = std::find(names.begin(), names.end(), "robust_accuracy");
        QVERIFY2(it != names.end(), "no robust_accuracy in /metrics/step");
        const auto k = static_cast<std::size_t>(it - names.begin());
        QVERIFY(!info.steps.empty());
        for (const StepRecord& s : info.steps) {
            QVERIFY(s.extra.size() == names.size());
            QVERIFY2(s.extra[k] >= 0.0 && s.extra[k] <= 1.0, qPrintable(QString("step %1").arg(s.global_step)));
        }
        const auto& enames = info.header.epoch_extra;
        const auto ek = std::find(enames.begin(), enames.end(), "robust_accuracy");
        QVERIFY2(ek != enames.end(), "no robust_accuracy in /metrics/epoch");
        for (const EpochRecord& e : info.epochs) {
            const double v = e.extra.at(static_cast<std::size_t>(ek - enames.begin()));
            QVERIFY2(v >= 0.0 && v <= 1.0, qPrintable(QString("epoch %1: %2").arg(e.epoch).arg(v)));
        }
        const auto none = read_run(dir.path().toStdString() + "/clean.h5").header.step_extra;
        QVERIFY(std::find(none.begin(), none.end(), "robust_accuracy") == none.end());

        // Both final models under the evaluation's PGD-10 on the same test images.
        const Batch test = EvalBatches(data->test).slice(0, data->test.count);
        std::vector<bool> hits[2], clean_hits[2];
        const std::string paths[2] = {dir.path().toStdString() + "/clean.h5", o.out_path};
        for (int m = 0; m < 2; ++m) {
            Net net =
                build_model(layer_table(c.model, data->channels(), data->num_classes()), data->mean, data->stddev);
            import_state(*net, read_weights(paths[m]));
            clean_hits[m] = robust_hits(net, test.x, test.y, eps, false);
            hits[m] = robust_hits(net, test.x, test.y, eps, true);
        }
        PairedCounts counts;  // A: the PGD-trained model holds, B: the clean-trained one does
        for (std::size_t i = 0; i < hits[0].size(); ++i) {
            const bool pa = hits[1][i], pb = hits[0][i];
            (pa && pb ? counts.both : pa ? counts.only_a : pb ? counts.only_b : counts.neither)++;
        }
        const Interval diff = paired_difference_interval(counts);
        qInfo("clean training: clean accuracy %.3f, PGD-10 accuracy %.3f (eps %.2f, n %lld)", rate(clean_hits[0]),
              rate(hits[0]), eps, static_cast<long long>(counts.n()));
        qInfo("PGD training:   clean accuracy %.3f, PGD-10 accuracy %.3f", rate(clean_hits[1]), rate(hits[1]));
        qInfo(
            "robust accuracy difference %.3f, 95%% Newcombe interval [%.3f, %.3f]; only PGD-trained %lld, only "
            "clean-trained %lld",
            rate(hits[1]) - rate(hits[0]), diff.low, diff.high, static_cast<long long>(counts.only_a),
            static_cast<long long>(counts.only_b));
        qInfo("timings: clean run %.1f s, PGD run %.1f s, evaluation %.1f s", clean_seconds, pgd_seconds,
              timer.elapsed() / 1000.0 - clean_seconds - pgd_seconds);
        // The adversarially trained model learnt the task (not a constant, trivially "robust" guess).
        QVERIFY2(rate(clean_hits[1]) > 0.3, qPrintable(QString("clean accuracy %1").arg(rate(clean_hits[1]))));
        QVERIFY2(diff.low > 0, qPrintable(QString("interval [%1, %2]").arg(diff.low).arg(diff.high)));
    }

  private:
    // About 15 s clean and 45 s with PGD-3 on two idle cores; the evaluation takes a few seconds.
    static constexpr int kEpochs = 3;
    static constexpr int64_t kTrain = 2048;
    static constexpr int64_t kTest = 500;  // with robust accuracies near 0 and 0.4, the interval is about +-0.045
    static constexpr int kTrainIterations = 3;
};

QTEST_GUILESS_MAIN(TestAdversarial)
#include "test_adversarial.moc"
