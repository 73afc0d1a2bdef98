// Run files under stress: writers killed with SIGKILL at random moments, a reader polling a live
// run, a full disk, and the h5py example of docs/run-file.md. Runs `normout` as child processes.
#include <signal.h>
#include <sys/mount.h>

#include <QElapsedTimer>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QRegularExpression>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <filesystem>
#include <thread>

#include "engine/runfile/run_file.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/time_scale.h"
#include "support/tiny_run.h"

using namespace normout;
namespace fs = std::filesystem;
using Result = normout::test::ProcessResult;

namespace {

const char* kPython = "/usr/bin/python3";  // Debian's, with python3-h5py

}  // namespace

class TestResilience : public QObject {
    Q_OBJECT

    normout::test::CliRunner cli_;
    QTemporaryDir data_;

    // All of the small data set below (512 images, augmented), 1/16 width, Temporal Softmax NormOut
    // (T=100) at 48 and 51.
    QStringList tiny(const QString& out, int epochs = 3) const {
        using normout::test::TinyRun;
        return QStringList{"train", "--set", "data.dataset=fashion-mnist"} +
               TinyRun()
                   .epochs(epochs)
                   .batch_size(32)
                   .limits(0, 64)
                   .without_evaluation()
                   .data_path(data_.path())
                   .args() +
               QStringList{"--set",
                           "data.augment.enabled=true",
                           "--set",
                           R"(model.surgery=[{"op":"replace","at":[48,51],"layer":{"type":"normout",)"
                           R"("variant":"temporal-softmax","temperature":100}}])",
                           "--quiet",
                           "--out",
                           out};
    }

    Result run(const QStringList& args) const { return cli_.run(args); }

    Result python(const QString& script, const QStringList& args) const {
        QProcess p;
        p.start(kPython, QStringList{"-c", script} + args);
        p.waitForFinished(120000);
        return {p.exitCode(), QString::fromUtf8(p.readAllStandardOutput()),
                QString::fromUtf8(p.readAllStandardError())};
    }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(cli_.exists(), "NORMOUT_CLI must point at the normout binary");
        QVERIFY2(QFile::exists(kPython), "Debian's python3 (with python3-h5py) is needed");
        // A small Fashion-MNIST-shaped data set: 512 training images, 128 test images.
        normout::test::write_fashion_dir(data_.path().toStdString(), 512, 128, true);
    }

    // SIGKILL at random moments, at least 30 times: every file stays readable (engine and h5py),
    // is reported as interrupted, loses at most the last flush interval of step rows, and resumes
    // to the very weights of an uninterrupted run.
    void killedWritersLeaveReadableResumableFiles() {
        QTemporaryDir dir;
        const QString reference = dir.path() + "/reference.h5";
        // How long a run lives after its file appears: the window for the kills.
        qint64 lifetime_ms = 0;
        {
            QProcess p;
            cli_.start(p, tiny(reference));
            QVERIFY2(p.waitForStarted(), qPrintable(cli_.program() + ": " + p.errorString()));
            QElapsedTimer t;
            while (!QFile::exists(reference) && p.state() == QProcess::Running && !p.waitForFinished(1)) {
            }
            t.start();
            QVERIFY(p.waitForFinished(120000));
            QCOMPARE(p.exitCode(), 0);
            lifetime_ms = t.elapsed();
        }
        const auto ref_weights = read_weights(reference.toStdString());
        const RunInfo ref = read_run(reference.toStdString());
        const double flush_ms = 1000.0;  // record.flush_seconds default

        QStringList killed;
        double worst_lost_ms = 0;
        int with_rows = 0;
        QRandomGenerator rng(20261127);
        for (int i = 0; i < 80 && killed.size() < 32; ++i) {
            const QString path = dir.path() + QString("/kill-%1.h5").arg(i);
            QProcess p;
            cli_.start(p, tiny(path));
            QVERIFY(p.waitForStarted());
            QElapsedTimer t;
            t.start();
            while (!QFile::exists(path) && t.elapsed() < 60000 && p.state() == QProcess::Running)
                QThread::msleep(2);
            QVERIFY2(QFile::exists(path), qPrintable(QString("run %1 never created its file").arg(i)));
            // Anywhere from the first moment to the end of training (checkpoints, flushes, epochs).
            QThread::msleep(static_cast<unsigned long>(rng.bounded(static_cast<int>(lifetime_ms) + 1)));
            const int64_t kill_ms = unix_time_ms();
            ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
            p.waitForFinished();

            const RunInfo info = read_run(path.toStdString());
            if (info.stored_status == "finished") continue;  // it outran the kill
            killed << path;
            QCOMPARE(QString::fromStdString(info.status), QString("interrupted"));
            if (!info.steps.empty()) {
                ++with_rows;
                const double last_ms = info.header.start_unix_ms + info.steps.back().wall_seconds * 1000;
                worst_lost_ms = std::max(worst_lost_ms, static_cast<double>(kill_ms) - last_ms);
            }
            const Result shown = run({"info", path});
            QCOMPARE(shown.code, 0);
            QVERIFY2(shown.out.contains("Status    interrupted"), qPrintable(shown.out));
        }
        qInfo("killed %lld runs mid-way (%d with step rows); worst loss %.0f ms of steps (flush interval %.0f ms)",
              static_cast<long long>(killed.size()), with_rows, worst_lost_ms, flush_ms);
        QVERIFY2(killed.size() >= 30, "too few runs were killed before finishing");
        // At most one flush interval, plus one step and scheduling slack.
        QVERIFY2(worst_lost_ms <= flush_ms + 500 * normout::test::time_scale(),
                 qPrintable(QString::number(worst_lost_ms)));

        // h5py opens every killed file (SWMR read where it is still marked open for writing).
        const Result h5py = python(R"(
import sys, h5py
for path in sys.argv[1:]:
    with h5py.File(path, "r", swmr=True) as f:
        assert f.attrs["format"] == "normout-run"
        status = f["status"][()].decode()
        n = f["metrics/step/loss"].shape[0]
        print(path, status, n)
)",
                                   killed);
        QVERIFY2(h5py.code == 0, qPrintable(h5py.err));
        QCOMPARE(h5py.out.count('\n'), static_cast<int>(killed.size()));

        // Every killed run resumes to completion, to the reference run's exact weights.
        for (const QString& path : killed) {
            const Result r = run({"resume", "--quiet", path});
            QVERIFY2(r.code == 0, qPrintable(path + ": " + r.err));
            const RunInfo info = read_run(path.toStdString());
            QCOMPARE(QString::fromStdString(info.status), QString("finished"));
            QCOMPARE(info.epochs.size(), ref.epochs.size());
            QCOMPARE(info.steps.size(), ref.steps.size());
            for (std::size_t k = 0; k < info.steps.size(); ++k) {
                QCOMPARE(info.steps[k].global_step, int64_t(k + 1));
                QCOMPARE(info.steps[k].loss, ref.steps[k].loss);
            }
            const auto w = read_weights(path.toStdString());
            for (std::size_t k = 0; k < w.size(); ++k)
                QVERIFY2(w[k].values == ref_weights[k].values,
                         qPrintable(path + " " + QString::fromStdString(w[k].name)));
        }
    }

    // While a run trains, another process reads its file over and over without an error and sees
    // new rows within seconds.
    void liveReadersSeeProgress() {
        QTemporaryDir dir;
        const QString path = dir.path() + "/live.h5";
        QStringList args = tiny(path, 12);
        args << "--set"
             << "record.flush_seconds=0.5";
        QProcess writer;
        cli_.start(writer, args);
        QVERIFY(writer.waitForStarted());
        QElapsedTimer t;
        t.start();
        while (!QFile::exists(path) && t.elapsed() < 60000)
            QThread::msleep(2);
        QVERIFY(QFile::exists(path));
        // h5py polls in parallel with this process.
        QProcess py;
        py.start(kPython, {"-c", R"(
import sys, time, h5py
path, reads, errors = sys.argv[1], 0, 0
end = time.time() + 4
while time.time() < end:
    try:
        with h5py.File(path, "r", swmr=True) as f:
            f["metrics/step/loss"][:]
            f["status"][()]
        reads += 1
    except Exception as e:
        errors += 1
        print("error:", e, file=sys.stderr)
print(reads, errors)
)",
                           path});
        int reads = 0, errors = 0;
        std::size_t last_rows = 0;
        double longest_wait = 0;
        QElapsedTimer since_new;
        since_new.start();
        while (writer.state() == QProcess::Running && !writer.waitForFinished(1)) {
            try {
                const RunInfo info = read_run(path.toStdString());
                ++reads;
                if (info.steps.size() > last_rows) {
                    if (last_rows > 0) longest_wait = std::max(longest_wait, since_new.elapsed() / 1000.0);
                    last_rows = info.steps.size();
                    since_new.restart();
                }
            } catch (const std::exception& e) {
                ++errors;
                qWarning("read error: %s", e.what());
            }
            QThread::msleep(5);
        }
        QCOMPARE(writer.exitCode(), 0);
        QVERIFY(py.waitForFinished(30000));
        const QStringList py_counts = QString::fromUtf8(py.readAllStandardOutput()).split(' ');
        qInfo("engine reader: %d reads, %d errors, longest wait for new rows %.2f s; h5py: %s", reads, errors,
              longest_wait, qPrintable(py_counts.join(' ').trimmed()));
        QCOMPARE(errors, 0);
        QVERIFY2(reads >= 200, qPrintable(QString::number(reads)));
        QVERIFY2(longest_wait < 3.0 * normout::test::time_scale(), qPrintable(QString::number(longest_wait)));
        QCOMPARE(py_counts.size(), 2);
        QVERIFY(py_counts[0].toInt() >= 20);
        QCOMPARE(py_counts[1].trimmed().toInt(), 0);
    }

    // A run on a file system that fills up fails with a message naming the path; what it wrote
    // before stays readable. Once the run file itself hits the limit, once a checkpoint.
    void fullDiskFailsCleanly_data() {
        QTest::addColumn<QString>("victim");
        QTest::addColumn<QStringList>("extra");
        QTest::newRow("run file") << "full.h5" << QStringList{"--set", "record.checkpoint_every=0"};
        QTest::newRow("checkpoint") << "full.ckpt-" << QStringList{};
    }
    void fullDiskFailsCleanly() {
        QFETCH(QString, victim);
        QFETCH(QStringList, extra);
        // Sizes of a run's initial checkpoint and of its finished run file.
        QTemporaryDir reference_dir;
        const QString reference = reference_dir.path() + "/ref.h5";
        QCOMPARE(run(tiny(reference, 2) + QStringList{"--set", "record.checkpoint_every=0"}).code, 0);
        std::uintmax_t checkpoint = 0, run_file = fs::file_size(reference.toStdString());
        for (const auto& e : fs::directory_iterator(reference_dir.path().toStdString()))
            if (e.path().string().find(".ckpt-") != std::string::npos) checkpoint = e.file_size();
        QVERIFY(checkpoint > 0);
        // Room for the initial checkpoint and a part of the run file; or for both whole, but not
        // for the first epoch's checkpoint.
        const std::uintmax_t room = victim == "full.h5" ? checkpoint + 100 * 1024 : checkpoint + run_file + 150 * 1024;

        QTemporaryDir dir;
        const std::string mnt = dir.path().toStdString();
        const std::string size = "size=" + std::to_string(room / 1024) + "k";
        if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, size.c_str()) != 0)
            QSKIP("mounting a small tmpfs needs root; the disk-full test cannot run here");
        struct Unmount {
            std::string m;
            ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
        } unmount{mnt};
        const QString path = dir.path() + "/full.h5";
        const Result r = run(tiny(path, 2) + extra);
        QVERIFY2(r.code == 3, qPrintable(QString("exit %1: %2").arg(r.code).arg(r.err)));  // failed, not crashed
        // The file that hit the limit is named: with room for the run file, the checkpoint or
        // (writing at the same moment on its own thread) the run file's epoch rows.
        QVERIFY2(r.err.contains(dir.path() + "/" + (victim == "full.h5" ? victim : "full.")), qPrintable(r.err));
        QVERIFY2(r.err.contains("No space left") || r.err.contains("failed"), qPrintable(r.err));
        const RunInfo info = read_run(path.toStdString());  // readable up to the failure
        // What reads is what was written: rows the writer had extended but could not fill (NaN,
        // the datasets' fill value) are left out, never read as steps.
        for (std::size_t i = 0; i < info.steps.size(); ++i) {
            QCOMPARE(info.steps[i].global_step, static_cast<int64_t>(i + 1));
            QVERIFY(std::isfinite(info.steps[i].loss));
        }
        // With room for the run file (the checkpoint hit the limit), the steps before it are kept.
        if (victim != "full.h5") QVERIFY2(!info.steps.empty(), "the steps before the failure are kept");
        const Result shown = run({"info", path});
        QCOMPARE(shown.code, 0);
        qInfo("disk full (%s): status %s, %zu step rows, %zu epochs kept; %s", qPrintable(victim), info.status.c_str(),
              info.steps.size(), info.epochs.size(), qPrintable(r.err.trimmed()));
    }

    // The h5py example of docs/run-file.md runs as written on a real run file.
    void documentedH5pyExampleWorks() {
        QFile doc(qEnvironmentVariable("NORMOUT_SOURCE_DIR") + "/docs/run-file.md");
        QVERIFY(doc.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(doc.readAll());
        // The example that reads the run file itself (another one reads the analysis file).
        QString example;
        auto blocks = QRegularExpression("```python\\n(.*?)```", QRegularExpression::DotMatchesEverythingOption)
                          .globalMatch(text);
        while (blocks.hasNext() && example.isEmpty()) {
            const QString code = blocks.next().captured(1);
            if (code.contains("h5py.File(\"runs/quick.h5\"")) example = code;
        }
        QVERIFY(!example.isEmpty());
        QTemporaryDir dir;
        QCOMPARE(run(tiny(dir.path() + "/quick.h5", 1)).code, 0);
        QProcess p;
        p.setWorkingDirectory(dir.path());
        QDir(dir.path()).mkdir("runs");
        QFile::rename(dir.path() + "/quick.h5", dir.path() + "/runs/quick.h5");
        p.start(kPython, {"-c", example});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        QVERIFY(QString::fromUtf8(p.readAllStandardOutput()).contains("finished"));
    }
};

QTEST_GUILESS_MAIN(TestResilience)
#include "test_resilience.moc"
