// Per-unit histograms (issue 18): every unit's counts add up to the values it produced, the bins
// are fixed for the whole run, checkpoints resume them exactly, the run file stores them and
// `normout neuron` prints what the file holds; the quick preset measures the Fisher-Rao norm
// every epoch.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <set>

#include "engine/data/prepare.h"
#include "engine/model/layers.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/run_file_instrument.h"
#include "engine/session/training.h"
#include "engine/train/instrumentation.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_nets.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

using test::identity_net;
using test::layer;
using test::surgery_layer;

double unit_total(const std::vector<double>& h, int slots, int64_t u) {
    double n = 0;
    for (int s = 0; s < slots; ++s)
        n += h[static_cast<std::size_t>(u * slots + s)];
    return n;
}

std::shared_ptr<PreparedData> tiny_data(int64_t train, int64_t test) {
    DataConfig d;
    d.dataset = "fashion-mnist";
    d.path = normout::test::fashion_mnist_dir();
    d.train_limit = train;
    d.test_limit = test;
    d.augment.enabled = false;
    return std::make_shared<PreparedData>(prepare_data(d, {}, 0));
}

}  // namespace

class TestNeurons : public QObject {
    Q_OBJECT
  private:
    QTemporaryDir dir_;
    std::string run_;  // a short quick run with every step recorded (made once)
    std::shared_ptr<PreparedData> data_;

    const std::string& quick_run() {
        if (!run_.empty()) return run_;
        data_ = tiny_data(512, 128);
        RunConfig c = normout::test::TinyRun().epochs(2).without_evaluation().config("quick");
        c.data.train_limit = 512;
        c.data.test_limit = 128;
        c.data.path = normout::test::fashion_mnist_dir();
        c.instrument.every = 1;
        TrainOptions o;
        o.out_path = dir_.path().toStdString() + "/quick.h5";
        o.data = data_;
        train(c, o);
        run_ = o.out_path;
        return run_;
    }

  private Q_SLOTS:
    // Counts per unit = values produced (batch x positions per step, summed over the steps);
    // zeros, under and over counted apart; the same edges every epoch.
    void countsAddUpAndBinsStayFixed() {
        for (bool flat : {true, false}) {
            Net net = identity_net(3, flat);
            InstrumentConfig cfg;
            cfg.histogram_bins = 16;
            Instrumentation instr(net, cfg, {3, 2, 2});
            const int64_t units = instr.layers()[0].units;
            QCOMPARE(units, flat ? int64_t(12) : int64_t(3));
            net->train();
            at::manual_seed(3);
            std::vector<double> first_edges;
            for (int epoch = 1; epoch <= 2; ++epoch) {
                std::vector<double> zeros(static_cast<std::size_t>(units), 0);
                const int steps = 3, batch = 5;
                for (int s = 0; s < steps; ++s) {
                    // Signed values, exact zeros, and a later epoch wider than the first.
                    at::Tensor x = at::randn({batch, 3, 2, 2}) * (epoch == 1 ? 1.0 : 5.0);
                    x.masked_fill_(at::rand({batch, 3, 2, 2}) < 0.3, 0.0);
                    instr.set_active(true, (epoch - 1) * steps + s);
                    net->forward(x);
                    const at::Tensor u = flat ? x.flatten(1) : x.transpose(0, 1).reshape({3, -1}).t();
                    const at::Tensor z = u.eq(0).sum(0).to(at::kDouble);
                    for (int64_t k = 0; k < units; ++k)
                        zeros[static_cast<std::size_t>(k)] += z[k].item<double>();
                }
                instr.drain();
                const auto snap = instr.end_epoch(epoch);
                const auto& h = snap[0].unit_hists;
                const int slots = cfg.histogram_bins + 3;
                QCOMPARE(h.size(), static_cast<std::size_t>(units * slots));
                const double per_unit = steps * batch * (flat ? 1 : 4);
                for (int64_t k = 0; k < units; ++k) {
                    QCOMPARE(unit_total(h, slots, k), per_unit);
                    QCOMPARE(h[static_cast<std::size_t>(k * slots)], zeros[static_cast<std::size_t>(k)]);
                }
                if (epoch == 1) {
                    first_edges = snap[0].unit_edges;
                    QCOMPARE(first_edges.size(), std::size_t(17));
                    QVERIFY(first_edges.front() < 0 && first_edges.front() == -first_edges.back());
                } else {
                    QCOMPARE(snap[0].unit_edges, first_edges);
                    double over = 0;
                    for (int64_t k = 0; k < units; ++k)
                        over += h[static_cast<std::size_t>(k * slots + slots - 1)];
                    QVERIFY(over > 0);  // five times wider than the bins of epoch 1
                }
            }
        }
    }

    // Every value lands in the bin of its own unit.
    void valuesLandInTheirBins() {
        Net net = identity_net(1, true);
        InstrumentConfig cfg;
        cfg.histogram_bins = 4;
        Instrumentation instr(net, cfg, {1, 1, 2});
        net->train();
        instr.set_active(true, 0);
        // First step: non-negative, max 2 -> bins over [0, 4): [0,1) [1,2) [2,3) [3,4).
        net->forward(at::tensor({0.f, 2.f, 0.5f, 1.5f}).view({2, 1, 1, 2}));
        instr.set_active(true, 1);
        net->forward(at::tensor({3.5f, -1.f, 9.f, 4.f}).view({2, 1, 1, 2}));
        const auto s = instr.end_epoch(1);
        QCOMPARE(s[0].unit_edges, (std::vector<double>{0, 1, 2, 3, 4}));
        // unit 0 saw 0, 0.5, 3.5, 9: zero, bin 0, bin 3, over. unit 1 saw 2, 1.5, -1, 4: bin 2, bin 1, under, over.
        QCOMPARE(std::vector<double>(s[0].unit_hists.begin(), s[0].unit_hists.begin() + 7),
                 (std::vector<double>{1, 0, 1, 0, 0, 1, 1}));
        QCOMPARE(std::vector<double>(s[0].unit_hists.begin() + 7, s[0].unit_hists.end()),
                 (std::vector<double>{0, 1, 0, 1, 1, 0, 1}));
    }

    // NormOut keep probabilities: each unit's 20 bins count one p per value.
    void keepHistogramsPerUnit() {
        LayerSpec spec;
        spec.type = "normout";
        spec.variant = "spatial-max";
        LayerInfo n = surgery_layer("NormOut");
        n.custom = spec;
        Net net = build_model({layer("Flatten"), n}, {0.f}, {1.f});
        Instrumentation instr(net, InstrumentConfig{}, {1, 4, 4});
        net->train();
        at::manual_seed(5);
        instr.set_active(true, 1);
        net->forward(at::rand({8, 1, 4, 4}));
        const at::Tensor p = net->module(1).ptr<NormOutImpl>()->last_p.expand({8, 16}).to(at::kFloat);
        const auto snap = instr.end_epoch(1);
        const auto& k = snap[0].unit_keep_hists;
        QCOMPARE(k.size(), std::size_t(16 * kKeepHistogramBins));
        for (int64_t u = 0; u < 16; ++u) {
            QCOMPARE(unit_total(k, kKeepHistogramBins, u), 8.0);
            const at::Tensor bins = (p.select(1, u) * kKeepHistogramBins).floor().clamp(0, kKeepHistogramBins - 1);
            for (int b = 0; b < kKeepHistogramBins; ++b)
                QCOMPARE(k[static_cast<std::size_t>(u * kKeepHistogramBins + b)], bins.eq(b).sum().item<double>());
        }
    }

    // A checkpoint taken in the middle of an epoch resumes the histograms and their bins exactly.
    void exactResume() {
        at::manual_seed(7);
        std::vector<at::Tensor> batches;
        for (int i = 0; i < 4; ++i)
            batches.push_back(at::randn({6, 5, 1, 1}) * (i + 1));
        auto run = [&](Instrumentation& instr, Net& net, int from, int to) {
            for (int i = from; i < to; ++i) {
                instr.set_active(true, i);
                net->forward(batches[static_cast<std::size_t>(i)]);
            }
            instr.drain();
        };
        Net a = identity_net(5, true);
        Instrumentation ia(a, InstrumentConfig{}, {5, 1, 1});
        a->train();
        run(ia, a, 0, 4);
        const auto whole = ia.end_epoch(1);

        Net b = identity_net(5, true);
        std::map<std::string, at::Tensor> saved;
        {
            Instrumentation ib(b, InstrumentConfig{}, {5, 1, 1});
            b->train();
            run(ib, b, 0, 2);
            for (auto& [k, v] : ib.state())
                saved[k] = v;
        }
        Instrumentation ic(b, InstrumentConfig{}, {5, 1, 1});
        ic.load_state(saved);
        run(ic, b, 2, 4);
        const auto resumed = ic.end_epoch(1);
        QCOMPARE(resumed[0].unit_edges, whole[0].unit_edges);
        QCOMPARE(resumed[0].unit_hists, whole[0].unit_hists);
    }

    // The run file: every epoch stored with the same edges; counts add up to the training images;
    // zeros agree with the per-unit firing rates.
    void runFileHoldsEveryUnit() {
        const std::string& path = quick_run();
        const InstrumentData data = read_instrumentation(path);
        QVERIFY(data_->val.count == 0);
        const double images = static_cast<double>(data_->train.count);
        for (const auto& l : data.layers) {
            const auto epochs = unit_histogram_epochs(path, l.index);
            QCOMPARE(epochs, (std::vector<int>{1, 2}));
            std::vector<double> edges;
            for (int e : epochs) {
                const UnitHistograms h = read_unit_histograms(path, l.index, e);
                QCOMPARE(h.units, l.units);
                QCOMPARE(h.keep.empty(), !l.keep);
                if (edges.empty()) edges = h.edges;
                QCOMPARE(h.edges, edges);
                const auto& snap = data.epochs.at(l.index).at(static_cast<std::size_t>(e - 1));
                for (int64_t u = 0; u < h.units; ++u) {
                    QCOMPARE(unit_total(h.counts, h.bins + 3, u), images);  // 2-D layers: one value per image
                    const double rate = 1 - h.unit(u)[0] / images;
                    QVERIFY(std::fabs(rate - snap.neuron_rate[static_cast<std::size_t>(u)]) < 1e-6);
                    if (l.keep) QCOMPARE(unit_total(h.keep, kKeepHistogramBins, u), images);
                }
            }
        }
    }

    // `normout neuron` prints what the file holds; --list dead agrees with a firing rate of 0;
    // a layer or unit that is not there is an error.
    void neuronCommandMatchesTheFile() {
        normout::test::CliRunner cli;
        QVERIFY2(cli.exists(), "NORMOUT_CLI is not set");
        const std::string& path = quick_run();
        const QString run = QString::fromStdString(path);
        const UnitHistograms h = read_unit_histograms(path, 48, 2);
        for (int64_t u : {int64_t(0), h.units - 1}) {
            const auto r = cli.run({"neuron", run, QString("48:%1").arg(u), "--csv"});
            QCOMPARE(r.code, 0);
            const QStringList lines = r.out.trimmed().split('\n');
            QCOMPARE(static_cast<int>(lines.size()), 1 + h.bins + 3 + (h.keep.empty() ? 0 : kKeepHistogramBins));
            for (int i = 1; i < lines.size(); ++i) {
                const QStringList f = lines[i].split(',');
                QCOMPARE(static_cast<int>(f.size()), 4);
                const double count = f[3].toDouble();
                const int slot = i - 1;
                if (slot < h.bins + 3) {
                    // rows: zero, under, bins..., over, in the file's order
                    QCOMPARE(count, h.unit(u)[slot]);
                    if (f[0] == "bin") {
                        QCOMPARE(f[1].toDouble(), h.edges[static_cast<std::size_t>(slot - 2)]);
                        QCOMPARE(f[2].toDouble(), h.edges[static_cast<std::size_t>(slot - 1)]);
                    }
                } else {
                    QCOMPARE(f[0], QString("keep"));
                    QCOMPARE(count, h.keep[static_cast<std::size_t>(u * kKeepHistogramBins + slot - h.bins - 3)]);
                }
            }
        }
        // The default epoch is the last.
        QCOMPARE(cli.run({"neuron", run, "48:0", "--csv"}).out,
                 cli.run({"neuron", run, "48:0", "--csv", "--epoch", "2"}).out);

        const InstrumentData data = read_instrumentation(path);
        for (const auto& l : data.layers) {
            const auto& rate = data.epochs.at(l.index).back().neuron_rate;
            for (const char* kind : {"dead", "saturated"}) {
                const auto r = cli.run({"neuron", run, QString::number(l.index), "--list", kind, "--csv"});
                QCOMPARE(r.code, 0);
                std::set<int64_t> listed, expected;
                for (const QString& line : r.out.trimmed().split('\n').mid(1))
                    if (!line.isEmpty()) listed.insert(line.split(',')[0].toLongLong());
                for (std::size_t u = 0; u < rate.size(); ++u)
                    if (std::string(kind) == "dead" ? rate[u] == 0.f : rate[u] == 1.f)
                        expected.insert(static_cast<int64_t>(u));
                qInfo("layer %d: %zu %s units", l.index, listed.size(), kind);
                QCOMPARE(listed, expected);
            }
            const auto changed = cli.run({"neuron", run, QString::number(l.index), "--list", "changed", "--csv"});
            QCOMPARE(changed.code, 0);
            QCOMPARE(static_cast<int>(changed.out.trimmed().split('\n').size()),
                     1 + static_cast<int>(std::min<int64_t>(20, l.units)));
            if (l.keep) QCOMPARE(cli.run({"neuron", run, QString::number(l.index), "--list", "undropped"}).code, 0);
        }
        for (const QStringList& bad : {QStringList{"neuron", run, "47:0"}, QStringList{"neuron", run, "48:100000"},
                                       QStringList{"neuron", run, "48:0", "--epoch", "9"},
                                       QStringList{"neuron", run, "48", "--list", "sleepy"}}) {
            const auto r = cli.run(bad);
            QCOMPARE(r.code, 1);
            QVERIFY(!r.err.trimmed().isEmpty());
        }
    }

    // A planted dead unit: a layer that is zero for one unit is listed as dead, and only it.
    void plantedDeadUnit() {
        Net net = identity_net(1, true);
        Instrumentation instr(net, InstrumentConfig{}, {1, 1, 4});
        net->train();
        for (int s = 0; s < 3; ++s) {
            at::Tensor x = at::rand({8, 1, 1, 4}) + 0.1;
            x.select(3, 2).zero_();
            instr.set_active(true, s);
            net->forward(x);
        }
        const auto snap = instr.end_epoch(1);
        const int slots = InstrumentConfig{}.histogram_bins + 3;
        for (int64_t u = 0; u < 4; ++u)
            QCOMPARE(snap[0].unit_hists[static_cast<std::size_t>(u * slots)] == 24.0, u == 2);
    }

    // The quick preset measures the Fisher-Rao norm after every epoch.
    void quickPresetFisherRaoEveryEpoch() {
        QCOMPARE(preset_config("quick").evaluate.flatness_every, 1);
        RunConfig c = normout::test::TinyRun().epochs(2).limits(256, 64).config("quick");
        c.evaluate.attacks = "";
        c.evaluate.flatness_n = 64;
        c.data.path = normout::test::fashion_mnist_dir();
        TrainOptions o;
        o.out_path = dir_.path().toStdString() + "/fisher.h5";
        train(c, o);
        const AnalysisData a = read_analysis(o.out_path);
        const auto t = a.tables.find("flatness");
        QVERIFY(t != a.tables.end());
        std::map<double, int> rows_per_epoch;
        for (const auto& r : t->second.rows) {
            if (r.text("measure").rfind("fisher_rao", 0) != 0) continue;
            ++rows_per_epoch[r.number("epoch")];
            qInfo("epoch %.0f %s: %.4g (%.2f s)", r.number("epoch"), r.text("measure").c_str(), r.number("value"),
                  r.number("seconds"));
        }
        QCOMPARE(rows_per_epoch.size(), std::size_t(2));
    }
};

QTEST_APPLESS_MAIN(TestNeurons)
#include "test_neurons.moc"
