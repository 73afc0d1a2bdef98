// Instrumentation: every statistic, moving average, per-neuron figure and histogram against
// values computed independently on known tensors (all-zero and single-unit cases included), and
// the thesis's sparsity findings on short runs.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>

#include "engine/data/prepare.h"
#include "engine/model/layers.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/instrumentation.h"
#include "support/fixtures.h"
#include "support/tiny_nets.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

using test::identity_net;
using test::layer;
using test::surgery_layer;

struct Reference {
    double mean, max, var, sparsity;
};
Reference reference(const std::vector<double>& v) {
    double sum = 0, mx = -INFINITY, zeros = 0;
    for (double x : v) {
        sum += x;
        mx = std::max(mx, x);
        zeros += x == 0;
    }
    const double mean = sum / v.size();
    double ss = 0;
    for (double x : v)
        ss += (x - mean) * (x - mean);
    return {mean, mx, ss / v.size(), zeros / v.size()};
}

std::vector<double> values(const at::Tensor& t) {
    const at::Tensor c = t.to(at::kDouble).contiguous();
    return {c.data_ptr<double>(), c.data_ptr<double>() + c.numel()};
}

bool near(double a, double b, double tol = 1e-9) {
    return std::fabs(a - b) <= tol * std::max(1.0, std::fabs(b));
}

}  // namespace

class TestInstrument : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void stepStatisticsAndMovingAverages() {
        Net net = identity_net(1, true);
        InstrumentConfig cfg;
        cfg.ewma_alpha = 0.3;
        Instrumentation instr(net, cfg, {1, 2, 3});
        QCOMPARE(instr.layers().size(), std::size_t(1));
        QCOMPARE(instr.layers()[0].index, 1);
        QCOMPARE(instr.layers()[0].units, int64_t(6));
        net->train();
        std::vector<at::Tensor> batches = {
            at::tensor({0., 1.5, -2., 0., 3., 4., 0.5, 0., 0., 7., -1., 2.}, at::kFloat).view({2, 1, 2, 3}),
            at::zeros({2, 1, 2, 3}),  // all zero
            at::tensor({1., 2., 3., 4., 5., 6.}, at::kFloat).view({1, 1, 2, 3}),
        };
        std::vector<double> ewma(5, NAN);
        for (std::size_t b = 0; b < batches.size(); ++b) {
            instr.set_active(true, static_cast<int64_t>(b) + 1);
            net->forward(batches[b]);
        }
        instr.set_active(false, 0);
        net->eval();
        net->forward(batches[0]);  // evaluation passes are not recorded
        const auto rows = instr.drain();
        QCOMPARE(rows.size(), batches.size());
        for (std::size_t b = 0; b < batches.size(); ++b) {
            const Reference r = reference(values(batches[b]));
            const auto& s = rows[b];
            QCOMPARE(s.global_step, int64_t(b + 1));
            QVERIFY2(near(s.output.mean, r.mean, 1e-6), qPrintable(QString::number(s.output.mean)));
            QVERIFY(near(s.output.max, r.max));
            QVERIFY2(near(s.output.var, r.var, 1e-6), qPrintable(QString("%1 vs %2").arg(s.output.var).arg(r.var)));
            QVERIFY(near(s.output.std, std::sqrt(r.var), 1e-6));
            QVERIFY(near(s.output.sparsity, r.sparsity));
            QVERIFY(near(s.input.mean, r.mean, 1e-6));  // identity: input = output
            const double raw[5] = {r.mean, r.max, std::sqrt(r.var), r.var, r.sparsity};
            for (int f = 0; f < 5; ++f)
                ewma[f] = std::isfinite(ewma[f]) ? 0.3 * raw[f] + 0.7 * ewma[f] : raw[f];
            QVERIFY(near(s.output_ewma.mean, ewma[0], 1e-6));
            QVERIFY(near(s.output_ewma.max, ewma[1], 1e-6));
            QVERIFY(near(s.output_ewma.std, ewma[2], 1e-6));
            QVERIFY(near(s.output_ewma.var, ewma[3], 1e-6));
            QVERIFY(near(s.output_ewma.sparsity, ewma[4], 1e-6));
            QVERIFY(!s.has_keep);
        }
        QCOMPARE(rows[1].output.sparsity, 1.0);
        QCOMPARE(rows[1].output.std, 0.0);
        QVERIFY(instr.drain().empty());
    }

    void perNeuronStatisticsAndHistograms() {
        Net net = identity_net(1, true);
        InstrumentConfig cfg;
        cfg.histogram_bins = 4;
        cfg.neurons = {2, 5};
        Instrumentation instr(net, cfg, {1, 2, 3});
        net->train();
        const std::vector<at::Tensor> batches = {
            at::tensor({0., 1.5, -2., 0., 3., 4., 0.5, 0., 0., 7., -1., 2.}, at::kFloat).view({2, 1, 2, 3}),
            at::tensor({1., 2., 30., 0., 5., -9.}, at::kFloat).view({1, 1, 2, 3}),
        };
        for (const auto& b : batches) {
            instr.set_active(true, 1);
            net->forward(b);
        }
        instr.drain();
        const auto snaps = instr.end_epoch(1);
        QCOMPARE(snaps.size(), std::size_t(1));
        const LayerEpochSnapshot& s = snaps[0];
        QCOMPARE(s.epoch, 1);
        // Independent per-unit figures over the three rows.
        std::vector<std::vector<double>> cols(6);
        for (const auto& b : batches) {
            const auto v = values(b);
            for (std::size_t i = 0; i < v.size(); ++i)
                cols[i % 6].push_back(v[i]);
        }
        for (std::size_t u = 0; u < 6; ++u) {
            const Reference r = reference(cols[u]);
            QVERIFY(near(s.neuron_mean[u], r.mean, 1e-6));
            QVERIFY2(near(s.neuron_std[u], std::sqrt(r.var), 1e-5), qPrintable(QString::number(u)));
            QVERIFY(near(s.neuron_rate[u], 1.0 - r.sparsity, 1e-6));
        }
        // Histogram: range from the first batch, [min, max + (max - min) / 2] = [-2, 11.5].
        QCOMPARE(s.hist_edges.front(), -2.0);
        QCOMPARE(s.hist_edges.back(), 11.5);
        std::vector<double> counts(4, 0);
        double zero = 0, under = 0, over = 0;
        for (const auto& col : cols)
            for (double x : col) {
                if (x == 0) {
                    ++zero;
                    continue;
                }
                if (x < -2.0)
                    ++under;
                else if (x > 11.5)
                    ++over;
                else
                    ++counts[std::min<std::size_t>(3, static_cast<std::size_t>(std::floor((x + 2.0) / 13.5 * 4)))];
            }
        QCOMPARE(s.hist_zero, zero);
        QCOMPARE(s.hist_under, under);  // -9 from the second batch
        QCOMPARE(s.hist_over, over);    // 30
        QCOMPARE(s.hist_counts, counts);
        // Tracked neurons: [under, bins..., over] of their own values with the same edges.
        QCOMPARE(s.neuron_hists.size(), std::size_t(2));
        std::vector<double> n2(6, 0);
        for (double x : cols[2]) {
            const std::size_t slot = x < -2.0   ? 0
                                     : x > 11.5 ? 5
                                                : 1 + std::min<std::size_t>(3, std::floor((x + 2.0) / 13.5 * 4));
            n2[slot] += 1;
        }
        QCOMPARE(s.neuron_hists[0], n2);  // values -2, 7, 30
        // A new epoch starts from nothing.
        instr.set_active(true, 2);
        net->forward(at::zeros({3, 1, 2, 3}));
        const auto next = instr.end_epoch(2);
        QCOMPARE(next[0].hist_zero, 18.0);
        QCOMPARE(next[0].neuron_mean[0], 0.f);
        QCOMPARE(next[0].neuron_rate[0], 0.f);
        QCOMPARE(next[0].hist_edges.front(), 0.0);
        QCOMPARE(next[0].hist_edges.back(), 1.0);
    }

    void singleUnitAndChannels() {
        // One unit.
        Net one = identity_net(1, true);
        Instrumentation i1(one, InstrumentConfig{}, {1, 1, 1});
        one->train();
        i1.set_active(true, 1);
        one->forward(at::tensor({3.f, 0.f, 5.f}).view({3, 1, 1, 1}));
        const auto r = i1.drain();
        QVERIFY(near(r[0].output.mean, 8.0 / 3, 1e-6));
        QVERIFY(near(r[0].output.var, (std::pow(3 - 8.0 / 3, 2) + std::pow(8.0 / 3, 2) + std::pow(5 - 8.0 / 3, 2)) / 3,
                     1e-6));
        const auto s1 = i1.end_epoch(1);
        QCOMPARE(s1[0].neuron_rate, (std::vector<float>{2.f / 3}));
        // A 4-D layer: units are channels, statistics over batch and positions.
        Net conv = identity_net(2, false);
        Instrumentation i2(conv, InstrumentConfig{}, {2, 2, 2});
        QCOMPARE(i2.layers()[0].units, int64_t(2));
        conv->train();
        const at::Tensor x = at::arange(16, at::kFloat).view({2, 2, 2, 2});
        i2.set_active(true, 1);
        conv->forward(x);
        const auto s2 = i2.end_epoch(1);
        // channel 0: batch 0 values 0..3, batch 1 values 8..11
        QCOMPARE(s2[0].neuron_mean[0], 5.5f);
        QCOMPARE(s2[0].neuron_mean[1], 9.5f);
        QCOMPARE(s2[0].neuron_rate[0], 7.f / 8);
    }

    void keepStatisticsOfNormOut() {
        LayerSpec spec;
        spec.type = "normout";
        spec.variant = "spatial-max";
        LayerInfo n = surgery_layer("NormOut");
        n.custom = spec;
        Net net = build_model({layer("Flatten"), n}, {0.f}, {1.f});
        Instrumentation instr(net, InstrumentConfig{}, {1, 4, 4});
        QVERIFY(instr.layers()[0].keep);
        net->train();
        at::manual_seed(5);
        const at::Tensor x = at::rand({8, 1, 4, 4});
        instr.set_active(true, 1);
        net->forward(x);
        const auto& module = net->module(1).ptr<NormOutImpl>();
        const at::Tensor p = module->last_p.to(at::kDouble), keep = module->last_keep;
        const auto rows = instr.drain();
        const KeepStats& k = rows[0].keep;
        QVERIFY(near(k.mean_p, p.mean().item<double>(), 1e-6));
        QVERIFY(near(k.expected_drop, 1 - p.mean().item<double>(), 1e-6));
        QVERIFY(near(k.realised_drop, 1 - keep.to(at::kDouble).mean().item<double>(), 1e-6));
        QVERIFY(near(k.frac_p_low, p.lt(0.05).to(at::kDouble).mean().item<double>(), 1e-6));
        QVERIFY(near(k.frac_p_high, p.gt(0.95).to(at::kDouble).mean().item<double>(), 1e-6));
        const auto snap = instr.end_epoch(1);
        QCOMPARE(snap[0].keep_hist.size(), std::size_t(kKeepHistogramBins));
        double total = 0;
        for (double c : snap[0].keep_hist)
            total += c;
        QCOMPARE(total, 128.0);
    }

    // The CPU's fused passes (instrumentation_cpu.h) against the tensor operations a GPU runs,
    // both on the CPU: the same keep masks (same seed), so every count must agree and every sum
    // within float rounding. 2-D and 4-D layers; zeros, values beyond the first step's range, and
    // NaN and infinities in the last step.
    void cpuPassesEqualDeviceOperations() {
        for (const bool flat : {true, false}) {
            LayerSpec spec;
            spec.type = "normout";
            spec.variant = "temporal-max";
            LayerInfo n = surgery_layer("NormOut");
            n.custom = spec;
            std::vector<LayerInfo> table;
            if (flat) table.push_back(layer("Flatten"));
            table.push_back(n);
            Net net = build_model(table, {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f});
            net->train();
            InstrumentConfig cfg;
            cfg.histogram_bins = 16;
            cfg.neurons = {1, 2, 1};
            at::manual_seed(11);
            std::vector<at::Tensor> batches;
            for (int b = 0; b < 4; ++b)
                batches.push_back(at::relu(at::randn({32, 3, 4, 4})) * (b + 1) - (b == 2 ? 0.5 : 0.0));
            batches.back().view(-1)[5] = NAN;
            batches.back().view(-1)[17] = INFINITY;
            batches.back().view(-1)[40] = -INFINITY;
            auto run = [&](bool device_ops) {
                Instrumentation instr(net, cfg, {3, 4, 4});
                instr.use_device_ops_on_cpu(device_ops);
                at::manual_seed(3);
                std::vector<LayerStepStats> rows;
                for (const auto& b : batches) {
                    instr.set_active(true, 1);
                    net->forward(b);
                    for (const auto& r : instr.drain())
                        rows.push_back(r);
                }
                return std::make_pair(rows, instr.end_epoch(1)[0]);
            };
            const auto [cpu_rows, cpu] = run(false);
            const auto [dev_rows, dev] = run(true);
            const QString where = flat ? "2-D" : "4-D";
            QCOMPARE(cpu.unit_edges, dev.unit_edges);
            QVERIFY2(cpu.unit_hists == dev.unit_hists, qPrintable(where));
            QVERIFY2(cpu.unit_keep_hists == dev.unit_keep_hists, qPrintable(where));
            QVERIFY(!cpu.unit_keep_hists.empty());
            QCOMPARE(cpu.hist_edges, dev.hist_edges);
            {
                QString d;
                for (std::size_t i = 0; i < cpu.hist_counts.size(); ++i)
                    d += QString(" %1/%2").arg(cpu.hist_counts[i]).arg(dev.hist_counts[i]);
                QVERIFY2(cpu.hist_counts == dev.hist_counts, qPrintable(where + d));
            }
            QCOMPARE(cpu.hist_zero, dev.hist_zero);
            QCOMPARE(cpu.hist_under, dev.hist_under);
            QCOMPARE(cpu.hist_over, dev.hist_over);
            QVERIFY2(cpu.keep_hist == dev.keep_hist, qPrintable(where));
            QVERIFY2(cpu.neuron_hists == dev.neuron_hists, qPrintable(where));
            QCOMPARE(cpu.neuron_rate, dev.neuron_rate);
            for (std::size_t u = 0; u < dev.neuron_mean.size(); ++u) {
                const bool finite = std::isfinite(dev.neuron_mean[u]);
                QCOMPARE(std::isfinite(cpu.neuron_mean[u]), finite);
                if (finite) {
                    QVERIFY(near(cpu.neuron_mean[u], dev.neuron_mean[u], 1e-5));
                    QVERIFY(near(cpu.neuron_std[u], dev.neuron_std[u], 1e-4));
                }
            }
            QCOMPARE(cpu_rows.size(), dev_rows.size());
            for (std::size_t r = 0; r < cpu_rows.size(); ++r) {
                const LayerStepStats &a = cpu_rows[r], &b = dev_rows[r];
                for (const auto& [x, y] : {std::pair{a.input, b.input}, std::pair{a.output, b.output}}) {
                    QCOMPARE(std::isnan(x.mean), std::isnan(y.mean));
                    if (std::isnan(y.mean)) continue;
                    QVERIFY(near(x.mean, y.mean, 1e-5));
                    QVERIFY(near(x.var, y.var, 1e-4));
                    QCOMPARE(x.max, y.max);
                    QCOMPARE(x.sparsity, y.sparsity);
                }
                QVERIFY(near(a.keep.realised_drop, b.keep.realised_drop, 1e-12));
                QVERIFY(near(a.keep.frac_p_low, b.keep.frac_p_low, 1e-12));
                QVERIFY(near(a.keep.frac_p_high, b.keep.frac_p_high, 1e-12));
                if (!std::isnan(b.keep.mean_p)) QVERIFY(near(a.keep.mean_p, b.keep.mean_p, 1e-5));
            }
        }
    }

    void layerChoiceAndValidation() {
        const RunConfig c = normout::test::TinyRun().hidden(16).config("thesis/temporal-softmax-48-51-T100");
        Net net = build_model(layer_table(c.model, 3, 10), {0.f, 0.f, 0.f}, {1.f, 1.f, 1.f});
        {
            Instrumentation instr(net, c.instrument, {3, 32, 32});
            QCOMPARE(instr.layers().size(), std::size_t(2));  // the layers surgery placed
            QCOMPARE(instr.layers()[0].index, 48);
            QCOMPARE(instr.layers()[1].index, 51);
        }
        InstrumentConfig cfg;
        cfg.layers = {46, 2};
        {
            Instrumentation instr(net, cfg, {3, 32, 32});
            QCOMPARE(instr.layers()[0].units, int64_t(16));
            QCOMPARE(instr.layers()[1].units, int64_t(4));  // ReLU of the first conv block: channels
            // Watching 46 disables the fused classifier; the output is the same.
            net->eval();
            const at::Tensor x = at::rand({2, 3, 32, 32});
            const at::Tensor watched = net->forward(x);
            instr.set_active(true, 1);
            net->train();
            net->eval();
            QVERIFY(at::allclose(watched, net->forward(x), 1e-5, 1e-6));
        }
        cfg.layers = {48};
        cfg.neurons = {16};
        QVERIFY_THROWS_EXCEPTION(ConfigError, Instrumentation(net, cfg, {3, 32, 32}));
    }

    // Thesis section 3.2.1: Dropout (p = 0.5) at 48 drops half of the active units, so the output
    // sparsity exceeds the input's by half the active fraction; SpatialMax is sparser than
    // TemporalMax (3.2.2, 3.2.3).
    void thesisSparsityFindings() {
        QTemporaryDir dir;
        DataConfig d;
        d.dataset = "fashion-mnist";
        d.path = normout::test::fashion_mnist_dir();
        d.train_limit = 2048;
        d.test_limit = 256;
        d.augment.enabled = false;
        const auto data = std::make_shared<PreparedData>(prepare_data(d, {}, 0));
        auto final_stats = [&](const std::string& preset) {
            RunConfig c = normout::test::TinyRun().hidden(256).epochs(2).threads(2).config(preset);
            c.data = d;
            TrainOptions o;
            o.out_path = dir.path().toStdString() + "/" + std::to_string(std::hash<std::string>{}(preset)) + ".h5";
            o.data = data;
            train(c, o);
            return read_instrumentation(o.out_path, false).steps.at(48);
        };
        const auto dropout = final_stats("thesis/dropout-48-51");
        // Each step, given its input sparsity s_in: E[s_out] = s_in + (1 - s_in) / 2, with binomial
        // noise over 64 x 256 units (sd < 0.004); check the mean deviation over all steps.
        double dev = 0;
        for (const auto& s : dropout)
            dev += s.output.sparsity - (s.input.sparsity + (1 - s.input.sparsity) / 2);
        dev /= static_cast<double>(dropout.size());
        const auto& last = dropout.back();
        qInfo("Dropout 48: input sparsity %.3f, output %.3f (EWMA), mean deviation from s_in + (1 - s_in)/2: %.4f",
              last.input_ewma.sparsity, last.output_ewma.sparsity, dev);
        QVERIFY(std::fabs(dev) < 0.002);
        QVERIFY(std::fabs(last.keep_ewma.realised_drop - 0.5) < 0.01);

        const double spatial = final_stats("thesis/spatialmax-48").back().output_ewma.sparsity;
        const double temporal = final_stats("thesis/temporalmax-48").back().output_ewma.sparsity;
        qInfo("layer 48 output sparsity (EWMA): SpatialMax %.3f, TemporalMax %.3f", spatial, temporal);
        QVERIFY(spatial > temporal + 0.05);
    }
};

QTEST_APPLESS_MAIN(TestInstrument)
#include "test_instrument.moc"
