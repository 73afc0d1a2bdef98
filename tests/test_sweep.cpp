// Sweeps: expansion into stably named runs, dry runs, the local backend (a sweep of tiny runs,
// skipping finished runs, resuming stopped and killed ones to the uninterrupted run's exact
// weights), `sweep-status` and `table` over a sweep folder. The Slurm backend's job script is
// checked here; a real cluster run is the slurm test (tools/slurm-local.sh).
#include <unistd.h>

#include <csignal>

#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <filesystem>
#include <set>

#include "engine/config/config.h"
#include "engine/config/presets.h"
#include "engine/report/claims.h"
#include "engine/runfile/run_file.h"
#include "engine/sweep/slurm.h"
#include "engine/sweep/sweep_plan.h"
#include "engine/sweep/sweep_spec.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"

using namespace normout;
namespace fs = std::filesystem;
using normout::test::TinyRun;
using Result = normout::test::ProcessResult;

namespace {

// The reduced settings of every test run (Fashion-MNIST, 1/16 width, 256 images, 2 epochs).
TinyRun tiny() {
    return TinyRun().limits(256, 64).batch_size(32).epochs(2).threads(1).without_evaluation();
}

// A 2 x 2 sweep: two learning rates, two seeds.
const char* kGridSpec = R"({"name": "tiny", "preset": "quick", "grid": {"train.lr": [0.01, 0.02]}, "seeds": [0, 1]})";

bool same_weights(const std::string& a, const std::string& b) {
    const auto wa = read_weights(a), wb = read_weights(b);
    if (wa.size() != wb.size() || wa.empty()) return false;
    for (std::size_t i = 0; i < wa.size(); ++i)
        if (wa[i].name != wb[i].name || wa[i].values != wb[i].values || wa[i].integers != wb[i].integers) return false;
    return true;
}

}  // namespace

class TestSweep : public QObject {
    Q_OBJECT

    normout::test::CliRunner cli_{170000};
    QTemporaryDir work_;
    QString grid_spec_;
    QString reference_dir_;  // the finished 2 x 2 sweep of localSweep()

    Result run(const QStringList& args, int timeout_ms = 0) const { return cli_.run(args, timeout_ms); }

    static QStringList with_tiny(const QStringList& args, const TinyRun& settings = tiny()) {
        return args + settings.args();
    }

    QString write_spec(const QString& name, const char* text) const {
        const QString path = work_.path() + "/" + name;
        normout::test::write_bytes(path.toStdString(), text);
        return path;
    }

  private Q_SLOTS:
    void initTestCase() {
        QVERIFY2(cli_.exists(), "NORMOUT_CLI must point at the normout binary");
        normout::test::fashion_mnist_dir();  // throws with the fix when missing
        grid_spec_ = write_spec("grid.json", kGridSpec);
    }

    void expansionGivesStableNamesAndCount() {
        const SweepSpec spec = parse_sweep_spec(kGridSpec, "grid.json", ".");
        const std::vector<std::string> overrides = tiny().settings();
        const SweepPlan plan = expand_sweep(spec, overrides);
        QCOMPARE(plan.runs.size(), std::size_t{4});
        const std::vector<std::string> expected = {"tiny__train.lr=0.01__seed0", "tiny__train.lr=0.01__seed1",
                                                   "tiny__train.lr=0.02__seed0", "tiny__train.lr=0.02__seed1"};
        for (std::size_t i = 0; i < 4; ++i) {
            QCOMPARE(plan.runs[i].name, expected[i]);
            QCOMPARE(plan.runs[i].index, static_cast<int>(i));
            const RunConfig c = config_from_json(plan.runs[i].config_json);
            QCOMPARE(c.train.seed, static_cast<uint64_t>(i % 2));
            QCOMPARE(c.train.lr, i < 2 ? 0.01 : 0.02);
            QCOMPARE(c.train.epochs, 2);                             // --set applies to every run
            QCOMPARE(c.data.dataset, std::string("fashion-mnist"));  // from the preset
        }
        // Same spec, same plan (names, order, configurations).
        QCOMPARE(plan_to_json(expand_sweep(spec, overrides)), plan_to_json(plan));

        // Lists with presets and labels, odd values made filesystem-safe, several grid keys.
        const SweepPlan mixed = expand_sweep(
            parse_sweep_spec(R"({"list": [{"preset": "thesis/dropout-48"}, {"label": "wide net", "model.width": 0.5}],
                                 "grid": {"name": ["a/b c", "d"], "train.batch_size": [16]}})",
                             "mixed.json", "."),
            {});
        QCOMPARE(mixed.runs.size(), std::size_t{4});
        QCOMPARE(mixed.runs[0].name, std::string("thesis-dropout-48__name=a-b-c__train.batch_size=16__seed0"));
        QCOMPARE(mixed.runs[3].name, std::string("wide-net__name=d__train.batch_size=16__seed0"));
        QCOMPARE(config_from_json(mixed.runs[0].config_json).preset, std::string("thesis/dropout-48"));
        QCOMPARE(config_from_json(mixed.runs[3].config_json).model.width, 0.5);

        // The built-in sweep: every row of the thesis's Table 3.1.
        const SweepPlan table = expand_sweep(load_sweep_spec("thesis/table-3.1"), {});
        std::size_t rows = 0;
        for (const auto& p : presets())
            rows += p.name.rfind("thesis/", 0) == 0 ? 1 : 0;
        QVERIFY(rows >= 20);
        QCOMPARE(table.runs.size(), rows);
        QCOMPARE(table.runs[0].name, std::string("thesis-baseline-no-aug__seed0"));
        for (const auto& r : table.runs)
            QCOMPARE(safe_name_part(r.name), r.name);

        // thesis/claims: the five configurations `normout report` tests, three seeds each, with
        // attacks and the masking probes after the last epoch; --set scales it and wins.
        const SweepPlan claims = expand_sweep(load_sweep_spec("thesis/claims"), {"train.epochs=2"});
        QCOMPARE(claims.runs.size(), std::size_t{15});
        std::set<std::string> roles;
        for (const auto& r : claims.runs) {
            const RunConfig c = config_from_json(r.config_json);
            QCOMPARE(c.train.epochs, 2);
            QVERIFY(c.evaluate.eps_sweep && c.evaluate.fisher_rao && c.evaluate.attack_every == 0);
            QVERIFY(c.evaluate.attacks.find("pgd-ce") != std::string::npos);
            roles.insert(configuration_role(r.config_json));
        }
        QCOMPARE(roles, (std::set<std::string>{kRoleBaseline, kRoleDropout, kRoleTemporalSoftmax, kRoleSpatialMax,
                                               kRoleSpatiotemporalMax}));

        // Long values are cut and kept unique by a hash.
        const SweepPlan longer = expand_sweep(
            parse_sweep_spec(
                R"({"grid": {"model.surgery": [[{"op":"replace","at":[48],"layer":{"type":"dropout","p":0.3}}],
                                                [{"op":"replace","at":[48],"layer":{"type":"dropout","p":0.4}}]]}})",
                "long.json", "."),
            {});
        QVERIFY(longer.runs[0].name.size() <= 120);
        QVERIFY(longer.runs[0].name != longer.runs[1].name);
    }

    void badSpecsAreClearErrors_data() {
        QTest::addColumn<QString>("spec");
        QTest::addColumn<QString>("message");
        QTest::newRow("unknown setting") << R"({"grid": {"train.speed": [1]}})"
                                         << "grid.train.speed";
        QTest::newRow("unknown key") << R"({"grids": {}})"
                                     << "grids: unknown key";
        QTest::newRow("bad value") << R"({"grid": {"train.lr": [0.1, -1]}})"
                                   << "train.lr: must be > 0";
        QTest::newRow("unknown preset") << R"({"preset": "nope"})"
                                        << "unknown preset 'nope'";
        QTest::newRow("not json") << "{grid"
                                  << "not valid JSON";
        QTest::newRow("empty grid") << R"({"grid": {"train.lr": []}})"
                                    << "non-empty list";
    }
    void badSpecsAreClearErrors() {
        QFETCH(QString, spec);
        QFETCH(QString, message);
        const QString path = write_spec("bad.json", spec.toUtf8().constData());
        const QString out = work_.path() + "/bad-out";
        const Result r = run({"sweep", path, "--out", out});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(message), qPrintable(r.err));
        QVERIFY(!QFile::exists(out));
        const Result missing = run({"sweep", work_.path() + "/nowhere.json", "--out", out});
        QCOMPARE(missing.code, 1);
        QVERIFY2(missing.err.contains("nowhere.json") && missing.err.contains("thesis/table-3.1"),
                 qPrintable(missing.err));
    }

    void dryRunListsAndWritesNothing() {
        const QString out = work_.path() + "/dry";
        Result r = run(with_tiny({"sweep", grid_spec_, "--out", out, "--dry-run"}));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("4 runs"));
        for (const char* name : {"tiny__train.lr=0.01__seed0.h5", "tiny__train.lr=0.02__seed1.h5"})
            QVERIFY2(r.out.contains(name), qPrintable(r.out));
        QVERIFY(!QFile::exists(out));
        // With the Slurm backend it prints the job script: one array task per run.
        r = run(with_tiny({"sweep", grid_spec_, "--out", out, "--dry-run", "--backend", "slurm", "--partition", "gpu",
                           "--gpus", "1", "--time", "01:00:00", "--sbatch-option", "--qos=short"}));
        QVERIFY2(r.code == 0, qPrintable(r.err));
        for (const char* line :
             {"#SBATCH --array=0-3", "#SBATCH --partition=gpu", "#SBATCH --gres=gpu:1", "#SBATCH --time=01:00:00",
              "#SBATCH --qos=short", "#SBATCH --requeue", "sweep-task", "$SLURM_ARRAY_TASK_ID"})
            QVERIFY2(r.out.contains(line), line);
        QVERIFY(!QFile::exists(out));
        const Result t = run({"sweep", "thesis/table-3.1", "--out", out, "--dry-run"});
        QVERIFY2(t.code == 0 && t.out.contains("thesis-temporal-softmax-48-51-T100__seed0.h5"), qPrintable(t.err));
        QCOMPARE(array_ranges({0, 1, 2, 5, 7, 8}), std::string("0-2,5,7-8"));
    }

    void localSweepCompletesAndSkipsFinishedRuns() {
        reference_dir_ = work_.path() + "/grid";
        QElapsedTimer timer;
        timer.start();
        Result r = run(with_tiny({"sweep", grid_spec_, "--out", reference_dir_, "--parallel", "2"}));
        qInfo("4 tiny runs, 2 at a time: %.1f s", timer.elapsed() / 1000.0);
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        QCOMPARE(r.out.count(QRegularExpression(R"(\] finished tiny__)")), 4);
        const SweepPlan plan = load_sweep_plan(reference_dir_.toStdString());
        QCOMPARE(plan.runs.size(), std::size_t{4});
        for (const auto& run : plan.runs) {
            const RunInfo info = read_run(run_file_path(reference_dir_.toStdString(), run));
            QCOMPARE(QString::fromStdString(info.status), QString("finished"));
            QCOMPARE(info.epochs.size(), std::size_t{2});
            QCOMPARE(info.header.config_json, run.config_json);
            QVERIFY(fs::exists(run_log_path(reference_dir_.toStdString(), run)));
        }
        // Running it again trains nothing.
        const auto mtime = fs::last_write_time(run_file_path(reference_dir_.toStdString(), plan.runs[0]));
        timer.restart();
        r = run(with_tiny({"sweep", grid_spec_, "--out", reference_dir_}));
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        QCOMPARE(r.out.count("skip tiny__"), 4);
        QVERIFY(r.out.contains("0 finished now, 4 already finished"));
        QVERIFY(timer.elapsed() < 20000);
        QVERIFY(fs::last_write_time(run_file_path(reference_dir_.toStdString(), plan.runs[0])) == mtime);
        // Other settings into the same folder are refused.
        r = run({"sweep", grid_spec_, "--out", reference_dir_, "--set", "train.epochs=3"});
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains("other settings"), qPrintable(r.err));

        // sweep-status: per run and totals.
        r = run({"sweep-status", reference_dir_});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY(r.out.contains("4 runs: 4 finished"));
        QCOMPARE(r.out.count(QRegularExpression(R"(finished\s+2/2\s+\d+\.\d\d%)")), 4);
        r = run({"sweep-status", reference_dir_, "--json"});
        const QJsonObject o = QJsonDocument::fromJson(r.out.toUtf8()).object();
        QCOMPARE(o["totals"].toObject()["finished"].toInt(), 4);
        QCOMPARE(o["runs"].toArray().size(), 4);
        QVERIFY(o["runs"].toArray()[0].toObject()["test_accuracy"].toDouble() > 0);

        // `normout table` over the folder: the seeds of each learning rate form one row.
        QStringList files;
        for (const auto& f : fs::directory_iterator(reference_dir_.toStdString()))
            if (f.path().extension() == ".h5") files << QString::fromStdString(f.path().string());
        QCOMPARE(files.size(), 4);
        r = run(QStringList{"table", "--kind", "accuracy", "--format", "csv"} + files);
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(r.out.count("(2 seeds)"), 2);
        QVERIFY(r.out.contains("train.lr=0.01") && r.out.contains("train.lr=0.02"));
        r = run({"sweep-status", reference_dir_, "--table", "accuracy"});
        QVERIFY2(r.code == 0 && r.out.count("(2 seeds)") == 2, qPrintable(r.out + r.err));
    }

    void stoppedRunIsResumedToTheSameWeights() {
        QVERIFY(!reference_dir_.isEmpty());
        const std::string ref = reference_dir_.toStdString();
        const QString dir = work_.path() + "/resume";
        const SweepPlan plan = load_sweep_plan(ref);
        const SweepRun& first = plan.runs[0];
        // A run of the sweep stopped after 5 steps (as Ctrl-C would), with its checkpoint.
        fs::create_directories(dir.toStdString());
        normout::test::write_bytes(dir.toStdString() + "/c.json", first.config_json);
        Result r = run({"train", "--config", dir + "/c.json", "--out",
                        QString::fromStdString(run_file_path(dir.toStdString(), first)), "--max-steps", "5"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QCOMPARE(QString::fromStdString(read_run(run_file_path(dir.toStdString(), first)).status), QString("stopped"));

        r = run(with_tiny({"sweep", grid_spec_, "--out", dir, "--parallel", "2"}));
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains("resume " + QString::fromStdString(first.name) + " (stopped)"), qPrintable(r.out));
        for (const auto& run : plan.runs) {
            const std::string path = run_file_path(dir.toStdString(), run);
            const RunInfo info = read_run(path);
            QCOMPARE(QString::fromStdString(info.status), QString("finished"));
            QCOMPARE(info.segments.size(), std::size_t{run.index == 0 ? 2u : 1u});
            // On the CPU with the same thread count, resumed or not, the weights are bit-identical.
            QVERIFY2(same_weights(path, run_file_path(ref, run)), run.name.c_str());
        }
        // The run files without their continuation segments, for `normout table`.
        r = run({"sweep-status", dir, "--files"});
        QCOMPARE(r.out.split('\n', Qt::SkipEmptyParts).size(), 4);
        QVERIFY(!r.out.contains(".resume-"));
        r = run(QStringList{"table", "--kind", "accuracy"} + r.out.split('\n', Qt::SkipEmptyParts));
        QVERIFY2(r.code == 0 && r.out.count("(2 seeds)") == 2, qPrintable(r.out + r.err));
    }

    void killedRunProcessIsResumed() {
        QVERIFY(!reference_dir_.isEmpty());
        const QString dir = work_.path() + "/killed";
        // One longer run (1024 images, 3 epochs) so there is time to kill it mid-way.
        const QString spec = write_spec("one.json", R"({"name": "tiny", "preset": "quick", "seeds": [3]})");
        QProcess sweep;
        cli_.start(sweep, with_tiny({"sweep", spec, "--out", dir}, tiny().limits(1024, 64).epochs(3)));
        QVERIFY(sweep.waitForStarted());
        const std::string path = dir.toStdString() + "/tiny__seed3.h5";
        QElapsedTimer t;
        t.start();
        pid_t victim = 0;
        while (!victim && t.elapsed() < 120000 && sweep.state() == QProcess::Running) {
            QThread::msleep(20);
            if (!fs::exists(path)) continue;
            try {
                const RunInfo info = read_run(path);
                if (info.status == "running" && !info.steps.empty() && info.epochs.size() < 2)
                    victim = static_cast<pid_t>(info.header.pid);
            } catch (const std::exception&) {
            }
        }
        QVERIFY2(victim > 0, "the run was not seen training");
        QCOMPARE(::kill(victim, SIGKILL), 0);
        QVERIFY(sweep.waitForFinished(170000));
        const QString out = QString::fromUtf8(sweep.readAllStandardOutput());
        QVERIFY2(sweep.exitCode() == 0, qPrintable(out + sweep.readAllStandardError()));
        QVERIFY2(out.contains("killed by signal 9") && out.contains("resume tiny__seed3 (interrupted)"),
                 qPrintable(out));
        const RunInfo info = read_run(path);
        QCOMPARE(QString::fromStdString(info.status), QString("finished"));
        QCOMPARE(info.epochs.size(), std::size_t{3});
        QCOMPARE(info.segments.size(), std::size_t{2});
    }

    // Only as the test_sweep_slurm CTest entry, after tools/slurm-local.sh started a one-node cluster:
    // the 2 x 2 sweep through sbatch, one run stopped beforehand (its task resumes it), gives the
    // local backend's results exactly.
    void slurmSweepMatchesLocal() {
        if (qEnvironmentVariable("NORMOUT_SLURM_TEST") != "1")
            QSKIP("set NORMOUT_SLURM_TEST=1 with a Slurm cluster up (tools/slurm-local.sh; ctest -R test_sweep_slurm)");
        if (reference_dir_.isEmpty()) {  // run on its own: the local reference first
            reference_dir_ = work_.path() + "/grid";
            const Result r = run(with_tiny({"sweep", grid_spec_, "--out", reference_dir_, "--parallel", "2"}));
            QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        }
        const std::string ref = reference_dir_.toStdString();
        const SweepPlan plan = load_sweep_plan(ref);
        const QString dir = work_.path() + "/slurm";
        const SweepRun& last = plan.runs[3];
        fs::create_directories(dir.toStdString());
        normout::test::write_bytes(dir.toStdString() + "/c.json", last.config_json);
        Result r = run({"train", "--config", dir + "/c.json", "--out",
                        QString::fromStdString(run_file_path(dir.toStdString(), last)), "--max-steps", "3"});
        QVERIFY2(r.code == 0, qPrintable(r.err));

        QElapsedTimer timer;
        timer.start();
        r = run(with_tiny({"sweep", grid_spec_, "--out", dir, "--backend", "slurm", "--poll", "1", "--retries", "1"}),
                300000);
        qInfo("4 tiny runs through sbatch: %.1f s", timer.elapsed() / 1000.0);
        QVERIFY2(r.code == 0, qPrintable(r.out + r.err));
        QVERIFY2(r.out.contains("submitted job") && r.out.contains("(4 tasks, array 0-3)"), qPrintable(r.out));
        QVERIFY(fs::exists(dir.toStdString() + "/slurm/sweep-1.sbatch"));
        for (const auto& run : plan.runs) {
            const std::string path = run_file_path(dir.toStdString(), run);
            const RunInfo info = read_run(path);
            QCOMPARE(QString::fromStdString(info.status), QString("finished"));
            QCOMPARE(info.segments.size(), std::size_t{run.index == 3 ? 2u : 1u});
            QVERIFY2(same_weights(path, run_file_path(ref, run)), run.name.c_str());
        }
        // Submitting again finds nothing to do.
        r = run(with_tiny({"sweep", grid_spec_, "--out", dir, "--backend", "slurm", "--poll", "1"}));
        QVERIFY2(r.code == 0 && !r.out.contains("submitted job"), qPrintable(r.out + r.err));
    }
};

QTEST_APPLESS_MAIN(TestSweep)
#include "test_sweep.moc"
