// Training end to end on a small Fashion-MNIST subset: it learns, the same seed gives the same
// weights, cancelling and diverging leave valid run files, the run file holds the model.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <filesystem>

#include "engine/data/prepare.h"
#include "engine/model/model.h"
#include "engine/model/optim.h"
#include "engine/model/state.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/session/training.h"
#include "engine/train/loader.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;

namespace {

// Without evaluation: attacks and Fisher-Rao are measured in evaluatesDuringTrainingWithoutChangingIt only.
RunConfig tiny_config() {
    RunConfig c =
        normout::test::TinyRun().hidden(64).epochs(2).limits(4096, 512).threads(2).without_evaluation().config();
    c.train.lr = 0.05;
    return c;
}

// Collects the analysis rows streamed during training.
class AnalysisSink : public TrainingObserver {
  public:
    void on_analysis(const std::string& table, const std::vector<AnalysisRow>& rows) override {
        auto& t = tables[table];
        t.insert(t.end(), rows.begin(), rows.end());
    }
    std::map<std::string, std::vector<AnalysisRow>> tables;
};

std::shared_ptr<const PreparedData> tiny_data(const RunConfig& c) {
    return normout::test::fashion_mnist_data(c);
}

RunOutcome run(const RunConfig& c, const std::string& path, TrainingObserver* obs = nullptr,
               const RunControl* cancel = nullptr) {
    TrainOptions o;
    o.out_path = path;
    o.data = tiny_data(c);
    o.progress_interval_seconds = 0;
    return train(c, o, obs, cancel);
}

class CancelAt : public TrainingObserver {
  public:
    CancelAt(RunControl& t, int64_t step) : token_(t), step_(step) {}
    void on_step(const StepProgress& p) override {
        steps.push_back(p.global_step);
        if (p.global_step == step_) token_.cancel();
    }
    std::vector<int64_t> steps;

  private:
    RunControl& token_;
    int64_t step_;
};

}  // namespace

class TestTraining : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void learnsAndRecordsTheRun() {
        QTemporaryDir dir;
        RunConfig c = tiny_config();
        c.train.epochs = 3;
        c.data.val_fraction = 0.0;
        const std::string path = dir.path().toStdString() + "/sub/run.h5";  // folder is created
        const RunOutcome out = run(c, path);
        QCOMPARE(out.status, RunStatus::Finished);
        QCOMPARE(out.epochs.size(), std::size_t(3));
        const double acc = out.epochs.back().test_accuracy;
        // Chance is 0.1; over 512 test images its standard error is 0.013, so 0.3 is far above it.
        // (A VGG-16 at 1/16 width needs a few hundred steps to leave the initial plateau.)
        QVERIFY2(acc > 0.3, qPrintable(QString("test accuracy %1 (chance 0.1)").arg(acc)));
        QVERIFY(out.epochs.back().train_loss < out.epochs.front().train_loss);

        const RunInfo info = read_run(path);
        QCOMPARE(QString::fromStdString(info.status), QString("finished"));
        QCOMPARE(info.epochs.size(), std::size_t(3));
        QCOMPARE(info.epochs.back().test_accuracy, acc);
        QCOMPARE(QString::fromStdString(info.header.preset), QString("quick"));
        QCOMPARE(info.header.layer_kinds.size(), std::size_t(53));
        QCOMPARE(QString::fromStdString(info.header.layer_kinds[48]), QString("NormOut"));
        QCOMPARE(config_to_json(config_from_json(info.header.config_json)), config_to_json(c));

        // The stored weights reproduce the recorded test accuracy exactly.
        const auto data = tiny_data(c);
        Net net = build_model(layer_table(c.model, data->channels(), data->num_classes()), data->mean, data->stddev);
        import_state(*net, read_weights(path));
        net->eval();
        torch::NoGradGuard no_grad;
        const EvalBatches test(data->test);
        int64_t correct = 0;
        for (int64_t b = 0; b < test.size(); b += 100) {
            const Batch batch = test.slice(b, std::min<int64_t>(b + 100, test.size()));
            correct += net->forward(batch.x).argmax(1).eq(batch.y).sum().item<int64_t>();
        }
        QCOMPARE(static_cast<double>(correct) / static_cast<double>(test.size()), acc);
    }

    void sameSeedSameWeights() {
        QTemporaryDir dir;
        RunConfig c = tiny_config();
        c.train.epochs = 1;
        const std::string a = dir.path().toStdString() + "/a.h5", b = dir.path().toStdString() + "/b.h5",
                          other = dir.path().toStdString() + "/c.h5";
        run(c, a);
        run(c, b);
        const auto wa = read_weights(a), wb = read_weights(b);
        QCOMPARE(wa.size(), wb.size());
        for (std::size_t i = 0; i < wa.size(); ++i) {
            QCOMPARE(QString::fromStdString(wa[i].name), QString::fromStdString(wb[i].name));
            QVERIFY2(wa[i].values == wb[i].values && wa[i].integers == wb[i].integers, wa[i].name.c_str());
        }
        QCOMPARE(read_run(a).epochs[0].train_loss, read_run(b).epochs[0].train_loss);
        c.train.seed = 1;
        run(c, other);
        const auto wc = read_weights(other);
        bool differs = false;
        for (std::size_t i = 0; i < wa.size(); ++i)
            differs |= wa[i].values != wc[i].values;
        QVERIFY(differs);
    }

    void evaluatesDuringTrainingWithoutChangingIt() {
        // Attacks after every epoch and the Fisher-Rao norm at the end: streamed, stored, and the
        // training itself (weights, losses) bit-identical to a run without them.
        QTemporaryDir dir;
        RunConfig plain = tiny_config();
        plain.train.epochs = 2;
        RunConfig measured = plain;
        measured.evaluate.attacks = "fgsm,pgd-ce";
        measured.evaluate.attack_every = 1;
        measured.evaluate.attack_n = 64;
        measured.evaluate.fisher_rao = true;
        measured.evaluate.flatness_every = 0;  // after the last epoch only (the quick preset: every epoch)
        measured.evaluate.flatness_n = 64;
        const std::string a = dir.path().toStdString() + "/plain.h5", b = dir.path().toStdString() + "/measured.h5";
        QCOMPARE(run(plain, a).status, RunStatus::Finished);
        AnalysisSink sink;
        QCOMPARE(run(measured, b, &sink).status, RunStatus::Finished);

        const auto wa = read_weights(a), wb = read_weights(b);
        QCOMPARE(wa.size(), wb.size());
        for (std::size_t i = 0; i < wa.size(); ++i)
            QVERIFY2(wa[i].values == wb[i].values && wa[i].integers == wb[i].integers, wa[i].name.c_str());
        QCOMPARE(read_run(a).epochs.back().train_loss, read_run(b).epochs.back().train_loss);
        QVERIFY(read_analysis(a).tables.empty());

        // clean, fgsm and pgd-ce after epochs 1 and 2; a verdict each time; Fisher-Rao at the end.
        const auto& streamed = sink.tables["attacks"];
        QCOMPARE(streamed.size(), std::size_t(6));
        QCOMPARE(streamed.front().numbers.at("epoch"), 1.0);
        QCOMPARE(streamed.back().numbers.at("epoch"), 2.0);
        const AnalysisData stored = read_analysis(b);
        QCOMPARE(stored.tables.at("attacks").rows.size(), streamed.size());
        for (std::size_t i = 0; i < streamed.size(); ++i) {
            QCOMPARE(stored.tables.at("attacks").rows[i].texts.at("attack"), streamed[i].texts.at("attack"));
            QCOMPARE(stored.tables.at("attacks").rows[i].numbers.at("accuracy"), streamed[i].numbers.at("accuracy"));
            QCOMPARE(stored.tables.at("attacks").rows[i].numbers.at("n"), 64.0);
        }
        int verdicts = 0;
        for (const auto& r : stored.tables.at("masking").rows)
            verdicts += r.texts.at("flag") == "verdict";
        QCOMPARE(verdicts, 2);
        const auto& fr = stored.tables.at("flatness").rows;
        QCOMPARE(fr.size(), std::size_t(2));  // empirical and model
        QCOMPARE(sink.tables["flatness"].size(), std::size_t(2));
        for (std::size_t i = 0; i < fr.size(); ++i) {
            QCOMPARE(fr[i].numbers.at("value"), sink.tables["flatness"][i].numbers.at("value"));
            QVERIFY(std::isfinite(fr[i].numbers.at("value")) && fr[i].numbers.at("value") > 0);
            QCOMPARE(fr[i].numbers.at("epoch"), 2.0);
        }
    }

    void cancelStopsAtTheNextBatchAndLeavesAValidFile() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/stopped.h5";
        RunControl token;
        CancelAt observer(token, 3);
        const RunOutcome out = run(tiny_config(), path, &observer, &token);
        QCOMPARE(out.status, RunStatus::Stopped);
        QCOMPARE(out.steps, int64_t(3));
        const RunInfo info = read_run(path);
        QCOMPARE(QString::fromStdString(info.status), QString("stopped"));
        QVERIFY(info.epochs.empty());
        QVERIFY(!info.weight_names.empty());  // the weights at the stop are kept
    }

    void divergenceIsDetectedAndRecorded() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/diverged.h5";
        RunConfig c = tiny_config();
        c.train.epochs = 3;
        TrainOptions o;
        o.out_path = path;
        o.data = tiny_data(c);
        // Two good epochs at a normal learning rate, then a third at 1e8 (a step schedule).
        c.train.lr = 0.05;
        c.train.lr_schedule = "step";
        c.train.lr_milestones = {2};
        c.train.lr_gamma = 1e10;
        const RunOutcome out = train(c, o);
        QCOMPARE(out.status, RunStatus::Diverged);
        QVERIFY2(QString::fromStdString(out.message).contains("non-finite at step"), out.message.c_str());
        const RunInfo info = read_run(path);
        QCOMPARE(QString::fromStdString(info.status), QString("diverged"));
        QCOMPARE(info.epochs.size(), std::size_t(2));  // the history before is intact
        // Marked at the step it happened: the last step row is the non-finite one.
        QVERIFY(info.status_step > 128 && info.status_step <= 192);
        QCOMPARE(info.steps.back().global_step, info.status_step);
        QVERIFY(!std::isfinite(info.steps.back().loss) || info.status_message.find("gradient") != std::string::npos);
        for (std::size_t i = 0; i + 1 < info.steps.size(); ++i)
            QVERIFY(std::isfinite(info.steps[i].loss));
        // The last good checkpoint stays (end of epoch 2), and there are no non-finite weights.
        QVERIFY(info.weights_path.empty());
        QVERIFY(std::filesystem::exists(dir.path().toStdString() + "/diverged.ckpt-0000000128.pt"));
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, resume(path, o));
    }

    // Stop at step k (mid-epoch), resume, and compare with an uninterrupted run: on the CPU the
    // weights, the per-step losses and the epoch metrics are bit-identical.
    void resumeIsExact() {
        QTemporaryDir dir;
        RunConfig c = tiny_config();
        c.train.epochs = 2;
        c.data.augment.enabled = true;  // augmentation draws must resume exactly too
        const std::string straight = dir.path().toStdString() + "/straight.h5";
        const std::string split = dir.path().toStdString() + "/split.h5";
        QCOMPARE(run(c, straight).status, RunStatus::Finished);
        TrainOptions o;
        o.out_path = split;
        o.data = tiny_data(c);
        o.max_steps = 37;  // epoch 1 has 64 steps
        const RunOutcome first = train(c, o);
        QCOMPARE(first.status, RunStatus::Stopped);
        QCOMPARE(first.steps, int64_t(37));
        o.max_steps = 0;
        const RunOutcome second = resume(split, o);
        QCOMPARE(second.status, RunStatus::Finished);
        QCOMPARE(QString::fromStdString(second.out_path), dir.path() + "/split.resume-1.h5");

        const RunInfo a = read_run(straight), b = read_run(split);
        QCOMPARE(QString::fromStdString(b.status), QString("finished"));
        QCOMPARE(b.segments.size(), std::size_t(2));
        QCOMPARE(a.steps.size(), b.steps.size());
        for (std::size_t i = 0; i < a.steps.size(); ++i) {
            QCOMPARE(b.steps[i].global_step, int64_t(i + 1));
            QCOMPARE(b.steps[i].loss, a.steps[i].loss);
        }
        QCOMPARE(a.epochs.size(), b.epochs.size());
        for (std::size_t i = 0; i < a.epochs.size(); ++i) {
            QCOMPARE(b.epochs[i].train_loss, a.epochs[i].train_loss);
            QCOMPARE(b.epochs[i].train_accuracy, a.epochs[i].train_accuracy);
            QCOMPARE(b.epochs[i].test_loss, a.epochs[i].test_loss);
        }
        const auto wa = read_weights(straight), wb = read_weights(split);
        QCOMPARE(wa.size(), wb.size());
        for (std::size_t i = 0; i < wa.size(); ++i)
            QVERIFY2(wa[i].values == wb[i].values && wa[i].integers == wb[i].integers, wa[i].name.c_str());
        // The layer statistics continue too: moving averages and epoch snapshots included.
        const InstrumentData ia = read_instrumentation(straight), ib = read_instrumentation(split);
        QCOMPARE(ia.layers.size(), std::size_t(2));
        for (const auto& l : ia.layers) {
            const auto& sa = ia.steps.at(l.index);
            const auto& sb = ib.steps.at(l.index);
            QCOMPARE(sa.size(), sb.size());
            for (std::size_t i = 0; i < sa.size(); ++i) {
                QCOMPARE(sb[i].global_step, sa[i].global_step);
                QCOMPARE(sb[i].output.sparsity, sa[i].output.sparsity);
                QCOMPARE(sb[i].output_ewma.mean, sa[i].output_ewma.mean);
                QCOMPARE(sb[i].keep_ewma.realised_drop, sa[i].keep_ewma.realised_drop);
            }
            const auto& ea = ia.epochs.at(l.index);
            const auto& eb = ib.epochs.at(l.index);
            QCOMPARE(ea.size(), eb.size());
            for (std::size_t e = 0; e < ea.size(); ++e) {
                QCOMPARE(eb[e].neuron_mean, ea[e].neuron_mean);
                QCOMPARE(eb[e].hist_counts, ea[e].hist_counts);
                QCOMPARE(eb[e].keep_hist, ea[e].keep_hist);
            }
        }
        // A finished run is not resumed again.
        QVERIFY_THROWS_EXCEPTION(std::runtime_error, resume(split, o));
    }

    void resumeNeedsACheckpoint() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/r.h5";
        RunConfig c = tiny_config();
        TrainOptions o;
        o.out_path = path;
        o.data = tiny_data(c);
        o.max_steps = 5;
        train(c, o);
        for (const auto& e : std::filesystem::directory_iterator(dir.path().toStdString()))
            if (e.path().string().find(".ckpt-") != std::string::npos) std::filesystem::remove(e.path());
        try {
            resume(path, o);
            QFAIL("resumed without a checkpoint");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("no usable checkpoint") && QString(e.what()).contains("r.h5"),
                     e.what());
        }
        // A corrupt checkpoint is named and skipped.
        normout::test::write_bytes(dir.path().toStdString() + "/r.ckpt-0000000005.pt", "garbage");
        try {
            resume(path, o);
            QFAIL("resumed from garbage");
        } catch (const std::runtime_error& e) {
            QVERIFY2(QString(e.what()).contains("r.ckpt-0000000005.pt"), e.what());
        }
    }

    void validationSplitIsEvaluated() {
        QTemporaryDir dir;
        RunConfig c = tiny_config();
        c.train.epochs = 1;
        c.data.val_fraction = 0.1;
        TrainOptions o;
        o.out_path = dir.path().toStdString() + "/val.h5";
        DataConfig d = c.data;
        d.path = normout::test::fashion_mnist_dir();
        d.train_limit = 900;
        o.data = std::make_shared<PreparedData>(prepare_data(d, {}, 0));
        QCOMPARE(o.data->val.count, int64_t(6000));
        const RunOutcome out = train(c, o);
        QVERIFY(std::isfinite(out.epochs[0].val_accuracy));
        QVERIFY(std::isfinite(out.epochs[0].val_loss));
        QCOMPARE(read_run(o.out_path).header.val_count, int64_t(6000));
    }

    void existingRunFilesAreNotOverwritten() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/exists.h5";
        normout::test::write_bytes(path, "precious");
        try {
            run(tiny_config(), path);
            QFAIL("overwrote an existing file");
        } catch (const ConfigError& e) {
            QCOMPARE(QString::fromStdString(e.field()), QString("out"));
        }
        QCOMPARE(QString::fromStdString(normout::test::read_bytes(path)), QString("precious"));
    }

    void invalidConfigurationFailsBeforeWriting() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/never.h5";
        RunConfig c = tiny_config();
        c.train.lr = -1;
        QVERIFY_THROWS_EXCEPTION(ConfigError, run(c, path));
        QVERIFY(!std::filesystem::exists(path));
    }

    void learningRateSchedules() {
        TrainConfig t;
        t.epochs = 10;
        t.lr = 0.1;
        QCOMPARE(learning_rate_at(t, 7), 0.1);
        t.lr_schedule = "step";
        t.lr_milestones = {3, 6};
        QCOMPARE(learning_rate_at(t, 2), 0.1);
        QVERIFY(std::fabs(learning_rate_at(t, 3) - 0.01) < 1e-15);
        QVERIFY(std::fabs(learning_rate_at(t, 9) - 0.001) < 1e-15);
        t.lr_schedule = "cosine";
        QCOMPARE(learning_rate_at(t, 0), 0.1);
        QVERIFY(std::fabs(learning_rate_at(t, 5) - 0.05) < 1e-12);
        t.warmup_epochs = 2;
        QVERIFY(std::fabs(learning_rate_at(t, 0) - 0.1 / 3) < 1e-12);
    }
};

QTEST_APPLESS_MAIN(TestTraining)
#include "test_training.moc"
