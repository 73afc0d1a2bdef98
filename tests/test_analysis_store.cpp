// Analysis results (attacks, flatness) of finished runs, stored in the run's sidecar
// (RUN.analysis.hdf5): writers killed at random moments, readers holding or reopening the files
// while results are stored, training that stores its results while a reader polls, and results
// that cannot be stored. Runs `normout` as child processes (issue 16, item 3).
#include <signal.h>
#include <sys/mount.h>

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QProcess>
#include <QRandomGenerator>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <functional>
#include <thread>

#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;
namespace fs = std::filesystem;
using Result = normout::test::ProcessResult;

namespace {

const char* kPython = "/usr/bin/python3";  // Debian's, with python3-h5py

// Opens the files (waiting up to a minute for each to appear), reads their groups, says "ready"
// and keeps them open until stdin closes. argv: swmr|plain FILE...
const char* kHolder = R"(
import sys, time, h5py
swmr = sys.argv[1] == "swmr"
held = []
for path in sys.argv[2:]:
    end = time.time() + 60
    while True:
        try:
            f = h5py.File(path, "r", swmr=swmr)
            break
        except OSError:
            if time.time() > end:
                raise
            time.sleep(0.05)
    list(f.keys())
    held.append(f)
print("ready", flush=True)
sys.stdin.read()
)";

// Opens the files every 100 ms like the lab's Runs tab (SWMR first, then plainly), reads their
// analysis groups and prints how many opens succeeded after each round, until killed.
const char* kReopener = R"(
import sys, time, h5py
n = 0
while True:
    for path in sys.argv[1:]:
        try:
            try:
                f = h5py.File(path, "r", swmr=True)
            except OSError:
                f = h5py.File(path, "r")
            with f:
                if "analysis" in f:
                    for t in f["analysis"]:
                        list(f["analysis"][t])
                n += 1
        except (OSError, KeyError):
            pass
    print(n, flush=True)
    time.sleep(0.1)
)";

bool same_number(double a, double b) {
    return a == b || (std::isnan(a) && std::isnan(b));
}

bool same_row(const AnalysisRow& a, const AnalysisRow& b) {
    if (a.texts != b.texts || a.numbers.size() != b.numbers.size()) return false;
    for (const auto& [k, v] : a.numbers) {
        const auto it = b.numbers.find(k);
        if (it == b.numbers.end() || !same_number(v, it->second)) return false;
    }
    return true;
}

// "" when `after` holds everything `before` held (same rows first, same arrays), else what differs.
// Columns added later read NaN or "" in earlier rows, so only the columns of `before` are compared.
QString kept(const AnalysisData& before, const AnalysisData& after) {
    for (const auto& [table, t] : before.tables) {
        const auto it = after.tables.find(table);
        if (it == after.tables.end()) return QString("table %1 is gone").arg(table.c_str());
        const auto& rows = it->second.rows;
        if (rows.size() < t.rows.size())
            return QString("table %1 lost rows: %2 -> %3").arg(table.c_str()).arg(t.rows.size()).arg(rows.size());
        for (std::size_t i = 0; i < t.rows.size(); ++i) {
            AnalysisRow now;
            for (const auto& [k, v] : t.rows[i].numbers)
                now.numbers[k] = rows[i].number(k);
            for (const auto& [k, v] : t.rows[i].texts)
                now.texts[k] = rows[i].text(k);
            if (!same_row(t.rows[i], now)) return QString("table %1 row %2 changed").arg(table.c_str()).arg(i);
        }
    }
    for (const auto& [name, a] : before.arrays) {
        const auto it = after.arrays.find(name);
        if (it == after.arrays.end()) return QString("array %1 is gone").arg(name.c_str());
        if (it->second.shape != a.shape || it->second.values.size() != a.values.size())
            return QString("array %1 changed").arg(name.c_str());
        for (std::size_t i = 0; i < a.values.size(); ++i)
            if (!same_number(a.values[i], it->second.values[i])) return QString("array %1 changed").arg(name.c_str());
    }
    return {};
}

std::size_t rows_of(const AnalysisData& d, const std::string& table) {
    const auto it = d.tables.find(table);
    return it == d.tables.end() ? 0 : it->second.rows.size();
}

QByteArray file_hash(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result();
}

// What a finished run held before analyses were written to it.
struct Training {
    QByteArray run_file;  // the bytes of the run file: never written again
    RunInfo info;
    std::vector<NamedArray> weights;
};

Training training_of(const QString& path) {
    return {file_hash(path), read_run(path.toStdString()), read_weights(path.toStdString())};
}

// "" when the run's training record is as it was.
QString unchanged(const QString& path, const Training& before) {
    if (file_hash(path) != before.run_file) return "the run file's bytes changed";
    const RunInfo now = read_run(path.toStdString());  // also: it opens
    if (now.status != before.info.status) return QString("status %1").arg(now.status.c_str());
    if (now.epochs.size() != before.info.epochs.size()) return "epoch rows changed";
    for (std::size_t i = 0; i < now.epochs.size(); ++i)
        if (!same_number(now.epochs[i].test_accuracy, before.info.epochs[i].test_accuracy) ||
            !same_number(now.epochs[i].train_loss, before.info.epochs[i].train_loss))
            return QString("epoch row %1 changed").arg(i);
    if (now.steps.size() != before.info.steps.size()) return "step rows changed";
    for (std::size_t i = 0; i < now.steps.size(); ++i)
        if (now.steps[i].global_step != before.info.steps[i].global_step ||
            !same_number(now.steps[i].loss, before.info.steps[i].loss))
            return QString("step row %1 changed").arg(i);
    const auto w = read_weights(path.toStdString());
    if (w.size() != before.weights.size()) return "weights changed";
    for (std::size_t i = 0; i < w.size(); ++i)
        if (w[i].name != before.weights[i].name || w[i].values != before.weights[i].values ||
            w[i].integers != before.weights[i].integers)
            return QString("weights %1 changed").arg(w[i].name.c_str());
    return {};
}

QStringList leftovers(const QString& folder) {
    return QDir(folder).entryList({"*.tmp-*"}, QDir::Files);
}

}  // namespace

class TestAnalysisStore : public QObject {
    Q_OBJECT

    normout::test::CliRunner cli_{300000};
    QTemporaryDir dir_;
    QString base_;  // a finished run without analyses

    static QStringList train_args(const QString& out, bool evaluate) {
        using normout::test::TinyRun;
        QStringList a = QStringList{"train", "--preset", "quick"};
        if (evaluate)
            a += TinyRun().args() + QStringList{"--set", "evaluate.attacks=fgsm",    "--set", "evaluate.attack_n=64",
                                                "--set", "evaluate.fisher_rao=true", "--set", "evaluate.flatness_n=64"};
        else
            a += TinyRun().without_evaluation().args();
        return a + QStringList{"--quiet", "--out", out};
    }
    static QStringList attack_args(const QString& run) { return {"attack", run, "--attacks", "fgsm", "--n", "64"}; }
    static QStringList flatness_args(const QString& run) { return {"flatness", run, "--fisher-rao", "--n", "64"}; }

    Result run(const QStringList& args) const { return cli_.run(args); }
    Result run_cli(const QStringList& args) const { return cli_.run(args); }

    // `normout args...` with extra environment variables.
    Result run_with(const QStringList& args, const QStringList& env) const {
        QProcess p;
        QProcessEnvironment e = cli_.environment();
        for (const QString& kv : env)
            e.insert(kv.section('=', 0, 0), kv.section('=', 1));
        p.setProcessEnvironment(e);
        p.start(cli_.program(), args);
        Result r;
        const bool finished = p.waitForFinished(300000);
        r.code = finished && p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1;
        r.out = QString::fromUtf8(p.readAllStandardOutput());
        r.err = QString::fromUtf8(p.readAllStandardError());
        return r;
    }

    // A finished run copied from the base run, with a fresh name (its analysis starts empty).
    QString copy_of_base(const QString& folder, const QString& name) const {
        const QString path = folder + "/" + name + ".h5";
        fs::copy_file(base_.toStdString(), path.toStdString());
        return path;
    }

    // Starts a Python helper; for the holder, waits for its "ready".
    static bool start_python(QProcess& p, const char* script, const QStringList& args, bool wait_ready) {
        p.start(kPython, QStringList{"-c", script} + args);
        if (!p.waitForStarted()) return false;
        if (!wait_ready) return true;
        QElapsedTimer t;
        t.start();
        while (t.elapsed() < 90000) {
            if (p.canReadLine() && p.readLine().startsWith("ready")) return true;
            if (p.state() != QProcess::Running) return false;
            p.waitForReadyRead(100);
        }
        return false;
    }
    static void stop_python(QProcess& p) {
        p.closeWriteChannel();
        if (!p.waitForFinished(5000)) {
            p.kill();
            p.waitForFinished();
        }
    }
    // The last count a reopener printed (how many opens succeeded).
    static int reopens(QProcess& p) {
        p.kill();
        p.waitForFinished();
        const QStringList lines = QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
        return lines.isEmpty() ? 0 : lines.last().toInt();
    }

  private Q_SLOTS:
    void initTestCase() {
        silence_hdf5_errors();
        QVERIFY2(cli_.exists(), "NORMOUT_CLI must point at the normout binary");
        QVERIFY2(QFile::exists(kPython), "Debian's python3 (with python3-h5py) is needed");
        QVERIFY(dir_.isValid());
        base_ = dir_.path() + "/base.h5";
        const Result r = run(train_args(base_, false));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(QString::fromStdString(read_run(base_.toStdString()).status), QString("finished"));
        QVERIFY(read_analysis(base_.toStdString()).tables.empty());
    }

    // The sidecar is HDF5 1.10's format, readable with and without SWMR, and names its run.
    void sidecarIsAPlainHdf5File() {
        const QString path = copy_of_base(dir_.path(), "plain");
        const Result a = run(attack_args(path));
        QVERIFY2(a.code == 0, qPrintable(a.err));
        const QString sidecar = QString::fromStdString(analysis_path(path.toStdString()));
        QCOMPARE(sidecar, dir_.path() + "/plain.analysis.hdf5");
        QVERIFY(QFile::exists(sidecar));
        QProcess py;
        py.start(kPython, {"-c", R"(
import sys, h5py
for swmr in (True, False):
    with h5py.File(sys.argv[1], "r", swmr=swmr) as f:
        assert f.attrs["format"] == "normout-analysis", f.attrs["format"]
        assert f.attrs["run_id"] == sys.argv[2]
        assert f["analysis/attacks/accuracy"].shape[0] == 2
        assert f["analysis/attacks/attack"][1] == b"fgsm"
print("ok")
)",
                           sidecar, QString::fromStdString(read_run(path.toStdString()).header.run_id)});
        QVERIFY(py.waitForFinished(60000));
        QVERIFY2(py.exitCode() == 0, qPrintable(py.readAllStandardError()));
        // The superblock of HDF5 1.10 (version 3), never a newer one.
        QFile f(sidecar);
        QVERIFY(f.open(QIODevice::ReadOnly));
        const QByteArray head = f.read(9);
        QCOMPARE(head.left(8), QByteArray("\x89HDF\r\n\x1a\n", 8));
        QCOMPARE(static_cast<int>(head[8]), 3);
        QVERIFY(leftovers(dir_.path()).isEmpty());
    }

    // SIGKILL of `normout attack` and `normout flatness` at random moments (seeded), also while
    // they store: the run file keeps every byte, earlier analyses stay, a killed store adds all
    // of its rows or none, and a later attack stores its rows.
    void killedWritersHurtNothing() {
        QTemporaryDir dir;
        const QString path = copy_of_base(dir.path(), "killed");
        // Earlier analyses, and how long each command takes.
        QElapsedTimer t;
        t.start();
        Result r = run(attack_args(path));
        const qint64 attack_ms = t.elapsed();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        t.restart();
        r = run(flatness_args(path));
        const qint64 flatness_ms = t.elapsed();
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Training training = training_of(path);

        QRandomGenerator rng(20261201);
        const QString sidecar = QString::fromStdString(analysis_path(path.toStdString()));
        const QString host = QString::fromStdString(host_name());
        int killed = 0, outran = 0, while_storing = 0, stored_by_killed = 0;
        for (int i = 0; i < 60 && killed < 24; ++i) {
            const bool attack = i % 2 == 0;
            const qint64 duration = attack ? attack_ms : flatness_ms;
            const AnalysisData before = read_analysis(path.toStdString());
            QProcess p;
            cli_.start(p, attack ? attack_args(path) : flatness_args(path));
            QVERIFY(p.waitForStarted());
            // A third of the kills anywhere in the command's life; the others once it has begun
            // to store (its private copy of the sidecar exists), within the next 40 ms.
            const bool at_store = i % 3 != 0;
            qint64 delay;
            bool storing = false;
            if (at_store) {
                const QString copy = sidecar + QString(".tmp-%1-%2").arg(host).arg(p.processId());
                while (!(storing = QFile::exists(copy)) && !p.waitForFinished(1)) {
                }
                delay = rng.bounded(41);
            } else {
                delay = rng.bounded(static_cast<int>(duration * 11 / 10) + 1);
            }
            const bool done = p.state() == QProcess::NotRunning || p.waitForFinished(static_cast<int>(delay));
            if (!done) {
                ::kill(static_cast<pid_t>(p.processId()), SIGKILL);
                p.waitForFinished();
                ++killed;
                if (storing) ++while_storing;
            } else {
                ++outran;
                QVERIFY2(p.exitCode() == 0, qPrintable(p.readAllStandardError()));
            }
            const QString why = unchanged(path, training);
            QVERIFY2(why.isEmpty(), qPrintable(QString("kill %1 after %2 ms: %3").arg(i).arg(delay).arg(why)));
            AnalysisData after;
            try {
                after = read_analysis(path.toStdString());
            } catch (const std::exception& e) {
                QFAIL(qPrintable(QString("kill %1 after %2 ms: %3").arg(i).arg(delay).arg(e.what())));
            }
            const QString lost = kept(before, after);
            QVERIFY2(lost.isEmpty(), qPrintable(QString("kill %1 after %2 ms: %3").arg(i).arg(delay).arg(lost)));
            QVERIFY(after.unsaved.empty());
            // All of a store or nothing: 2 attack rows (clean, fgsm) with their masking rows and
            // arrays, or 2 Fisher-Rao rows.
            const std::size_t added = attack ? rows_of(after, "attacks") - rows_of(before, "attacks")
                                             : rows_of(after, "flatness") - rows_of(before, "flatness");
            QVERIFY2(added == 0 || added == 2, qPrintable(QString("kill %1: %2 rows added").arg(i).arg(added)));
            if (attack) {
                QCOMPARE(rows_of(after, "masking") > rows_of(before, "masking"), added == 2);
                QCOMPARE(after.arrays.size() - before.arrays.size(), std::size_t(added == 2 ? 2 : 0));
            }
            if (!done && added) ++stored_by_killed;
        }
        qInfo(
            "%d writers killed (%d while storing, %d of them after the rename), %d finished first; attack %lld ms, "
            "flatness %lld ms",
            killed, while_storing, stored_by_killed, outran, attack_ms, flatness_ms);
        QVERIFY2(killed >= 20, "too few writers were killed");
        QVERIFY2(while_storing >= 10, "too few writers were killed while storing");

        // A later attack stores its rows, numbered after the others; the copies of the killed
        // writers are gone.
        const AnalysisData before = read_analysis(path.toStdString());
        double last = 0;
        for (const auto& row : before.tables.at("attacks").rows)
            last = std::max(last, row.number("evaluation"));
        r = run(attack_args(path));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const AnalysisData after = read_analysis(path.toStdString());
        QVERIFY(kept(before, after).isEmpty());
        QCOMPARE(rows_of(after, "attacks"), rows_of(before, "attacks") + 2);
        QCOMPARE(after.tables.at("attacks").rows.back().number("evaluation"), last + 1);
        QCOMPARE(QString::fromStdString(after.tables.at("attacks").rows.back().text("attack")), QString("fgsm"));
        QVERIFY(unchanged(path, training).isEmpty());
        QVERIFY2(leftovers(dir.path()).isEmpty(), qPrintable(leftovers(dir.path()).join(", ")));
    }

    // Readers of the run file and of its sidecar, holding them open (h5py with and without SWMR)
    // or reopening them every 100 ms (h5py, and this process as the lab's Runs tab does): every
    // attack and flatness result is stored, and the in-process reader never fails.
    void readersDoNotBlockWriters() {
        QTemporaryDir dir;
        const QString path = copy_of_base(dir.path(), "read");
        const QString sidecar = QString::fromStdString(analysis_path(path.toStdString()));
        Result r = run(attack_args(path));  // so that there is a sidecar to hold
        QVERIFY2(r.code == 0, qPrintable(r.err));

        QProcess swmr, plain, reopener;
        QVERIFY(start_python(swmr, kHolder, {"swmr", path, sidecar}, true));
        QVERIFY(start_python(plain, kHolder, {"plain", path, sidecar}, true));
        QVERIFY(start_python(reopener, kReopener, {path, sidecar}, false));
        std::atomic<bool> stop{false};
        std::atomic<int> reads{0}, failures{0};
        std::string first_failure;
        std::thread tab([&] {
            silence_hdf5_errors();
            while (!stop) {
                try {
                    read_run(path.toStdString());
                    read_analysis(path.toStdString());
                    ++reads;
                } catch (const std::exception& e) {
                    if (failures++ == 0) first_failure = e.what();
                }
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
            }
        });

        for (int i = 0; i < 5; ++i) {
            const bool attack = i % 2 == 0;
            const AnalysisData before = read_analysis(path.toStdString());
            r = run(attack ? attack_args(path) : flatness_args(path));
            QVERIFY2(r.code == 0, qPrintable(QString("store %1: %2").arg(i).arg(r.err)));
            const AnalysisData after = read_analysis(path.toStdString());
            QVERIFY(kept(before, after).isEmpty());
            const char* table = attack ? "attacks" : "flatness";
            QCOMPARE(rows_of(after, table), rows_of(before, table) + 2);
            QVERIFY(after.unsaved.empty());
        }
        stop = true;
        tab.join();
        QVERIFY2(swmr.state() == QProcess::Running && plain.state() == QProcess::Running,
                 "the h5py readers ended early");
        stop_python(swmr);
        stop_python(plain);
        const int reopened = reopens(reopener);
        qInfo("in-process reads %d (failed %d), h5py reopens %d", reads.load(), failures.load(), reopened);
        QVERIFY2(failures == 0, first_failure.c_str());
        QVERIFY(reads > 10 && reopened > 10);
        QVERIFY(QDir(dir.path()).entryList({"*.json"}, QDir::Files).isEmpty());
    }

    // Training that measures robustness and Fisher-Rao while a reader keeps reopening the run
    // file and its sidecar and another holds the run file open: each run ends finished with its
    // analysis stored.
    void trainingStoresItsResultsUnderReaders() {
        QTemporaryDir dir;
        QStringList files;
        for (int k = 0; k < 3; ++k) {
            const QString path = dir.path() + QString("/eval-%1.h5").arg(k);
            files << path << QString::fromStdString(analysis_path(path.toStdString()));
        }
        QProcess reopener;
        QVERIFY(start_python(reopener, kReopener, files, false));
        for (int k = 0; k < 3; ++k) {
            const QString path = files[2 * k];
            QProcess holder;  // opens the run file as soon as it appears and keeps it open
            holder.start(kPython, {"-c", kHolder, "swmr", path});
            QVERIFY(holder.waitForStarted());
            const Result r = run(train_args(path, true));
            QVERIFY2(r.code == 0, qPrintable(path + ": " + r.err));
            QVERIFY2(!r.err.contains("could not store"), qPrintable(r.err));
            stop_python(holder);
            const RunInfo info = read_run(path.toStdString());
            QCOMPARE(QString::fromStdString(info.status), QString("finished"));
            const AnalysisData a = read_analysis(path.toStdString());
            QVERIFY2(a.unsaved.empty(), a.unsaved.empty() ? "" : a.unsaved[0].reason.c_str());
            QVERIFY(rows_of(a, "attacks") == 2);  // clean and fgsm after the one epoch
            QCOMPARE(QString::fromStdString(a.tables.at("attacks").rows[1].text("attack")), QString("fgsm"));
            QVERIFY(rows_of(a, "masking") >= 1);
            QCOMPARE(rows_of(a, "flatness"), std::size_t(2));
            QCOMPARE(QString::fromStdString(a.tables.at("flatness").rows[0].text("measure")),
                     QString("fisher_rao_empirical"));
        }
        const int reopened = reopens(reopener);
        qInfo("h5py reopens %d", reopened);
        QVERIFY(reopened > 10);
    }

    // When the results cannot be stored (here: another writer holds the lock past the wait), they
    // are kept in a JSON file that the readers join to the run, the error names the cause and the
    // file, and the next store moves them into the sidecar.
    void unstorableResultsAreKeptAndReported() {
        QTemporaryDir dir;
        const QString path = copy_of_base(dir.path(), "locked");
        const std::string run = path.toStdString();
        const QString lock = dir.path() + "/locked.analysis.lock";
        Result r = run_with(attack_args(path), {});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const Training training = training_of(path);

        QProcess holder;  // another writer that does not let go
        holder.start(kPython, {"-c", R"(
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
os.ftruncate(fd, 0)
os.write(fd, b"pid %d on the test" % os.getpid())
print("ready", flush=True)
sys.stdin.read()
)",
                               lock});
        QVERIFY(holder.waitForStarted());
        QVERIFY(holder.waitForReadyRead(30000) && holder.readLine().startsWith("ready"));

        // `normout attack`: exit code 1 and the reason on stderr.
        const AnalysisData before = read_analysis(run);
        r = run_with(attack_args(path), {"NORMOUT_ANALYSIS_LOCK_WAIT=1"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("could not store") && r.err.contains(lock) && r.err.contains("pid") &&
                     r.err.contains("gave up waiting") && r.err.contains(".analysis-unsaved-"),
                 qPrintable(r.err));
        AnalysisData now = read_analysis(run);
        QCOMPARE(now.unsaved.size(), std::size_t(1));
        QVERIFY2(r.err.contains(QString::fromStdString(now.unsaved[0].path)), qPrintable(r.err));
        QVERIFY(QString::fromStdString(now.unsaved[0].reason).contains("gave up waiting"));
        QCOMPARE(rows_of(now, "attacks"), rows_of(before, "attacks") + 2);  // readers see the rows
        QCOMPARE(now.tables.at("attacks").rows.back().number("evaluation"), 2.0);
        QVERIFY(kept(before, now).isEmpty());
        const auto files = analysis_files(run);
        QCOMPARE(files.size(), std::size_t(2));  // the sidecar and the JSON file, for watchers

        // Training with --quiet: the run finishes; its results are kept the same way and the
        // error reaches stderr.
        const QString trained = dir.path() + "/trained.h5";
        const QString trained_lock = dir.path() + "/trained.analysis.lock";
        QProcess holder2;
        holder2.start(kPython, {"-c", R"(
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
fcntl.flock(fd, fcntl.LOCK_EX)
print("ready", flush=True)
sys.stdin.read()
)",
                                trained_lock});
        QVERIFY(holder2.waitForStarted());
        QVERIFY(holder2.waitForReadyRead(30000) && holder2.readLine().startsWith("ready"));
        r = run_with(train_args(trained, true), {"NORMOUT_ANALYSIS_LOCK_WAIT=1"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(QString::fromStdString(read_run(trained.toStdString()).status), QString("finished"));
        const AnalysisData t = read_analysis(trained.toStdString());
        QCOMPARE(t.unsaved.size(), std::size_t(1));
        QCOMPARE(rows_of(t, "attacks"), std::size_t(2));
        QCOMPARE(rows_of(t, "flatness"), std::size_t(2));
        // The error reaches stderr under --quiet, and the run's status message records it.
        QVERIFY2(r.err.contains("could not store") && r.err.contains(".analysis-unsaved-"), qPrintable(r.err));
        QVERIFY(QString::fromStdString(read_run(trained.toStdString()).status_message).contains("could not store"));
        stop_python(holder2);

        // Once the lock is free, the next store moves the kept results into the sidecar.
        stop_python(holder);
        r = run_with(flatness_args(path), {});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const AnalysisData merged = read_analysis(run);
        QVERIFY(merged.unsaved.empty());
        QVERIFY(kept(now, merged).isEmpty());
        QCOMPARE(rows_of(merged, "attacks"), rows_of(now, "attacks"));
        QCOMPARE(rows_of(merged, "flatness"), rows_of(now, "flatness") + 2);
        QVERIFY(QDir(dir.path()).entryList({"locked.analysis-unsaved-*"}, QDir::Files).isEmpty());
        QCOMPARE(analysis_files(run).size(), std::size_t(1));
        QVERIFY(unchanged(path, training).isEmpty());
        // The next evaluation is numbered after the kept one.
        r = run_with(attack_args(path), {});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(read_analysis(run).tables.at("attacks").rows.back().number("evaluation"), 3.0);
    }

    // A full disk: neither the sidecar nor a JSON file fits next to the run, so the results are
    // kept in the user's folder (XDG_DATA_HOME/normout/unsaved-analysis), which the message
    // names and the readers find; with room again, the next store moves them into the sidecar.
    void fullDiskKeepsResultsInTheUserFolder() {
        QTemporaryDir dir;
        const std::string mnt = dir.path().toStdString();
        const auto room = fs::file_size(base_.toStdString()) + 512 * 1024;
        const std::string size = "size=" + std::to_string(room / 1024) + "k";
        if (::mount("tmpfs", mnt.c_str(), "tmpfs", 0, size.c_str()) != 0)
            QSKIP("mounting a small tmpfs needs root; the full-disk case cannot run here");
        struct Unmount {
            std::string m;
            ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
        } unmount{mnt};
        const QString path = copy_of_base(dir.path(), "full");
        const std::string run = path.toStdString();
        const std::string filler = mnt + "/filler";
        {
            QFile f(QString::fromStdString(filler));
            QVERIFY(f.open(QIODevice::WriteOnly));
            const QByteArray block(4096, 'f');
            while (f.write(block) == block.size() && f.flush()) {
            }
        }
        const Result r = run_cli(attack_args(path));
        QCOMPARE(r.code, 1);
        const QString user = cli_.home() + "/share/normout/unsaved-analysis/";
        QVERIFY2(r.err.contains("could not store") && r.err.contains("No space left on device") &&
                     r.err.contains("They are kept in " + user),
                 qPrintable(r.err));
        QVERIFY(leftovers(dir.path()).isEmpty());
        QVERIFY(QDir(dir.path()).entryList({"*.json", "*.hdf5"}, QDir::Files).isEmpty());
        // The readers look there (for the user of the command: this process takes its folder).
        const QByteArray xdg = qgetenv("XDG_DATA_HOME");
        qputenv("XDG_DATA_HOME", (cli_.home() + "/share").toUtf8());
        struct Restore {
            QByteArray v;
            ~Restore() { v.isNull() ? qunsetenv("XDG_DATA_HOME") : qputenv("XDG_DATA_HOME", v); }
        } restore{xdg};
        AnalysisData d = read_analysis(run);
        QCOMPARE(d.unsaved.size(), std::size_t(1));
        QVERIFY(QString::fromStdString(d.unsaved[0].path).startsWith(user));
        QCOMPARE(rows_of(d, "attacks"), std::size_t(2));
        fs::remove(filler);
        const Result again = run_cli(flatness_args(path));
        QVERIFY2(again.code == 0, qPrintable(again.err));
        d = read_analysis(run);
        QVERIFY(d.unsaved.empty());
        QCOMPARE(rows_of(d, "attacks"), std::size_t(2));
        QCOMPARE(rows_of(d, "flatness"), std::size_t(2));
        QVERIFY(QDir(user).entryList(QDir::Files).isEmpty());
    }

    // A sidecar that does not open: readers name it; a store keeps its results (NaN and
    // infinities too) in a JSON file and says why; once the sidecar is moved away they are read
    // with the run and the next store moves them into a new sidecar. An unreadable JSON file is
    // named by the readers and left alone by the writers.
    void damagedFilesAreNamedAndResultsKept() {
        QTemporaryDir dir;
        const std::string run = copy_of_base(dir.path(), "damaged").toStdString();
        const std::string sidecar = analysis_path(run);
        normout::test::write_bytes(sidecar, std::string(4096, 'x'));
        const auto error_of = [](const std::function<void()>& f) {
            try {
                f();
            } catch (const std::exception& e) {
                return QString(e.what());
            }
            return QString();
        };
        QString msg = error_of([&] { read_analysis(run); });
        QVERIFY2(msg.startsWith(QString::fromStdString(sidecar) + ": "), qPrintable(msg));

        AnalysisBatch batch;
        batch.tables["flatness"] = {
            {{{"value", NAN}, {"standard_error", INFINITY}, {"n", -INFINITY}}, {{"measure", "fisher_rao_empirical"}}}};
        batch.arrays["grid"] = {{2}, {NAN, 0.5}, {{"axes", "x"}}};
        std::string kept_in;
        try {
            store_analysis(run, [&](const AnalysisData&) { return batch; });
            QFAIL("stored into a damaged sidecar");
        } catch (const AnalysisNotStored& e) {
            msg = e.what();
            kept_in = e.kept_in();
        }
        QVERIFY2(msg.contains(QString::fromStdString(sidecar) + ": cannot open it") && msg.contains("damaged?") &&
                     msg.contains(QString::fromStdString(kept_in)),
                 qPrintable(msg));
        QVERIFY(fs::exists(kept_in));
        QCOMPARE(fs::path(kept_in).parent_path(), fs::path(run).parent_path());

        fs::rename(sidecar, sidecar + ".broken");
        AnalysisData d = read_analysis(run);
        QCOMPARE(d.unsaved.size(), std::size_t(1));
        QCOMPARE(d.unsaved[0].path, kept_in);
        QVERIFY(QString::fromStdString(d.unsaved[0].reason).contains("damaged?"));
        const AnalysisRow& row = d.tables.at("flatness").rows.at(0);
        QVERIFY(std::isnan(row.numbers.at("value")));
        QCOMPARE(row.numbers.at("standard_error"), double(INFINITY));
        QCOMPARE(row.numbers.at("n"), double(-INFINITY));
        QVERIFY(std::isnan(d.arrays.at("grid").values[0]));
        QCOMPARE(d.arrays.at("grid").values[1], 0.5);

        // A JSON file that does not parse: named by the readers, skipped by the writer.
        const std::string garbage = dir.path().toStdString() + "/damaged.analysis-unsaved-29991231T000000Z-1-0.json";
        normout::test::write_bytes(garbage, "{\"format\": ");
        msg = error_of([&] { read_analysis(run); });
        QVERIFY2(msg.startsWith(QString::fromStdString(garbage) + ": "), qPrintable(msg));
        store_analysis(run, [&](const AnalysisData&) { return batch; });
        QVERIFY(!fs::exists(kept_in));  // moved into the new sidecar
        QVERIFY(fs::exists(garbage));
        fs::remove(garbage);
        d = read_analysis(run);
        QVERIFY(d.unsaved.empty());
        QCOMPARE(rows_of(d, "flatness"), std::size_t(2));
        QCOMPARE(d.tables.at("flatness").rows[1].numbers.at("standard_error"), double(INFINITY));
        QVERIFY(leftovers(dir.path()).isEmpty());
    }

    // Training may store what it measured before it ends its run (AnalysisWriter refuses a live
    // run to anyone else); readers see the rows while the run is still open for writing.
    void theRunsOwnWriterStoresWhileLive() {
        QTemporaryDir dir;
        const std::string run = dir.path().toStdString() + "/live.h5";
        RunHeader h;
        h.run_id = new_run_id();
        h.name = "live";
        h.config_json = "{}";
        RunWriter w(run, h);
        w.flush();
        QVERIFY_THROWS_EXCEPTION(RunFileError, AnalysisWriter{run});
        store_analysis(
            run,
            [](const AnalysisData&) {
                AnalysisBatch b;
                b.tables["attacks"] = {{{{"accuracy", 0.25}}, {{"attack", "fgsm"}}}};
                return b;
            },
            true);
        QCOMPARE(rows_of(read_analysis(run), "attacks"), std::size_t(1));
        w.set_status(RunStatus::Finished, "", 0);
        w.sync();
        QCOMPARE(QString::fromStdString(read_run(run).status), QString("finished"));
        QCOMPARE(rows_of(read_analysis(run), "attacks"), std::size_t(1));
    }

    // A new run under an old run's name (`train --force`) does not inherit the old analysis:
    // the sidecar names its run, and the next store starts afresh.
    void anotherRunsSidecarIsNotRead() {
        QTemporaryDir dir;
        const QString path = copy_of_base(dir.path(), "reused");
        const std::string run = path.toStdString();
        const Result r = run_cli(attack_args(path));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(rows_of(read_analysis(run), "attacks"), std::size_t(2));
        fs::remove(run);
        {
            RunHeader h;
            h.run_id = new_run_id();
            h.name = "reused";
            h.config_json = "{}";
            RunWriter w(run, h);
            w.set_status(RunStatus::Finished, "", 0);
        }
        QVERIFY(read_analysis(run).tables.empty());
        {
            AnalysisWriter w(run);
            w.append("flatness", {{{{"value", 1.5}}, {{"measure", "fisher_rao_empirical"}}}});
            w.commit();
        }
        const AnalysisData a = read_analysis(run);
        QCOMPARE(rows_of(a, "attacks"), std::size_t(0));
        QCOMPARE(rows_of(a, "flatness"), std::size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestAnalysisStore)
#include "test_analysis_store.moc"
