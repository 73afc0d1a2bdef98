// Comparing runs and exporting figures (issue: compare, tables, publication figures): seed groups
// give the right mean and deviation; SVG/PDF files hold the legend and axis texts, PNGs have the
// requested size; the runs browser lists real run files; the compare view draws what the files
// hold; `normout-lab export` works with no display.
#include <QFile>
#include <QFileInfo>
#include <QImage>
#include <QProcess>
#include <QSettings>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QXmlStreamReader>
#include <QtTest/QtTest>
#include <cmath>

#include "engine/config/config.h"
#include "engine/config/presets.h"
#include "engine/report/document.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/run_file_instrument.h"
#include "engine/runfile/tables.h"
#include "engine/session/training.h"
#include "plots/figure_export.h"
#include "plots/live_plot.h"
#include "plots/qcp.h"
#include "support/fixtures.h"
#include "support/tiny_run.h"
#include "ui/compare_data.h"
#include "ui/compare_view.h"
#include "ui/dashboard.h"
#include "ui/figure_set.h"
#include "ui/main_window.h"
#include "ui/report_tab.h"
#include "ui/runs_browser.h"
#include "ui/sweep_panel.h"
#include "ui/unit_compare.h"

using namespace normout;
using namespace normout::ui;

namespace {

RunData synthetic_run(const std::string& name, uint64_t seed, double lr, const std::vector<double>& test_acc) {
    RunConfig c = preset_config("quick");
    c.name = name;
    c.train.seed = seed;
    c.train.lr = lr;
    RunData d;
    d.name = name;
    d.path = name + ".h5";
    d.config_json = config_to_json(c);
    for (std::size_t i = 0; i < test_acc.size(); ++i) {
        EpochRecord e;
        e.epoch = static_cast<int>(i + 1);
        e.test_accuracy = test_acc[i];
        d.epochs.push_back(e);
    }
    return d;
}

// The visible text of an SVG file (all character data), or "" when it does not parse.
QString svg_text(const QString& path) {
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly)) return {};
    QXmlStreamReader xml(&f);
    QString text;
    while (!xml.atEnd()) {
        xml.readNext();
        if (xml.isCharacters()) text += xml.text().toString() + QLatin1Char(' ');
    }
    return xml.hasError() ? QString() : text;
}

QString pdf_text(const QString& path) {
    QProcess p;
    p.start("pdftotext", {path, "-"});
    if (!p.waitForFinished(30000) || p.exitCode() != 0) return {};
    return QString::fromUtf8(p.readAllStandardOutput());
}

}  // namespace

class TestFigures : public QObject {
    Q_OBJECT
    QTemporaryDir settings_dir_;
    QTemporaryDir work_;
    QStringList runs_;  // two real run files, trained once

  private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir_.path());
        QCoreApplication::setOrganizationName("NormOutTest");
        QCoreApplication::setApplicationName("normout-figures-test");
        for (double t : {1.0, 100.0}) {
            RunConfig c = normout::test::TinyRun().limits(512, 128).epochs(2).threads(2).config();
            c.model.surgery[0].layer.temperature = t;
            c.evaluate.attacks = "fgsm";
            c.evaluate.attack_n = 64;
            c.evaluate.flatness_n = 64;
            TrainOptions o;
            o.out_path = QStringLiteral("%1/runs/t%2.h5").arg(work_.path()).arg(t).toStdString();
            o.data_roots = {normout::test::fashion_mnist_dir()};
            QCOMPARE(train(c, o).status, RunStatus::Finished);
            runs_ << QString::fromStdString(o.out_path);
        }
    }

    void seedGroupsGiveMeanAndDeviation() {
        const RunData a = synthetic_run("a", 0, 0.02, {0.5, 0.6}), b = synthetic_run("b", 1, 0.02, {0.7, 0.8}),
                      c = synthetic_run("c", 2, 0.02, {0.6, 1.0}), other = synthetic_run("d", 0, 0.1, {0.1, 0.2});
        Metric m;
        m.kind = Metric::Kind::Epoch;
        m.field = "test_accuracy";
        const auto curves = compare({&a, &b, &c, &other}, m, 1.0, true);
        QCOMPARE(curves.size(), std::size_t(2));
        // epoch 1: 0.5, 0.7, 0.6 -> mean 0.6, sample sd 0.1; epoch 2: 0.6, 0.8, 1.0 -> 0.8, 0.2
        QCOMPARE(curves[0].y.size(), 2);
        QVERIFY(std::abs(curves[0].y[0] - 0.6) < 1e-12 && std::abs(curves[0].y[1] - 0.8) < 1e-12);
        QVERIFY(std::abs(curves[0].high[0] - 0.7) < 1e-12 && std::abs(curves[0].low[1] - 0.6) < 1e-12);
        QVERIFY(curves[0].label.contains("3 seeds"));
        QCOMPARE(curves[1].y, QVector<double>({0.1, 0.2}));
        QVERIFY(curves[1].low.isEmpty());
        // Ungrouped: one curve per run.
        QCOMPARE(compare({&a, &b, &c, &other}, m, 1.0, false).size(), std::size_t(4));
        // The differences name the seed and the learning rate, nothing else that is equal.
        QStringList keys;
        for (const auto& [key, values] : differing_settings({&a, &b, &c, &other}))
            keys << key;
        QVERIFY2(keys.contains("train.seed") && keys.contains("train.lr"), qPrintable(keys.join(",")));
        QVERIFY(!keys.contains("train.epochs"));
    }

    void dashboardDrawsFisherRaoWithItsStandardError() {
        RunData d = synthetic_run("flat", 0, 0.02, {0.5, 0.6, 0.7});
        for (int e = 1; e <= 3; ++e) {
            AnalysisRow r;
            r.texts["measure"] = "fisher_rao_empirical";
            r.numbers["epoch"] = e;
            r.numbers["value"] = 100.0 * e;
            r.numbers["standard_error"] = 5.0 * e;
            d.analysis.tables["flatness"].rows.push_back(r);
        }
        Dashboard dash;
        dash.show_run(&d);
        dash.refresh_now();
        const auto* p = dash.flatness_plot();
        QCOMPARE(p->series_count(), 1);
        QCOMPARE(p->series_x(0), QVector<double>({1, 2, 3}));  // one point per epoch: a curve
        QCOMPARE(p->series_y(0), QVector<double>({100, 200, 300}));
        QCOMPARE(p->band(0, false), QVector<double>({95, 190, 285}));
        QCOMPARE(p->band(0, true), QVector<double>({105, 210, 315}));
    }

    void compareKeepsALightCopyOfLongRuns() {
        RunData d = synthetic_run("long", 0, 0.02, {0.5, 0.6, 0.7});
        for (int layer : {48, 51}) {
            for (int64_t g = 1; g <= 10001; ++g) {
                LayerStepStats r;
                r.global_step = g;
                r.layer = layer;
                r.output.mean = static_cast<double>(g);
                d.layer_steps[layer].push_back(r);
            }
            for (int e = 1; e <= 3; ++e) {
                LayerEpochSnapshot s;
                s.epoch = e;
                s.layer = layer;
                s.neuron_mean.assign(16, static_cast<float>(e));
                d.layer_epochs[layer].push_back(s);
            }
        }
        thin_for_compare(d, 1000);
        for (int layer : {48, 51}) {
            const auto& rows = d.layer_steps.at(layer);
            QVERIFY(rows.size() <= 1000 && rows.size() >= 900);
            QCOMPARE(rows.front().global_step, int64_t(1));
            QCOMPARE(rows.back().global_step, int64_t(10001));  // the last value is never lost
            for (std::size_t i = 1; i + 1 < rows.size(); ++i)   // evenly spaced
                QCOMPARE(rows[i].global_step - rows[i - 1].global_step, rows[1].global_step - rows[0].global_step);
            QCOMPARE(d.layer_epochs.at(layer).size(), std::size_t(1));
            QCOMPARE(d.layer_epochs.at(layer).front().epoch, 3);
        }
        QCOMPARE(d.epochs.size(), std::size_t(3));  // epoch rows are all kept
    }

    void exportsHoldLegendAxisTextAndSize() {
        std::unique_ptr<QCustomPlot> plot(make_print_plot("training epoch", "robust accuracy"));
        QCPGraph* g = plot->addGraph();
        g->setName("SpatialMax at 48");
        g->setData(QVector<double>{1, 2, 3}, QVector<double>{0.2, 0.4, 0.5});
        plot->legend->setVisible(true);
        plots::ExportOptions o;
        o.width_mm = 85;
        o.height_mm = 60;
        o.dpi = 200;
        const QString base = work_.path() + "/figure";
        for (const char* ext : {".svg", ".pdf", ".png"})
            QCOMPARE(plots::export_plot(plot.get(), base + ext, o), QString());
        const QString svg = svg_text(base + ".svg");
        QVERIFY2(!svg.isEmpty(), "the SVG parses");
        for (const char* t : {"SpatialMax at 48", "training epoch", "robust accuracy"})
            QVERIFY2(svg.contains(t), t);
        const QString pdf = pdf_text(base + ".pdf");
        for (const char* t : {"SpatialMax at 48", "training epoch", "robust accuracy"})
            QVERIFY2(pdf.contains(t), t);
        const QImage png(base + ".png");
        QVERIFY2(std::abs(png.width() - 85 / 25.4 * 200) <= 1.0, qPrintable(QString::number(png.width())));
        QVERIFY2(std::abs(png.height() - 60 / 25.4 * 200) <= 1.0, qPrintable(QString::number(png.height())));
        QVERIFY(plots::export_plot(plot.get(), work_.path() + "/no/such/dir/f.svg", o).contains("f.svg"));
    }

    void browserListsRunsAndTheCompareViewDrawsThem() {
        QFile junk(work_.path() + "/runs/junk.h5");
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.write("not an HDF5 file");
        junk.close();
        MainWindow w;
        RunsBrowser* b = w.runs_browser();
        b->set_folder(work_.path() + "/runs");
        b->rescan_now();
        QCOMPARE(b->visible_rows(), 3);
        QStringList statuses;
        for (int r = 0; r < 3; ++r)
            statuses << b->view()->model()->index(r, 1).data().toString();
        QCOMPARE(statuses.count("finished"), 2);
        QCOMPARE(statuses.count("unreadable"), 1);
        b->set_filter("junk");
        QCOMPARE(b->visible_rows(), 1);
        b->set_filter(QString());
        QList<int> real;
        for (int r = 0; r < 3; ++r)
            if (!b->path_at(r).endsWith("junk.h5")) real << r;
        b->select_rows(real);
        QCOMPARE(b->selected_paths().size(), 2);

        w.compare_runs(b->selected_paths());
        CompareView* v = w.compare_view();
        QCOMPARE(v->run_count(), 2);
        // Test accuracy is selected first: each curve equals the file's epochs.
        const auto* curves = v->curves();
        QCOMPARE(curves->series_count(), 2);
        for (int s = 0; s < 2; ++s) {
            const RunInfo info = read_run(b->selected_paths()[s].toStdString());
            // The labels name what differs: the temperature.
            QVERIFY2(curves->series_name(s).contains("temperature"), qPrintable(curves->series_name(s)));
            QVector<double> expected;
            for (const auto& e : info.epochs)
                expected << e.test_accuracy;
            bool found = false;
            for (int t = 0; t < 2; ++t)
                found |= curves->series_y(t) == expected;
            QVERIFY(found);
        }
        // The differences table names the temperature.
        bool names_temperature = false;
        for (int r = 0; r < v->differences()->rowCount(); ++r)
            names_temperature |= v->differences()->verticalHeaderItem(r)->text().contains("temperature");
        QVERIFY(names_temperature);
        // Both runs measured Fisher-Rao and FGSM: two scatter points.
        QCOMPARE(v->scatter()->series_count(), 2);
        // The table view is the engine's table of these files.
        v->set_table("accuracy", "csv");
        std::vector<std::string> paths;
        for (const QString& p : b->selected_paths())
            paths.push_back(p.toStdString());
        QCOMPARE(v->table_text(), QString::fromStdString(to_csv(build_table(paths, TableKind::Accuracy))));

        // Units: one unit of a shared layer, overlaid: each run's curve is that unit's last-epoch
        // histogram from its file, as fractions of its values.
        UnitCompare* u = v->units();
        QVERIFY(u->layer_box()->count() >= 1);
        const int layer = u->layer_box()->itemData(0).toInt();
        u->select(layer, 3, -1);
        QCOMPARE(u->histograms()->series_count(), 2);
        for (int s = 0; s < 2; ++s) {
            const std::string path = paths[static_cast<std::size_t>(s)];
            const UnitHistograms h = read_unit_histograms(path, layer, unit_histogram_epochs(path, layer).back());
            double total = 0;
            for (int k = 0; k < h.bins + 3; ++k)
                total += h.unit(3)[k];
            QVector<double> expected;
            for (int b = 0; b < h.bins; ++b)
                expected << h.unit(3)[b + 2] / total;
            bool found = false;
            for (int t = 0; t < 2; ++t)
                found |= u->histograms()->series_y(t) == expected;
            QVERIFY2(found, qPrintable(u->note()));
            QVERIFY2(u->histograms()->series_name(s).contains("temperature"),
                     qPrintable(u->histograms()->series_name(s)));
        }
        QCOMPARE(u->keep_histograms()->series_count(), 2);  // the surgery layer is NormOut

        // Report: the claims tested on the compared runs, as `normout report` tests them; two
        // quick-preset runs are none of the claims' configurations, so every claim is not tested
        // and says which runs it needs; the saved HTML and PDF are the engine's report.
        ReportTab* report = v->report();
        QVERIFY(report->build());
        const QString summary = report->summary_html();
        QVERIFY2(summary.contains("not tested") && summary.contains("thesis/claims"), qPrintable(summary));
        const QString html = work_.path() + "/report.html", pdf = work_.path() + "/report.pdf";
        QCOMPARE(report->save_html(html), QString());
        QFile hf(html);
        QVERIFY(hf.open(QIODevice::ReadOnly));
        const QString page = QString::fromUtf8(hf.readAll());
        QVERIFY(page.contains("Table 3.1") && page.contains(QFileInfo(QString::fromStdString(paths[0])).fileName()));
        if (report_pdf_available()) {
            QCOMPARE(report->save_pdf(pdf), QString());
            QVERIFY(pdf_text(pdf).contains("Table 3.6"));
        }
        QVERIFY(!report->save_html(work_.path() + "/missing-folder/report.html").isEmpty());
    }

    void sweepRunsFromTheLab() {
        // A two-run sweep started in the Sweeps tab: its status table fills in, the runs browser
        // follows its folder, and its finished runs open in the Compare view.
        const QString spec = work_.path() + "/lr.json";
        QFile f(spec);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(R"({"name": "lr", "preset": "quick", "grid": {"train.lr": [0.02, 0.05]}})");
        f.close();
        MainWindow w;
        SweepPanel* p = w.sweep_panel();
        const QString folder = work_.path() + "/sweep";
        p->set_spec(spec);
        p->set_folder(folder);
        p->set_overrides(normout::test::TinyRun()
                             .limits(256, 64)
                             .batch_size(32)
                             .threads(1)
                             .without_evaluation()
                             .data_path(normout::test::fashion_mnist_dir())
                             .line());
        QSignalSpy done(p, &SweepPanel::sweep_finished);
        p->start();
        QVERIFY(p->running());
        QVERIFY(done.wait(240000));
        QCOMPARE(done.front().front().toInt(), 0);
        p->refresh_now();
        QCOMPARE(p->status_table()->rowCount(), 2);
        for (int r = 0; r < 2; ++r)
            QCOMPARE(p->status_table()->item(r, 2)->text(), QString("finished"));
        QCOMPARE(p->finished_files().size(), 2);
        QCOMPARE(w.runs_browser()->folder(), folder);
        w.runs_browser()->rescan_now();
        QCOMPARE(w.runs_browser()->visible_rows(), 2);
        w.compare_runs(p->finished_files());
        QCOMPARE(w.compare_view()->run_count(), 2);
    }

    // The figure set has the runs' extra series: robust accuracy, penalties, and the schedules of
    // layers that have one; a constant layer (every NormOut run records its T) gets no figure.
    void figureSetDrawsExtraSeries() {
        RunConfig c = preset_config("quick");
        LayerSpec& t = c.model.surgery.at(0).layer;  // temporal-softmax at 48 and 51
        t.schedule = "linear";
        t.schedule_to = 1;
        t.schedule_until = 2;
        RunData d = synthetic_run("scheduled", 0, 0.02, {0.5, 0.6, 0.7});
        d.config_json = config_to_json(c);
        d.epoch_extra = {"robust_accuracy", "penalty_l1_48", "layer48_active", "layer48_temperature"};
        const double temperatures[] = {100, 50.5, 1};
        for (std::size_t i = 0; i < d.epochs.size(); ++i)
            d.epochs[i].extra = {0.1 * static_cast<double>(i + 1), 1e-4, 1.0, temperatures[i]};
        FigureSetOptions o;
        o.kinds = {"svg"};
        const QString out = work_.path() + "/extra-figures";
        const QStringList files = export_figure_set({&d}, out, o);
        for (const char* f :
             {"robust_accuracy.svg", "penalty_l1_48.svg", "layer48_temperature.svg", "layer48_active.svg"})
            QVERIFY2(files.contains(out + "/" + f), f);
        QFile csv(out + "/layer48_temperature.csv");
        QVERIFY(csv.open(QIODevice::ReadOnly));
        const QStringList rows = QString::fromUtf8(csv.readAll()).split('\n', Qt::SkipEmptyParts);
        QCOMPARE(rows.size(), 4);  // header and three epochs
        QVERIFY2(rows[1].endsWith(",1,100") && rows[2].endsWith(",2,50.5") && rows[3].endsWith(",3,1"),
                 qPrintable(rows.join('\n')));
        QVERIFY(svg_text(out + "/layer48_temperature.svg").contains("layer48 temperature"));

        // The trained runs' layers keep T = 1 or 100 throughout: no schedule figures for them.
        std::vector<RunData> trained;
        for (const QString& r : runs_)
            trained.push_back(load_run_data(r.toStdString()));
        const QString plain_out = work_.path() + "/plain-figures";
        for (const QString& f : export_figure_set({&trained[0], &trained[1]}, plain_out, o))
            QVERIFY2(!QFileInfo(f).fileName().startsWith("layer"), qPrintable(f));
    }

    void headlessExportNeedsNoDisplay() {
        const QString lab = qEnvironmentVariable("NORMOUT_LAB");
        QVERIFY2(QFile::exists(lab), "NORMOUT_LAB must point at the normout-lab binary");
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        for (const char* var : {"DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"})
            env.remove(var);
        p.setProcessEnvironment(env);
        const QString out = work_.path() + "/figures";
        p.start(lab, QStringList{"export"} + runs_ + QStringList{"--figures", out, "--size", "120x80", "--dpi", "150"});
        QVERIFY(p.waitForFinished(120000));
        QVERIFY2(p.exitCode() == 0, p.readAllStandardError().constData());
        const QStringList files = QString::fromUtf8(p.readAllStandardOutput()).split('\n', Qt::SkipEmptyParts);
        QVERIFY(files.size() >= 9);
        int svgs = 0, pdfs = 0;
        for (const QString& f : files) {
            QVERIFY2(QFile::exists(f), qPrintable(f));
            if (f.endsWith(".svg")) {
                ++svgs;
                QVERIFY2(!svg_text(f).isEmpty(), qPrintable(f));
            }
            if (f.endsWith(".pdf")) ++pdfs;
            // To the pixel: the plot is laid out in whole points, then scaled by dpi / 72.
            if (f.endsWith(".png")) QVERIFY(std::abs(QImage(f).width() - 120 / 25.4 * 150) <= 1.0);
        }
        QVERIFY(svgs >= 3 && svgs == pdfs);
        // Bad input: a clear message and a non-zero exit.
        p.start(lab, {"export", work_.path() + "/missing.h5", "--figures", out});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("missing.h5"));

        // A chosen unit's figures: the overlay names each run; a unit the layer lacks is an error.
        const QString units_out = work_.path() + "/unit-figures";
        p.start(lab, {"export", runs_[0], runs_[1], "--figures", units_out, "--formats", "pdf", "--unit", "48:3"});
        QVERIFY(p.waitForFinished(120000));
        QCOMPARE(p.exitCode(), 0);
        for (const char* f :
             {"unit_layer48_unit3_histogram.pdf", "unit_layer48_unit3_keep.pdf", "unit_layer48_unit3_epochs_run1.pdf",
              "unit_layer48_unit3_epochs_run2.pdf", "unit_layer48_unit3_histogram.csv"})
            QVERIFY2(QFile::exists(units_out + "/" + f), f);
        const QString legend = pdf_text(units_out + "/unit_layer48_unit3_histogram.pdf");
        QVERIFY2(legend.contains("temperature=1.0") && legend.contains("temperature=100.0"), qPrintable(legend));
        p.start(lab, {"export", runs_[0], "--figures", units_out, "--unit", "48:100000"});
        QVERIFY(p.waitForFinished(60000));
        QVERIFY(p.exitCode() != 0);
        QVERIFY(QString::fromUtf8(p.readAllStandardError()).contains("no unit 100000"));
    }
};

QTEST_MAIN(TestFigures)
#include "test_figures.moc"
