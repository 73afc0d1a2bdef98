// The run file: what is written is read back; broken, foreign and future files give clear errors.
#include <hdf5.h>

#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <filesystem>

#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "support/fixtures.h"
#include "support/run_header.h"

using namespace normout;
using namespace normout::test;

namespace {

RunHeader sample_header() {
    return test::sample_run_header();
}

template <class F>
void expect_error(F&& f, const QStringList& fragments) {
    try {
        f();
    } catch (const RunFileError& e) {
        const QString msg = QString::fromUtf8(e.what());
        for (const auto& frag : fragments)
            QVERIFY2(msg.contains(frag), qPrintable(frag + " not in: " + msg));
        return;
    }
    QFAIL("no RunFileError");
}

}  // namespace

class TestRunFile : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void roundTrip() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/run.h5";
        const RunHeader h = sample_header();
        {
            RunWriter w(path, h);
            // Readable while open: the header and "running" status are flushed at creation.
            const RunInfo live = read_run(path);
            QCOMPARE(QString::fromStdString(live.status), QString("running"));
            QVERIFY(live.epochs.empty());
            std::vector<StepRecord> steps;
            for (int k = 1; k <= 30; ++k)
                steps.push_back({k, 1 + (k - 1) / 10, 2.0 / k, 0.01 * k, 0.01, 0.5 * k});
            w.append_steps(steps);
            for (int e = 1; e <= 3; ++e) {
                EpochRecord r;
                r.epoch = e;
                r.train_loss = 2.0 / e;
                r.train_accuracy = 0.3 * e;
                r.val_loss = std::nan("");
                r.val_accuracy = std::nan("");
                r.test_loss = 1.5 / e;
                r.test_accuracy = 0.25 * e;
                r.learning_rate = 0.01;
                r.epoch_seconds = 10.5;
                r.wall_seconds = 10.5 * e;
                r.images_per_second = 4321;
                w.append_epochs({r});
            }
            NamedArray weight{"layers.0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}, {}, false};
            NamedArray count{"layers.1.num_batches_tracked", {}, {}, {42}, true};
            w.write_weights({weight, count}, 30);
            w.set_status(RunStatus::Finished, "done", 30);
            w.sync();
        }
        const RunInfo info = read_run(path);
        QCOMPARE(info.schema_version, kRunSchemaVersion);
        QCOMPARE(QString::fromStdString(info.status), QString("finished"));
        QCOMPARE(QString::fromStdString(info.status_message), QString("done"));
        QVERIFY(!info.finished_utc.empty());
        QCOMPARE(QString::fromStdString(info.header.run_id), QString::fromStdString(h.run_id));
        QCOMPARE(QString::fromStdString(info.header.config_json), QString::fromStdString(h.config_json));
        QCOMPARE(info.header.class_names, h.class_names);
        QCOMPARE(info.header.mean, h.mean);
        QCOMPARE(info.header.layer_descriptions, h.layer_descriptions);
        QCOMPARE(info.header.val_count, int64_t(5000));
        QCOMPARE(info.epochs.size(), std::size_t(3));
        QCOMPARE(info.epochs[2].epoch, 3);
        QCOMPARE(info.epochs[1].train_loss, 1.0);
        QCOMPARE(info.epochs[2].test_accuracy, 0.75);
        QVERIFY(std::isnan(info.epochs[0].val_accuracy));
        QCOMPARE(info.steps.size(), std::size_t(30));
        QCOMPARE(info.steps[9].global_step, int64_t(10));
        QCOMPARE(info.steps[9].epoch, 1);
        QCOMPARE(info.steps[9].loss, 0.2);
        QCOMPARE(info.weights_step, int64_t(30));
        QCOMPARE(info.status_step, int64_t(30));
        const auto weights = read_weights(path);
        QCOMPARE(weights.size(), std::size_t(2));
        for (const auto& a : weights) {
            if (a.name == "layers.0.weight") {
                QCOMPARE(a.shape, (std::vector<int64_t>{2, 3}));
                QCOMPARE(a.values, (std::vector<float>{1, 2, 3, 4, 5, 6}));
            } else {
                QVERIFY(a.is_integer);
                QCOMPARE(a.integers, (std::vector<int64_t>{42}));
            }
        }
    }

    void runWithoutWeightsSaysSo() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/run.h5";
        { RunWriter w(path, sample_header()); }
        expect_error([&] { read_weights(path); }, {"run.h5", "no weights"});
    }

    void badFilesGiveClearErrors() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        expect_error([&] { read_run(d + "/missing.h5"); }, {"missing.h5", "not found"});
        write_bytes(d + "/garbage.h5", std::string(5000, 'x'));
        expect_error([&] { read_run(d + "/garbage.h5"); }, {"garbage.h5", "not an HDF5 file"});
        write_bytes(d + "/empty.h5", "");
        expect_error([&] { read_run(d + "/empty.h5"); }, {"empty.h5", "not an HDF5 file"});

        // A foreign HDF5 file.
        const std::string foreign = d + "/foreign.h5";
        hid_t f = H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
        H5Fclose(f);
        expect_error([&] { read_run(foreign); }, {"foreign.h5", "not a NormOut run file"});

        // A run of another schema version.
        const std::string future = d + "/future.h5";
        { RunWriter w(future, sample_header()); }
        f = H5Fopen(future.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
        hid_t space = H5Screate(H5S_SCALAR);
        H5Adelete(f, "schema_version");
        hid_t attr = H5Acreate2(f, "schema_version", H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        long long v = 99;
        H5Awrite(attr, H5T_NATIVE_LLONG, &v);
        H5Aclose(attr);
        H5Sclose(space);
        H5Fclose(f);
        expect_error([&] { read_run(future); }, {"future.h5", "schema version 99"});

        // Truncated copies of a real run file, at many lengths: an error, never a crash.
        const std::string good = d + "/good.h5";
        {
            RunWriter w(good, sample_header());
            EpochRecord r;
            r.epoch = 1;
            w.append_epochs({r});
            w.set_status(RunStatus::Finished, "", 1);
        }
        const std::string bytes = read_bytes(good);
        int errors = 0;
        for (std::size_t keep = 0; keep < bytes.size(); keep += std::max<std::size_t>(1, bytes.size() / 40)) {
            write_bytes(d + "/cut.h5", bytes.substr(0, keep));
            try {
                read_run(d + "/cut.h5");
            } catch (const RunFileError& e) {
                QVERIFY(QString(e.what()).contains("cut.h5"));
                ++errors;
            }
        }
        QVERIFY(errors > 30);
    }

    void analysisTablesAndArrays() {
        QTemporaryDir dir;
        const std::string path = dir.path().toStdString() + "/run.h5";
        {
            RunWriter w(path, sample_header());
            // A live file takes no analysis (it cannot take new objects under SWMR).
            RunHeader h = sample_header();
            QVERIFY_THROWS_EXCEPTION(RunFileError, AnalysisWriter{path});
            w.set_status(RunStatus::Finished, "", 0);
        }
        {
            AnalysisWriter a(path);
            a.append("attacks", {{{{"eps", 0.03}, {"accuracy", 0.5}}, {{"attack", "fgsm"}}},
                                 {{{"eps", 0.06}}, {{"attack", "pgd-ce"}, {"norm", "linf"}}}});
            a.write_array("landscape_1d", {{2, 3}, {1, 2, 3, 4, 5, 6}, {{"axis0", "direction"}}});
            a.commit();
        }
        {
            AnalysisWriter a(path);  // a second session adds a column
            a.append("attacks", {{{{"eps", 0.1}, {"queries", 500}}, {{"attack", "square"}}}});
            a.commit();
        }
        const AnalysisData d = read_analysis(path);
        const auto& rows = d.tables.at("attacks").rows;
        QCOMPARE(rows.size(), std::size_t(3));
        QCOMPARE(rows[0].numbers.at("accuracy"), 0.5);
        QVERIFY(std::isnan(rows[1].numbers.at("accuracy")));
        QCOMPARE(QString::fromStdString(rows[1].texts.at("norm")), QString("linf"));
        QCOMPARE(QString::fromStdString(rows[0].texts.at("norm")), QString(""));
        QCOMPARE(QString::fromStdString(rows[2].texts.at("attack")), QString("square"));
        QCOMPARE(rows[2].numbers.at("queries"), 500.0);
        QVERIFY(std::isnan(rows[0].numbers.at("queries")));
        const auto& a = d.arrays.at("landscape_1d");
        QCOMPARE(a.shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(a.values[5], 6.0);
        QCOMPARE(QString::fromStdString(a.attributes.at("axis0")), QString("direction"));
        QCOMPARE(QString::fromStdString(read_run(path).status), QString("finished"));  // still a readable run
    }

    void creatingInAMissingFolderFailsWithThePath() {
        expect_error([&] { RunWriter w("/nonexistent-folder/x/run.h5", sample_header()); },
                     {"/nonexistent-folder/x/run.h5", "cannot create"});
    }
};

QTEST_APPLESS_MAIN(TestRunFile)
#include "test_runfile.moc"
