// The thesis's future work (section 4.3) in the engine: layer schedules (active windows,
// temperature and p schedules) and activation penalties, from the layer up to the run file.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>

#include "engine/config/model_spec.h"
#include "engine/config/schedule.h"
#include "engine/data/prepare.h"
#include "engine/model/layer_epoch.h"
#include "engine/model/layers.h"
#include "engine/model/model.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/penalties.h"
#include "support/fixtures.h"
#include "support/stats.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

LayerSpec softmax_spec(double t0) {
    LayerSpec s;
    s.type = "normout";
    s.variant = "temporal-softmax";
    s.temperature = t0;
    return s;
}

at::Tensor input(const std::vector<int64_t>& shape, int64_t seed) {
    at::manual_seed(seed);
    return at::randn(shape) * 3.0;
}

RunConfig tiny_config() {
    RunConfig c =
        normout::test::TinyRun().hidden(32).epochs(3).limits(512, 128).threads(2).without_evaluation().config();
    LayerSpec early = softmax_spec(100);
    early.active_until = 2;  // NormOut at 48 in epochs 1 and 2 only
    LayerSpec annealed = softmax_spec(100);
    annealed.schedule = "cosine";
    annealed.schedule_to = 10;
    annealed.schedule_until = 2;
    c.model.surgery = {{"replace", {48}, early}, {"replace", {51}, annealed}};
    c.train.penalties = {{47, 0.05, 0}, {50, 0, 0.02}};
    return c;
}

// The training loop's own order of extras for tiny_config().
const std::vector<std::string> kStepExtras = {"penalty_l1_47", "penalty_l2_50", "objective"};

}  // namespace

class TestFuture : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    // Outside its epochs a scheduled layer is the identity: the very tensor values, in training
    // mode, for every NormOut variant and for Dropout; inside them it drops units.
    void scheduledLayerIsIdentityOutsideItsEpochs() {
        const at::Tensor x2 = input({32, 40}, 1), x4 = input({8, 6, 4, 4}, 2);
        for (const char* v : {"temporal-max", "spatial-max", "spatiotemporal-max", "temporal-softmax",
                              "spatial-softmax", "spatiotemporal-softmax"}) {
            LayerSpec s = softmax_spec(1.0);
            s.variant = v;
            s.active_from = 3;
            s.active_until = 6;
            NormOut layer(s);
            layer->train();
            for (int e = 0; e < 9; ++e) {
                layer->set_epoch(e);
                const bool active = e >= 3 && e < 6;
                QCOMPARE(layer->active(), active);
                for (const auto& x : {x2, x4}) {
                    const at::Tensor out = layer->forward(x);
                    QVERIFY2(at::equal(out, x) != active, (std::string(v) + " epoch " + std::to_string(e)).c_str());
                }
            }
        }
        LayerSpec d;
        d.type = "dropout";
        d.p = 0.5;
        d.active_from = 1;
        DropoutLayer dropout(d);
        dropout->train();
        dropout->set_epoch(0);
        QVERIFY(at::equal(dropout->forward(x2), x2));
        dropout->set_epoch(1);
        QVERIFY(!at::equal(dropout->forward(x2), x2));
        // Through the model: set_layer_epoch reaches every scheduled layer of the table.
        ModelConfig m;
        m.width = 0.0625;
        m.hidden = 16;
        LayerSpec late = softmax_spec(5.0);
        late.active_from = 4;
        m.surgery = {{"replace", {48, 51}, late}};
        torch::manual_seed(0);
        Net net = build_model(layer_table(m, 1, 10), {0.5f}, {0.25f});
        net->train();
        const at::Tensor images = at::rand({4, 1, 32, 32});
        set_layer_epoch(net, 3);
        torch::manual_seed(7);
        const at::Tensor a = net->forward(images);
        set_layer_epoch(net, 3);
        torch::manual_seed(8);  // another mask stream: no difference while the layers are off
        QVERIFY(at::equal(net->forward(images), a));
        set_layer_epoch(net, 4);
        torch::manual_seed(8);
        QVERIFY(!at::equal(net->forward(images), a));
    }

    // The temperature in effect is the schedule's, and the keep probabilities use it.
    void temperatureFollowsTheSchedule() {
        const at::Tensor x = input({64, 30}, 3).to(at::kDouble);
        for (const char* shape : {"linear", "cosine"}) {
            LayerSpec s = softmax_spec(50);
            s.schedule = shape;
            s.schedule_to = 2;
            s.schedule_from = 1;
            s.schedule_until = 5;
            NormOut layer(s);
            for (int e = 0; e < 8; ++e) {
                layer->set_epoch(e);
                const double f = std::clamp((e - 1) / 4.0, 0.0, 1.0);
                const double expected =
                    std::string(shape) == "linear" ? 50 + (2 - 50) * f : 2 + (50 - 2) * 0.5 * (1 + std::cos(M_PI * f));
                QVERIFY(std::fabs(layer->temperature() - expected) < 1e-12);
                const at::Tensor a = x.abs();
                const at::Tensor reference = at::exp((a - std::get<0>(a.max(0, true))) / expected);
                QVERIFY(at::allclose(layer->keep_probability(x), reference, 1e-12, 1e-12));
            }
        }
        // Dropout's p: the realised keep rate over many draws follows it.
        LayerSpec d;
        d.type = "dropout";
        d.p = 0.6;
        d.schedule = "linear";
        d.schedule_to = 0.1;
        d.schedule_until = 5;
        DropoutLayer dropout(d);
        dropout->train();
        const at::Tensor ones = at::ones({200, 500});
        const double z = normout::test::bonferroni_z(0.001, 6);
        for (int e = 0; e < 6; ++e) {
            dropout->set_epoch(e);
            const double p = scheduled_value(d, e);
            QVERIFY(std::fabs(dropout->p() - p) < 1e-12);
            torch::manual_seed(e);
            const double kept = dropout->forward(ones).ne(0).to(at::kDouble).mean().item<double>();
            QVERIFY2(std::fabs(kept - (1 - p)) <= normout::test::rate_tolerance(1 - p, ones.numel(), z),
                     ("epoch " + std::to_string(e)).c_str());
        }
    }

    // d(penalty)/d(theta) by autograd equals central finite differences, for L1 and L2 terms on a
    // Linear output that an in-place ReLU overwrites next and on that ReLU's output.
    void penaltyGradientsEqualFiniteDifferences() {
        ModelConfig m;
        m.width = 0.0625;
        m.hidden = 12;
        torch::manual_seed(3);
        Net net = build_model(layer_table(m, 1, 10), {0.5f}, {0.25f});
        net->to(at::kDouble);
        net->eval();  // deterministic: BatchNorm on its running statistics
        const std::vector<PenaltySpec> specs = {{46, 0.3, 0.7}, {50, 1.1, 0}};
        Penalties penalties(net, specs);
        QCOMPARE(penalties.names(), (std::vector<std::string>{"penalty_l1_46", "penalty_l2_46", "penalty_l1_50"}));
        const at::Tensor images = at::rand({5, 1, 32, 32}, at::kDouble);
        const auto total = [&] {
            net->forward(images);
            at::Tensor sum = at::zeros({}, at::kDouble);
            for (const auto& t : penalties.terms())
                sum = sum + t;
            return sum;
        };
        // The terms are what they say: weight * mean|a| and weight * mean a^2 of the layer output.
        {
            torch::NoGradGuard no_grad;
            net->forward(images);
            const auto terms = penalties.terms();
            const at::Tensor a46 = net->kept_outputs()[0], a50 = net->kept_outputs()[1];
            QVERIFY(std::fabs(terms[0].item<double>() - 0.3 * a46.abs().mean().item<double>()) < 1e-12);
            QVERIFY(std::fabs(terms[1].item<double>() - 0.7 * a46.square().mean().item<double>()) < 1e-12);
            QVERIFY(std::fabs(terms[2].item<double>() - 1.1 * a50.abs().mean().item<double>()) < 1e-12);
            QVERIFY(a46.lt(0).any().item<bool>());  // the kept Linear output predates the in-place ReLU
        }
        net->zero_grad();
        total().backward();
        int checked = 0;
        for (auto& item : net->named_parameters()) {
            at::Tensor p = item.value();
            if (!p.grad().defined()) continue;  // layers after the penalised ones get no gradient
            const at::Tensor flat = p.detach().view({-1});
            const at::Tensor grad = p.grad().view({-1});
            for (int64_t k : {int64_t(0), flat.numel() / 2, flat.numel() - 1}) {
                const double h = 1e-6, saved = flat[k].item<double>();
                torch::NoGradGuard no_grad;
                flat[k] = saved + h;
                const double up = total().item<double>();
                flat[k] = saved - h;
                const double down = total().item<double>();
                flat[k] = saved;
                const double fd = (up - down) / (2 * h), ad = grad[k].item<double>();
                QVERIFY2(std::fabs(fd - ad) <= 1e-6 + 1e-5 * std::fabs(ad),
                         (item.key() + "[" + std::to_string(k) + "]: autograd " + std::to_string(ad) +
                          ", finite differences " + std::to_string(fd))
                             .c_str());
                ++checked;
            }
        }
        QVERIFY(checked >= 30);
    }

    // A run records its penalty terms per step and per epoch, the objective they make with the
    // loss, and each scheduled layer's window and temperature per epoch; a run stopped inside an
    // epoch and resumed records the same epoch means.
    void runFileRecordsPenaltiesAndSchedules() {
        QTemporaryDir dir;
        const RunConfig c = tiny_config();
        TrainOptions o;
        o.data = normout::test::fashion_mnist_data(c);
        o.progress_interval_seconds = 0;
        o.out_path = dir.path().toStdString() + "/straight.h5";
        QCOMPARE(train(c, o).status, RunStatus::Finished);
        const RunInfo run = read_run(o.out_path);
        QCOMPARE(run.header.step_extra, kStepExtras);
        std::vector<std::string> epoch_extra = kStepExtras;
        for (const char* n : {"layer48_active", "layer48_temperature", "layer51_active", "layer51_temperature"})
            epoch_extra.push_back(n);
        QCOMPARE(run.header.epoch_extra, epoch_extra);
        QCOMPARE(run.epochs.size(), std::size_t(3));
        std::vector<double> sum(3, 0.0), count(3, 0.0);
        for (const auto& s : run.steps) {
            QCOMPARE(s.extra.size(), std::size_t(3));
            QVERIFY(s.extra[0] > 0 && s.extra[1] > 0);
            QVERIFY(std::fabs(s.extra[2] - (s.loss + s.extra[0] + s.extra[1])) < 1e-5 * s.extra[2]);
            sum[static_cast<std::size_t>(s.epoch - 1)] += s.extra[0];
            count[static_cast<std::size_t>(s.epoch - 1)] += 1;
        }
        const LayerInfo l51 = layer_table(c.model, 1, 10)[51];
        for (std::size_t e = 0; e < 3; ++e) {
            const auto& x = run.epochs[e].extra;
            QCOMPARE(x.size(), epoch_extra.size());
            // 512 images in batches of 64: equal weights, so the epoch value is the mean of its steps.
            QVERIFY(std::fabs(x[0] - sum[e] / count[e]) < 1e-9);
            QCOMPARE(x[3], e < 2 ? 1.0 : 0.0);
            QCOMPARE(x[4], 100.0);
            QCOMPARE(x[5], 1.0);
            QCOMPARE(x[6], scheduled_value(l51.custom, static_cast<int>(e)));
        }
        QCOMPARE(run.epochs[1].extra[6], 55.0);
        QCOMPARE(run.epochs[2].extra[6], 10.0);

        o.out_path = dir.path().toStdString() + "/split.h5";
        o.max_steps = 13;  // inside epoch 2 (8 steps per epoch)
        QCOMPARE(train(c, o).status, RunStatus::Stopped);
        o.max_steps = 0;
        QCOMPARE(resume(o.out_path, o).status, RunStatus::Finished);
        const RunInfo split = read_run(o.out_path);
        QCOMPARE(split.epochs.size(), run.epochs.size());
        for (std::size_t e = 0; e < run.epochs.size(); ++e)
            QCOMPARE(split.epochs[e].extra, run.epochs[e].extra);
    }
};

QTEST_APPLESS_MAIN(TestFuture)
#include "test_future.moc"
