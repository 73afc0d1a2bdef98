// train.precision and train.channels_last on the CPU: bf16 autocast and channels-last memory
// order train to the accuracy of fp32; tf32 is refused off CUDA, and so is an unknown value.
#include <QtTest/QtTest>
#include <filesystem>

#include "engine/config/config.h"
#include "engine/data/prepare.h"
#include "engine/session/training.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;

class TestPrecision : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;
    std::shared_ptr<const PreparedData> data_;

    RunConfig config(const std::string& precision, bool channels_last) const {
        RunConfig c = test::TinyRun().limits(3000, 1000).epochs(2).threads(2).without_evaluation().config();
        c.train.precision = precision;
        c.train.channels_last = channels_last;
        return c;
    }

    RunOutcome run(const RunConfig& c, const QString& name) const {
        TrainOptions o;
        o.out_path = dir_.filePath(name).toStdString();
        o.data = data_;
        return train(c, o);
    }

  private Q_SLOTS:
    void initTestCase() {
        RunConfig c = config("fp32", false);
        c.data.dataset = "fashion-mnist";
        c.data.path = test::fashion_mnist_dir();
        data_ = std::make_shared<PreparedData>(prepare_data(c.data, {}, c.train.seed));
    }

    // 1000 test images: the standard error of an accuracy near 80% is about 1.3 points, so two
    // runs of the same quality differ by more than 5.5 points (3 standard errors of the
    // difference) with probability below 0.3%.
    void bf16AndChannelsLastTrainLikeFp32() {
        const RunOutcome fp32 = run(config("fp32", false), "fp32.h5");
        QCOMPARE(fp32.status, RunStatus::Finished);
        const double reference = fp32.epochs.back().test_accuracy;
        QVERIFY2(reference > 0.5, qPrintable(QString("fp32 accuracy %1").arg(reference)));
        for (const auto& [precision, cl] : {std::pair<std::string, bool>{"bf16", false}, {"fp32", true}, {"bf16", true}}) {
            const QString name = QString("%1-%2.h5").arg(QString::fromStdString(precision)).arg(cl ? "cl" : "nchw");
            const RunOutcome r = run(config(precision, cl), name);
            QCOMPARE(r.status, RunStatus::Finished);
            const double acc = r.epochs.back().test_accuracy;
            qInfo("%s, channels_last %d: test accuracy %.2f%% (fp32 %.2f%%)", precision.c_str(), cl, 100 * acc,
                  100 * reference);
            QVERIFY2(std::fabs(acc - reference) < 0.055,
                     qPrintable(QString("%1: %2 against fp32 %3").arg(name).arg(acc).arg(reference)));
        }
    }

    void unavailablePrecisionIsAClearError() {
        bool refused = false;
        try {
            run(config("tf32", false), "tf32.h5");
        } catch (const ConfigError& e) {
            refused = QString(e.what()).contains("train.precision") && QString(e.what()).contains("CUDA");
        }
        QVERIFY(refused);
        QVERIFY(!std::filesystem::exists(dir_.filePath("tf32.h5").toStdString()));
        refused = false;
        try {
            run(config("fp16", false), "fp16.h5");
        } catch (const ConfigError& e) {
            refused = QString(e.what()).contains("fp32, tf32, bf16");
        }
        QVERIFY(refused);
    }
};

QTEST_GUILESS_MAIN(TestPrecision)
#include "test_precision.moc"
