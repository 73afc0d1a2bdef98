// Flatness measures against slow or closed-form references: the batched Fisher-Rao norm equals
// one backward pass per example and Liang et al.'s closed form on bias-free ReLU networks;
// Hutchinson's trace and power iteration agree with an exact Hessian; landscape directions are
// filter-normalised and slices reproduce the model's loss; `normout flatness` records it all.
#include <ATen/ATen.h>
#include <torch/autograd.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>

#include "engine/data/prepare.h"
#include "engine/flatness/flatness.h"
#include "engine/model/model.h"
#include "engine/rng.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/load_run.h"
#include "engine/train/loader.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_nets.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

using test::layer;

// Random images with labels in [0, classes).
ImageSet random_set(int64_t count, int channels, int side, int classes, uint64_t seed) {
    ImageSet s;
    s.count = count;
    s.channels = channels;
    s.height = s.width = side;
    SplitMix64 rng(seed);
    s.pixels.resize(static_cast<std::size_t>(count) * s.image_bytes());
    for (auto& p : s.pixels)
        p = static_cast<uint8_t>(rng.below(256));
    for (int64_t i = 0; i < count; ++i)
        s.labels.push_back(static_cast<int32_t>(rng.below(static_cast<uint64_t>(classes))));
    return s;
}

Batch whole(const ImageSet& set) {
    Batch b = EvalBatches(set).slice(0, set.count);
    b.x = b.x.to(at::kDouble);
    return b;
}

// Non-trivial BatchNorm statistics and affine parameters, so evaluation-mode BatchNorm matters.
void randomise_batchnorm(Net& net) {
    torch::NoGradGuard no_grad;
    for (auto& p : net->named_buffers(true))
        if (p.key().find("running_mean") != std::string::npos) p.value().normal_(0.0, 0.3);
    for (auto& p : net->named_buffers(true))
        if (p.key().find("running_var") != std::string::npos) p.value().uniform_(0.5, 2.0);
    for (const auto& l : net->named_parameters(true)) {
        const auto i = std::stoul(l.key().substr(7, l.key().rfind('.') - 7));
        if (net->table()[i].kind != "BatchNorm2d") continue;
        if (l.key().find("weight") != std::string::npos) l.value().uniform_(0.5, 1.5);
        if (l.key().find("bias") != std::string::npos) l.value().normal_(0.0, 0.2);
    }
}

// A small convolutional net in float64: conv, BatchNorm, ReLU, max-pool, linear.
Net small_conv_net() {
    torch::manual_seed(11);
    Net net = build_model({layer("Conv2d", 1, 3), layer("BatchNorm2d", 3, 3), layer("ReLU"), layer("MaxPool2d"),
                           layer("Flatten"), layer("Linear", 48, 16), layer("ReLU"), layer("Linear", 16, 10)},
                          {0.5f}, {0.25f});
    {
        torch::NoGradGuard no_grad;
        for (auto& p : net->parameters())
            if (p.dim() == 1) p.normal_(0.0, 0.1);  // non-zero biases
        for (auto& p : net->parameters())
            if (p.dim() == 2) p.normal_(0.0, 0.3);
    }
    randomise_batchnorm(net);
    net->to(at::kDouble);
    net->eval();
    return net;
}

double relative(double a, double b) {
    return std::abs(a - b) / std::max(std::abs(b), 1e-300);
}

// The exact Hessian of the mean cross-entropy, one row at a time from the gradient.
at::Tensor exact_hessian(Net& net, const at::Tensor& x, const at::Tensor& y) {
    const auto params = net->parameters();
    const at::Tensor loss = at::cross_entropy_loss(net->forward(x), y);
    const auto g = torch::autograd::grad({loss}, params, {}, true, true);
    std::vector<at::Tensor> flat;
    for (const auto& t : g)
        flat.push_back(t.flatten());
    const at::Tensor grad = at::cat(flat);
    const int64_t n = grad.numel();
    at::Tensor h = at::zeros({n, n}, at::kDouble);
    for (int64_t i = 0; i < n; ++i) {
        const auto row = torch::autograd::grad({grad[i]}, params, {}, true, false, true);
        std::vector<at::Tensor> parts;
        for (std::size_t k = 0; k < row.size(); ++k)
            parts.push_back(row[k].defined() ? row[k].flatten() : at::zeros({params[k].numel()}, at::kDouble));
        h[i] = at::cat(parts);
    }
    return h;
}

// 512 images in batches of 64, one epoch; without evaluation: the commands' rows alone.
RunConfig tiny_run_config() {
    RunConfig c = normout::test::TinyRun()
                      .hidden(64)
                      .threads(2)
                      .without_evaluation()
                      .data_path(normout::test::fashion_mnist_dir())
                      .config();
    c.train.lr = 0.05;
    return c;
}

}  // namespace

class TestFlatness : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    void configValidationNamesTheField() {
        FlatnessConfig c;
        validate(c);
        c.params = "biases";
        try {
            validate(c);
            QFAIL("params 'biases' was accepted");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("flatness.params"));
        }
        c = FlatnessConfig{};
        c.landscape = "3d";
        QVERIFY_THROWS_EXCEPTION(ConfigError, validate(c));
        c = FlatnessConfig{};
        c.grid = 1;
        QVERIFY_THROWS_EXCEPTION(ConfigError, validate(c));
    }

    void subsetIsSeededAndDistinct() {
        const auto a = flatness_subset(10000, 1000, 7), b = flatness_subset(10000, 1000, 7);
        QCOMPARE(a, b);
        QVERIFY(a != flatness_subset(10000, 1000, 8));
        QCOMPARE(a.size(), std::size_t(1000));
        QVERIFY(std::is_sorted(a.begin(), a.end()));
        QVERIFY(std::adjacent_find(a.begin(), a.end()) == a.end());
        QVERIFY(a.front() >= 0 && a.back() < 10000);
        QCOMPARE(flatness_subset(50, 0, 1).size(), std::size_t(50));
        QCOMPARE(flatness_subset(50, 80, 1).size(), std::size_t(50));
    }

    void batchedFisherRaoMatchesPerExampleReference() {
        Net net = small_conv_net();
        const ImageSet set = random_set(30, 1, 8, 10, 3);
        for (const std::string params : {"all", "weights"}) {
            FlatnessConfig c;
            c.n = 24;  // a seeded subset of the 30
            c.seed = 5;
            c.batch_size = 7;  // uneven batches
            c.params = params;
            const FisherRao fast = fisher_rao(net, set, c, at::kCPU);
            const FisherRao slow = fisher_rao_reference(net, set, c, at::kCPU);
            QCOMPARE(fast.n, int64_t(24));
            QCOMPARE(slow.n, int64_t(24));
            QVERIFY(fast.empirical > 0 && fast.model > 0);
            QVERIFY2(
                relative(fast.empirical, slow.empirical) < 1e-4,
                qPrintable(
                    QString("%1: empirical %2 vs %3").arg(params.c_str()).arg(fast.empirical).arg(slow.empirical)));
            QVERIFY2(relative(fast.model, slow.model) < 1e-4,
                     qPrintable(QString("%1: model %2 vs %3").arg(params.c_str()).arg(fast.model).arg(slow.model)));
            QVERIFY(relative(fast.empirical_se, slow.empirical_se) < 1e-4);
        }
        // The parameter setting changes theta, so the value.
        FlatnessConfig all, weights;
        weights.params = "weights";
        const double a = fisher_rao(net, set, all, at::kCPU).empirical;
        // A training loop may call it in training mode under a NoGradGuard: same value, mode kept.
        net->train();
        {
            torch::NoGradGuard no_grad;
            QVERIFY(relative(fisher_rao(net, set, all, at::kCPU).empirical, a) < 1e-12);
        }
        QVERIFY(net->is_training());
        net->eval();
        const double w = fisher_rao(net, set, weights, at::kCPU).empirical;
        QVERIFY2(relative(a, w) > 1e-3, qPrintable(QString("all %1, weights %2").arg(a).arg(w)));
        QCOMPARE(select_parameters(net, "weights").names,
                 (std::vector<std::string>{"layers.0.weight", "layers.5.weight", "layers.7.weight"}));
    }

    void fusedClassifierKeepsTheFisherRaoNorm() {
        // A 1/16-width VGG-16-BN on 32 x 32 inputs reaches the classifier on 1 x 1 maps, where the
        // fused fast path replaces pool + flatten + linear; double backward must go through it.
        ModelConfig m;
        m.width = 0.0625;
        m.hidden = 16;
        const auto table = layer_table(m, 3, 10);
        torch::manual_seed(3);
        Net fused = build_model(table, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, true);
        randomise_batchnorm(fused);
        Net plain = build_model(table, {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f}, false);
        {
            torch::NoGradGuard no_grad;
            const auto src = fused->named_parameters(true);
            for (auto& p : plain->named_parameters(true))
                p.value().copy_(src[p.key()]);
            const auto bsrc = fused->named_buffers(true);
            for (auto& b : plain->named_buffers(true))
                b.value().copy_(bsrc[b.key()]);
        }
        fused->to(at::kDouble);
        plain->to(at::kDouble);
        fused->eval();
        plain->eval();
        const Batch b = whole(random_set(5, 3, 32, 10, 9));
        const FisherRaoTerms f = fisher_rao_terms(fused, b.x, b.y, "all");
        const FisherRaoTerms p = fisher_rao_terms(plain, b.x, b.y, "all");
        const FisherRaoTerms r = fisher_rao_terms_reference(fused, b.x, b.y, "all");
        for (std::size_t i = 0; i < 5; ++i) {
            QVERIFY2(f.empirical[i] > 0, "a zero term would make the comparison empty");
            QVERIFY2(relative(f.empirical[i], p.empirical[i]) < 1e-8, qPrintable(QString::number(i)));
            QVERIFY2(relative(f.model[i], p.model[i]) < 1e-8, qPrintable(QString::number(i)));
            QVERIFY2(relative(f.empirical[i], r.empirical[i]) < 1e-6, qPrintable(QString::number(i)));
            QVERIFY2(relative(f.model[i], r.model[i]) < 1e-6, qPrintable(QString::number(i)));
        }
    }

    void equalsLiangClosedFormOnBiasFreeReluMlp() {
        // f(x) = W3 relu(W2 relu(W1 x)): L = 2 hidden layers, f(c theta) = c^(L+1) f(theta), so
        // theta . grad f = (L+1) f and ||theta||_fr = (L+1)^2 E[<dl/df, f>^2] (Liang et al. 2019).
        torch::manual_seed(5);
        Net net = build_model({layer("Flatten"), layer("Linear", 36, 20), layer("ReLU"), layer("Linear", 20, 12),
                               layer("ReLU"), layer("Linear", 12, 6)},
                              {0.5f}, {0.25f});
        {
            torch::NoGradGuard no_grad;
            for (auto& p : net->parameters())
                if (p.dim() == 1)
                    p.zero_();
                else
                    p.normal_(0.0, 0.4);
        }
        net->to(at::kDouble);
        const ImageSet set = random_set(40, 1, 6, 6, 21);
        FlatnessConfig c;
        c.n = 0;
        c.batch_size = 16;
        const FisherRao fr = fisher_rao(net, set, c, at::kCPU);
        c.params = "weights";
        const FisherRao fr_weights = fisher_rao(net, set, c, at::kCPU);

        const Batch b = whole(set);
        torch::NoGradGuard no_grad;
        net->eval();
        const at::Tensor f = net->forward(b.x);
        const at::Tensor p = at::softmax(f, 1);
        const at::Tensor onehot = at::one_hot(b.y, 6).to(at::kDouble);
        const at::Tensor inner = ((p - onehot) * f).sum(1);  // <dl/df, f> for the true label
        const double empirical = 9.0 * inner.pow(2).mean().item<double>();
        // Model version: the same with y ~ p: sum_y p_y <p - e_y, f>^2.
        const at::Tensor pf = (p * f).sum(1, true);
        const double model = 9.0 * (p * (pf - f).pow(2)).sum(1).mean().item<double>();
        QCOMPARE(fr.n, int64_t(40));
        QVERIFY2(relative(fr.empirical, empirical) < 1e-8,
                 qPrintable(QString("batched %1, closed form %2").arg(fr.empirical).arg(empirical)));
        QVERIFY2(relative(fr.model, model) < 1e-8, qPrintable(QString("%1 vs %2").arg(fr.model).arg(model)));
        QVERIFY(relative(fr_weights.empirical, empirical) < 1e-8);  // zero biases add nothing
        // The exponent matters: L^2 or (L+2)^2 would be far off.
        QVERIFY(relative(fr.empirical, empirical * 4.0 / 9.0) > 0.5);
        QVERIFY(relative(fr.empirical, empirical * 16.0 / 9.0) > 0.3);
    }

    void hessianEstimatesAgreeWithExactHessian() {
        torch::manual_seed(8);
        Net net = build_model({layer("Flatten"), layer("Linear", 16, 6), layer("ReLU"), layer("Linear", 6, 4)}, {0.5f},
                              {0.25f});
        {
            torch::NoGradGuard no_grad;
            for (auto& p : net->parameters())
                p.normal_(0.0, 0.8);
        }
        net->to(at::kDouble);
        net->eval();
        const ImageSet set = random_set(40, 1, 4, 4, 4);
        FlatnessConfig c;
        c.n = 0;
        c.hessian_batch = 64;  // more than the set: the batch is all 40
        c.hutchinson_samples = 300;
        c.power_iterations = 2000;
        c.power_tolerance = 1e-12;
        c.seed = 2;
        const HessianResult r = hessian_measures(net, set, c, at::kCPU);

        const Batch b = whole(set);
        const at::Tensor h = exact_hessian(net, b.x, b.y);
        QCOMPARE(r.n, int64_t(40));
        QCOMPARE(r.param_count, h.size(0));
        QVERIFY(at::allclose(h, h.t(), 1e-10, 1e-12));
        const double trace = h.trace().item<double>();
        const at::Tensor eig = at::linalg_eigvalsh(h);
        const at::Tensor top = eig.index({eig.abs().argmax()});
        const double top_value = top.item<double>();
        QVERIFY(r.trace.standard_error > 0);
        QVERIFY2(
            std::abs(r.trace.trace - trace) < 4 * r.trace.standard_error,
            qPrintable(
                QString("Hutchinson %1 ± %2, exact %3").arg(r.trace.trace).arg(r.trace.standard_error).arg(trace)));
        // For Rademacher vectors the estimator's variance is 2 sum_{i != j} H_ij^2.
        const double off = (h.pow(2).sum() - h.diagonal().pow(2).sum()).item<double>();
        const double expected_se = std::sqrt(2 * off / c.hutchinson_samples);
        QVERIFY2(r.trace.standard_error > 0.6 * expected_se && r.trace.standard_error < 1.6 * expected_se,
                 qPrintable(QString("se %1, expected about %2").arg(r.trace.standard_error).arg(expected_se)));
        QVERIFY2(r.top.converged, qPrintable(QString("%1 iterations").arg(r.top.iterations)));
        QVERIFY2(relative(r.top.value, top_value) < 1e-4,
                 qPrintable(QString("power iteration %1, exact %2").arg(r.top.value).arg(top_value)));
        // A Hessian-vector product is the exact Hessian times the vector.
        const HessianOperator op(net, b.x, b.y, "all");
        const auto v = rademacher_like(op.params().tensors, 99);
        std::vector<at::Tensor> flat_v, flat_hv;
        for (const auto& t : v)
            flat_v.push_back(t.flatten());
        for (const auto& t : op.apply(v))
            flat_hv.push_back(t.flatten());
        QVERIFY(at::allclose(at::cat(flat_hv), at::mv(h, at::cat(flat_v)), 1e-9, 1e-12));
    }

    void filterNormalisationMatchesWeightFilters() {
        Net net = small_conv_net();
        const auto d = random_direction(net, 17);
        const auto params = net->parameters(true);
        QCOMPARE(d.size(), params.size());
        int filters = 0;
        for (std::size_t i = 0; i < d.size(); ++i) {
            QCOMPARE(d[i].sizes(), params[i].sizes());
            if (params[i].dim() <= 1) {
                QCOMPARE(d[i].abs().max().item<double>(), 0.0);  // BatchNorm and bias directions are zero
                continue;
            }
            for (int64_t k = 0; k < d[i].size(0); ++k, ++filters) {
                const double dn = d[i][k].norm().item<double>(), wn = params[i][k].norm().item<double>();
                QVERIFY2(relative(dn, wn) < 1e-9, qPrintable(QString("%1 vs %2").arg(dn).arg(wn)));
            }
        }
        QCOMPARE(filters, 3 + 16 + 10);
        // Seeded: the same seed gives the same direction, another seed another one.
        const auto again = random_direction(net, 17), other = random_direction(net, 18);
        QVERIFY(at::equal(d[0], again[0]));
        QVERIFY(!at::allclose(d[0], other[0]));
    }

    void landscapeSliceAtTheOriginIsTheModelsLoss() {
        Net net = small_conv_net();
        const ImageSet set = random_set(30, 1, 8, 10, 6);
        FlatnessConfig c;
        c.n = 20;
        c.batch_size = 8;
        c.grid = 5;
        // The model's own loss on the same subset, computed here.
        const ImageSet subset = set.subset(flatness_subset(set.count, c.n, c.seed));
        const Batch b = whole(subset);
        double loss0 = 0, acc0 = 0;
        {
            torch::NoGradGuard no_grad;
            const at::Tensor f = net->forward(b.x);
            loss0 = at::cross_entropy_loss(f, b.y).item<double>();
            acc0 = f.argmax(1).eq(b.y).to(at::kDouble).mean().item<double>();
        }
        const LandscapeGrid one = landscape_slice(net, set, c, 1, at::kCPU);
        QCOMPARE(one.x, (std::vector<double>{-1, -0.5, 0, 0.5, 1}));
        QCOMPARE(one.loss.size(), std::size_t(5));
        QVERIFY2(relative(one.loss[2], loss0) < 1e-10, qPrintable(QString("%1 vs %2").arg(one.loss[2]).arg(loss0)));
        QCOMPARE(one.accuracy[2], acc0);
        QVERIFY(one.loss[0] != one.loss[2] && one.loss[4] != one.loss[2]);  // it moved away

        c.grid = 3;
        const LandscapeGrid two = landscape_slice(net, set, c, 2, at::kCPU);
        QCOMPARE(two.loss.size(), std::size_t(9));
        QVERIFY(relative(two.loss[4], loss0) < 1e-10);
        // The 2-D slice's first direction is the 1-D slice's: the row y = 0 repeats it.
        QVERIFY(relative(two.loss[0 * 3 + 1], one.loss[0]) < 1e-10);
        QVERIFY(relative(two.loss[2 * 3 + 1], one.loss[4]) < 1e-10);

        // The model is left as it was.
        torch::NoGradGuard no_grad;
        QVERIFY(relative(at::cross_entropy_loss(net->forward(b.x), b.y).item<double>(), loss0) < 1e-12);

        // Interpolation: alpha 0 and 1 reproduce the two end points' losses.
        const ModelState end = current_state(net);
        ModelState start = end;
        for (auto& [name, t] : start)
            if (t.is_floating_point() && name.find("weight") != std::string::npos) t = t * 0.5;
        c.interpolate_min = 0;
        c.interpolate_max = 1;
        const LandscapeGrid line = interpolate(net, start, end, set, c, at::kCPU);
        QCOMPARE(line.x, (std::vector<double>{0, 0.5, 1}));
        QVERIFY(relative(line.loss[2], loss0) < 1e-10);
        Net halved = small_conv_net();
        for (auto& p : halved->named_parameters(true))
            p.value().copy_(start.at(p.key()));
        const double start_loss = at::cross_entropy_loss(halved->forward(b.x), b.y).item<double>();
        QVERIFY(relative(line.loss[0], start_loss) < 1e-10);
        QVERIFY(relative(start_loss, loss0) > 1e-3);
    }

    void commandRecordsTheMeasures() {
        const normout::test::CliRunner cli;
        QVERIFY2(cli.exists(), "NORMOUT_CLI must point at the normout binary");
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/run.h5";
        const RunConfig c = tiny_run_config();
        TrainOptions o;
        o.out_path = path;
        o.progress_interval_seconds = 0;
        QCOMPARE(train(c, o).status, RunStatus::Finished);

        const auto p = cli.run({"flatness", QString::fromStdString(path), "--fisher-rao", "--hessian", "--landscape",
                                "1d", "--grid", "5", "--interpolate", "--n", "64", "--hessian-batch", "32",
                                "--hutchinson", "4", "--power-iterations", "5", "--params", "weights"},
                               300000);
        QVERIFY(!p.timed_out);
        const QString& out = p.out;
        QVERIFY2(p.code == 0, qPrintable(out + p.err));
        QVERIFY2(out.contains("Fisher-Rao norm over 64 examples"), qPrintable(out));

        const AnalysisData data = read_analysis(path);
        QVERIFY(data.tables.count("flatness"));
        const auto& rows = data.tables.at("flatness").rows;
        QCOMPARE(rows.size(), std::size_t(4));
        std::vector<std::string> measures;
        for (const auto& r : rows) {
            measures.push_back(r.texts.at("measure"));
            QCOMPARE(QString::fromStdString(r.texts.at("params")), QString("weights"));
            QVERIFY(std::isfinite(r.numbers.at("value")));
            QCOMPARE(r.numbers.at("epoch"), 1.0);
            QCOMPARE(r.numbers.at("step"), 8.0);  // 512 images in batches of 64
        }
        QCOMPARE(measures, (std::vector<std::string>{"fisher_rao_empirical", "fisher_rao_model", "hessian_trace",
                                                     "hessian_top_eigenvalue"}));
        QCOMPARE(rows[0].numbers.at("n"), 64.0);
        QCOMPARE(rows[2].numbers.at("n"), 32.0);

        // The stored value is the engine's on the same weights and subset.
        LoadedRun run = load_run(path, {}, "cpu");
        FlatnessConfig fc;
        fc.n = 64;
        fc.params = "weights";
        const FisherRao fr = fisher_rao(run.net, run.data->test, fc, at::kCPU);
        QVERIFY(relative(rows[0].numbers.at("value"), fr.empirical) < 1e-5);
        QVERIFY(relative(rows[1].numbers.at("value"), fr.model) < 1e-5);

        for (const char* name : {"flatness_landscape_1d_loss", "flatness_landscape_1d_accuracy",
                                 "flatness_interpolation_loss", "flatness_interpolation_accuracy"}) {
            QVERIFY2(data.arrays.count(name), name);
            QCOMPARE(data.arrays.at(name).shape, (std::vector<int64_t>{5}));
        }
        const auto& slice = data.arrays.at("flatness_landscape_1d_loss");
        QCOMPARE(QString::fromStdString(slice.attributes.at("x")), QString("-1,-0.5,0,0.5,1"));
        QVERIFY(QString::fromStdString(slice.attributes.at("values")).startsWith("loss"));
        // The centre of the slice is the model's own loss on the subset.
        const LossAccuracy own = evaluate_subset(run.net, eval_subset(run.net, run.data->test, fc, at::kCPU));
        QVERIFY2(relative(slice.values[2], own.loss) < 1e-5,
                 qPrintable(QString("%1 vs %2").arg(slice.values[2]).arg(own.loss)));
        const auto& line = data.arrays.at("flatness_interpolation_loss");
        QVERIFY2(QString::fromStdString(line.attributes.at("from")).contains("ckpt-0000000000"),
                 line.attributes.at("from").c_str());
        QCOMPARE(QString::fromStdString(line.attributes.at("x")), QString("-0.5,0,0.5,1,1.5"));
        QVERIFY(relative(line.values[3], own.loss) < 1e-5);  // alpha 1 = the final weights

        // Bad input: an unknown parameter setting, a file that is not a run.
        const auto bad = cli.run({"flatness", QString::fromStdString(path), "--params", "biases"}, 60000);
        QVERIFY(!bad.timed_out);
        QVERIFY(bad.code != 0);
        const QString junk = dir.path() + "/junk.h5";
        normout::test::write_bytes(junk.toStdString(), "not a run");
        const auto notrun = cli.run({"flatness", junk}, 60000);
        QVERIFY(!notrun.timed_out);
        QCOMPARE(notrun.code, 1);
        QVERIFY(notrun.err.contains("junk.h5"));
    }
};

QTEST_GUILESS_MAIN(TestFlatness)
#include "test_flatness.moc"
