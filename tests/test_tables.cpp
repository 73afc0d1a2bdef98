// The thesis's tables from run files: every cell equals the value in the files, runs that
// differ only by seed become mean ± standard deviation, labels name what differs, and the CSV,
// Markdown and LaTeX forms hold the same cells.
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>

#include "engine/config/config.h"
#include "engine/config/presets.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/tables.h"

using namespace normout;

namespace {

// A finished run file with given final accuracies, layer-48 statistics, attack and flatness rows.
std::string make_run(const QTemporaryDir& dir, const std::string& file, RunConfig config, double train_acc,
                     double test_acc, double sparsity, double fgsm, double fisher) {
    const std::string path = dir.path().toStdString() + "/" + file;
    RunHeader h;
    h.run_id = new_run_id();
    h.name = config.name;
    h.preset = config.preset;
    h.config_json = config_to_json(config);
    h.start_unix_ms = unix_time_ms();
    h.host = host_name();
    h.pid = 1;
    InstrumentedLayer l;
    l.index = 48;
    l.kind = "NormOut";
    l.units = 8;
    l.keep = true;
    h.instrumented = {l};
    h.histogram_bins = 4;
    {
        RunWriter w(path, h);
        EpochRecord e;
        e.epoch = 1;
        e.train_accuracy = 0.5;
        e.test_accuracy = 0.4;
        w.append_epochs({e});
        e.epoch = 2;
        e.train_accuracy = train_acc;
        e.test_accuracy = test_acc;
        w.append_epochs({e});
        LayerStepStats s;
        s.layer = 48;
        s.has_keep = true;
        s.global_step = 10;
        s.output_ewma = {0.25, 30.0, 0.8, 0.64, sparsity};
        w.append_layer_steps({s});
        w.set_status(RunStatus::Finished, "", 10);
    }
    AnalysisWriter a(path);
    a.append("attacks", {{{{"eps", 8.0 / 255},
                           {"accuracy", fgsm},
                           {"ci_low", fgsm - 0.02},
                           {"ci_high", fgsm + 0.03},
                           {"weights_step", 10},
                           {"evaluation", 1}},
                          {{"attack", "fgsm"}, {"norm", "linf"}, {"role", "main"}}},
                         {{{"eps", 0.5}, {"accuracy", 0.99}, {"weights_step", 10}, {"evaluation", 1}},
                          {{"attack", "fgsm"}, {"norm", "linf"}, {"role", "sweep"}}}});  // not a main result
    a.append("flatness", {{{{"value", fisher}, {"weights_step", 10}}, {{"measure", "fisher_rao_empirical"}}}});
    a.commit();
    return path;
}

}  // namespace

class TestTables : public QObject {
    Q_OBJECT
    QTemporaryDir dir_;

  private Q_SLOTS:
    void cellsEqualTheFiles() {
        const RunConfig base = preset_config("thesis/temporal-softmax-48-51-T100");
        RunConfig dropout = preset_config("thesis/dropout-48-51");
        const std::string a = make_run(dir_, "a.h5", base, 0.9713, 0.9258, 0.886, 0.222, 4.2);
        const std::string b = make_run(dir_, "b.h5", dropout, 0.966, 0.913, 0.945, 0.0898, 7.68);
        const Table acc = build_table({a, b}, TableKind::Accuracy);
        QCOMPARE(acc.rows.size(), std::size_t(2));
        QCOMPARE(QString::fromStdString(acc.rows[0][0]), QString("Temporal Softmax 48 51 (T=100)"));
        QCOMPARE(QString::fromStdString(acc.rows[0][1]), QString("97.13"));
        QCOMPARE(QString::fromStdString(acc.rows[0][2]), QString("92.58"));
        QCOMPARE(QString::fromStdString(acc.rows[0][3]), QString("4.55"));
        QVERIFY(std::fabs(acc.values[1][1] - 96.6) < 1e-9);
        const Table act = build_table({a, b}, TableKind::Activations, {{48}, "linf"});
        QCOMPARE(QString::fromStdString(act.rows[1][6]), QString("94.5"));
        QCOMPARE(act.values[0][3], 30.0);
        const Table att = build_table({a, b}, TableKind::Attacks);
        QVERIFY2(QString::fromStdString(att.rows[0][1]).startsWith("22.2 [20.2, 25.2]"), att.rows[0][1].c_str());
        QCOMPARE(QString::fromStdString(att.rows[0][2]), QString("–"));  // no PGD-CE rows
        const Table flat = build_table({a, b}, TableKind::Flatness);
        QCOMPARE(QString::fromStdString(flat.rows[1][1]), QString("7.68"));
        // The formats carry the same cells.
        QVERIFY(QString::fromStdString(to_csv(acc)).contains("\"Temporal Softmax 48 51 (T=100)\",97.13,92.58") ||
                QString::fromStdString(to_csv(acc)).contains("Temporal Softmax 48 51 (T=100),97.13,92.58"));
        QVERIFY(QString::fromStdString(to_markdown(acc)).contains("| Dropout 48 51 | 96.60 | 91.30 |"));
        const QString tex = QString::fromStdString(to_latex(acc));
        QVERIFY(tex.contains("\\begin{tabular}{lrrrr}"));
        QVERIFY(tex.contains("Dropout 48 51 & 96.60 & 91.30 & 5.30 & 2 \\\\"));
        QVERIFY(tex.contains("Train Accuracy (\\%)"));
        // `runs/*.h5` also matches continuation segments: they are part of their run, not runs.
        const std::string segment = dir_.path().toStdString() + "/a.resume-1.h5";
        QVERIFY(QFile::copy(QString::fromStdString(a), QString::fromStdString(segment)));
        QVERIFY(is_segment_path(segment) && !is_segment_path(a) && !is_segment_path("resume-1.h5"));
        QCOMPARE(build_table({a, b, segment}, TableKind::Accuracy).rows, acc.rows);
    }

    void seedsBecomeMeanAndDeviation() {
        RunConfig c = preset_config("thesis/baseline");
        std::vector<std::string> paths;
        const double tests[3] = {0.90, 0.91, 0.95};
        for (int s = 0; s < 3; ++s) {
            c.train.seed = static_cast<uint64_t>(s);
            paths.push_back(make_run(dir_, "seed" + std::to_string(s) + ".h5", c, 0.97, tests[s], 0.88, 0.1, 30));
        }
        RunConfig other = c;
        other.train.lr = 0.05;  // not a seed: its own row
        paths.push_back(make_run(dir_, "lr.h5", other, 0.96, 0.89, 0.9, 0.1, 20));
        const Table t = build_table(paths, TableKind::Accuracy);
        QCOMPARE(t.rows.size(), std::size_t(2));
        const double mean = (90.0 + 91.0 + 95.0) / 3;
        const double sd =
            std::sqrt(((90 - mean) * (90 - mean) + (91 - mean) * (91 - mean) + (95 - mean) * (95 - mean)) / 2);
        QVERIFY(std::fabs(t.values[0][2] - mean) < 1e-9);
        QCOMPARE(QString::fromStdString(t.rows[0][2]), QString("%1 ± %2").arg(mean, 0, 'f', 2).arg(sd, 0, 'f', 2));
        QVERIFY(QString::fromStdString(t.rows[0][0]).contains("(3 seeds)"));
        // The two groups share their name: labels say what differs.
        QVERIFY2(QString::fromStdString(t.rows[1][0]).contains("train.lr=0.05"), t.rows[1][0].c_str());
        QCOMPARE(seed_groups({config_to_json(c), config_to_json(other), config_to_json(c)}),
                 (std::vector<std::vector<std::size_t>>{{0, 2}, {1}}));
    }

    void badFilesAreNamed() {
        QVERIFY_THROWS_EXCEPTION(RunFileError,
                                 build_table({dir_.path().toStdString() + "/none.h5"}, TableKind::Accuracy));
        QVERIFY_THROWS_EXCEPTION(ConfigError, table_kind("losses"));
    }
};

QTEST_APPLESS_MAIN(TestTables)
#include "test_tables.moc"
