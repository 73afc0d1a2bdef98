// The Qt lab on the offscreen platform: settings validated before Start, a run started in the
// window streams into the plots and stops cleanly, a run written by another process appears
// live, the inspector shows recorded per-neuron data, stopped runs resume. Settings sandboxed.
#include <QAction>
#include <QCheckBox>
#include <QComboBox>
#include <QElapsedTimer>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QListWidget>
#include <QProcess>
#include <QSettings>
#include <QSlider>
#include <QSpinBox>
#include <QStandardPaths>
#include <QTabWidget>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>
#include <vector>

#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "engine/config/schedule.h"
#include "engine/data/prepare.h"
#include "engine/runfile/notable_units.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/run_file_instrument.h"
#include "engine/session/training.h"
#include "engine/version.h"
#include "plots/live_plot.h"
#include "plots/qcp.h"
#include "plots/replot_queue.h"
#include "support/cli_runner.h"
#include "support/fixtures.h"
#include "support/run_header.h"
#include "support/time_scale.h"
#include "support/tiny_run.h"
#include "ui/config_panel.h"
#include "ui/dashboard.h"
#include "ui/main_window.h"
#include "ui/neuron_inspector.h"
#include "ui/run_watcher.h"
#include "ui/surgery_editor.h"
#include "ui/training_controller.h"
#include "ui/unit_source.h"

using namespace normout;
using namespace normout::ui;

namespace {

// Settings of a run that trains in seconds on two cores.
void make_tiny(ConfigPanel* panel, int epochs) {
    panel->select_preset("quick");
    // One thread leaves a core to the GUI thread.
    for (const auto& setting : test::TinyRun().limits(2048, 256).batch_size(32).epochs(epochs).threads(1).settings()) {
        const auto eq = setting.find('=');
        panel->set_text(QString::fromStdString(setting.substr(0, eq)), QString::fromStdString(setting.substr(eq + 1)));
    }
}

int total_points(plots::LivePlot* plot) {
    int n = 0;
    for (int s = 0; s < plot->series_count(); ++s)
        n += plot->series_x(s).size();
    return n;
}

// The most replots a 40 ms throttle (LivePlot, NeuronInspector: request, single-shot timer, replot
// when it fires) can make in `elapsed_ms` of counting. A replot happens only when its timer fires,
// and a new timer starts only on a request after the previous one fired, so consecutive replots
// are at least one timer interval apart. That interval is 40 ms less what Qt may shorten it by:
// the default (coarse) timers are aligned with each other by up to 5%, so 38 ms. The first
// replot in the window may come at once (its timer was started before counting began), and the
// clock reads whole milliseconds (the true time is under elapsed_ms + 1). Hence at most
// 1 + (elapsed_ms + 1) / 38 replots: the cap elapsed_ms/40 plus a slack of one replot and 5%.
int max_replots(qint64 elapsed_ms) {
    return 1 + static_cast<int>((elapsed_ms + 1) / 38);
}

// Replots of every plot of the dashboard and redraws of the inspector: what the throttles cap.
struct RedrawCounts {
    QVector<int> plots;
    int inspector = 0;
};

QVector<plots::LivePlot*> live_plots(Dashboard* d) {
    return {d->loss_plot(),   d->accuracy_plot(), d->layer_plot(),    d->keep_plot(),
            d->attack_plot(), d->flatness_plot(), d->schedule_plot(), d->penalty_plot()};
}

RedrawCounts redraw_counts(MainWindow& w) {
    RedrawCounts c;
    for (plots::LivePlot* p : live_plots(w.dashboard()))
        c.plots << p->replot_count();
    c.inspector = w.inspector()->redraw_count();
    return c;
}

// Asserts the 25-per-second cap over `elapsed_ms` since `before` was counted.
void verify_replot_cap(MainWindow& w, const RedrawCounts& before, qint64 elapsed_ms) {
    const RedrawCounts after = redraw_counts(w);
    const int cap = max_replots(elapsed_ms);
    const QVector<plots::LivePlot*> plots = live_plots(w.dashboard());
    for (int i = 0; i < plots.size(); ++i) {
        const int n = after.plots[i] - before.plots[i];
        QVERIFY2(n <= cap, qPrintable(QString("%1: %2 replots in %3 ms (cap %4)")
                                          .arg(plots[i]->objectName())
                                          .arg(n)
                                          .arg(elapsed_ms)
                                          .arg(cap)));
    }
    const int n = after.inspector - before.inspector;
    QVERIFY2(n <= cap, qPrintable(QString("inspector: %1 redraws in %2 ms (cap %3)").arg(n).arg(elapsed_ms).arg(cap)));
}

int series_named(plots::LivePlot* plot, const QString& name) {
    for (int s = 0; s < plot->series_count(); ++s)
        if (plot->series_name(s) == name) return s;
    return -1;
}

// A series of the loss plot holds, point by point, the steps' global step on the dashboard's
// epoch axis (step k at k / steps per epoch) and their loss, exactly.
void verify_step_series(plots::LivePlot* loss, int series, const std::vector<StepRecord>& steps, double per_epoch) {
    const QVector<double> x = loss->series_x(series), y = loss->series_y(series);
    QCOMPARE(x.size(), static_cast<int>(steps.size()));
    QCOMPARE(y.size(), static_cast<int>(steps.size()));
    for (int i = 0; i < x.size(); ++i) {
        const StepRecord& s = steps[static_cast<std::size_t>(i)];
        const double step = static_cast<double>(s.global_step);
        QVERIFY2(std::abs(x[i] - step / per_epoch) <= 1e-12 && std::llround(x[i] * per_epoch) == s.global_step,
                 qPrintable(QString("series %1 point %2: x %3 for step %4").arg(series).arg(i).arg(x[i]).arg(step)));
        QVERIFY2(y[i] == s.loss, qPrintable(QString("series %1 step %2: loss %3 plotted, %4 recorded")
                                                .arg(series)
                                                .arg(s.global_step)
                                                .arg(y[i], 0, 'g', 17)
                                                .arg(s.loss, 0, 'g', 17)));
    }
}

// The dashboard's loss curve is the run's per-step losses. Its per-step graphs are the raw series
// (unnamed, drawn faintly; the "raw" box is on by default) and "train (steps)", their moving
// average, which with the smoothing slider at 0 (weight 1) is the raw losses themselves.
void verify_loss_curve(MainWindow& w, const std::vector<StepRecord>& steps) {
    Dashboard* d = w.dashboard();
    plots::LivePlot* loss = d->loss_plot();
    QCheckBox* raw_box = nullptr;
    for (QCheckBox* c : d->findChildren<QCheckBox*>())
        if (c->text() == "raw") raw_box = c;
    QVERIFY(raw_box && raw_box->isChecked());
    // The last update's refresh (at most 100 ms behind) has happened once the raw series has them all.
    QTRY_VERIFY_WITH_TIMEOUT(series_named(loss, QString()) >= 0 &&
                                 loss->series_x(series_named(loss, QString())).size() == static_cast<int>(steps.size()),
                             5000);
    // The dashboard's step-to-epoch scale: steps per epoch from the engine, else as recorded.
    const RunData& r = w.shown_run();
    const double per_epoch = r.steps_per_epoch > 0 ? static_cast<double>(r.steps_per_epoch)
                             : (!r.epochs.empty() && !r.steps.empty())
                                 ? static_cast<double>(r.steps.size()) / static_cast<double>(r.epochs.size())
                                 : 1.0;
    verify_step_series(loss, series_named(loss, QString()), steps, per_epoch);
    if (QTest::currentTestFailed()) return;
    QSlider* smoothing = d->findChild<QSlider*>();  // the dashboard's one slider
    QVERIFY(smoothing);
    smoothing->setValue(0);  // rebuilds the plots at once
    QCOMPARE(d->smoothing(), 1.0);
    const int smoothed = series_named(loss, "train (steps)");
    QVERIFY(smoothed >= 0);
    verify_step_series(loss, smoothed, steps, per_epoch);
}

// Gaps between ticks of a 5 ms timer on the GUI thread, in wall-clock time (what a user waits)
// and in the GUI thread's CPU time (the work the lab did in that gap). On a shared 2-core VM the
// wall gaps also hold time the thread was ready but another thread or the hypervisor had the
// core (17-50 ms seen with the GUI thread 6% busy); the CPU time does not.
class StallMeter : public QObject {
  public:
    StallMeter() {
        clock_.start();
        cpu_ = thread_cpu_ms();
        timer_.setTimerType(Qt::PreciseTimer);
        timer_.setInterval(5);
        connect(&timer_, &QTimer::timeout, this, [this] {
            const double cpu = thread_cpu_ms();
            worst_cpu_ = std::max(worst_cpu_, cpu - cpu_);
            cpu_ = cpu;
            wall_.push_back(clock_.restart());
        });
        timer_.start();
    }
    // Runs a test-driven action (a tab switch, a click) with the meter stopped: it runs between
    // two ticks, and what it costs is a user action's latency, not a stall while training.
    template <class F>
    void outside(F&& action) {
        timer_.stop();
        action();
        cpu_ = thread_cpu_ms();
        clock_.restart();
        timer_.start();
    }
    qint64 worst() const { return wall_.empty() ? 0 : *std::max_element(wall_.begin(), wall_.end()); }
    double worst_cpu() const { return worst_cpu_; }
    // The wall gap that `q` of all gaps do not exceed.
    qint64 percentile(double q) const {
        if (wall_.empty()) return 0;
        std::vector<qint64> sorted = wall_;
        std::sort(sorted.begin(), sorted.end());
        return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
    }
    std::size_t gaps() const { return wall_.size(); }

  private:
    static double thread_cpu_ms() {
        timespec t{};
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
        return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
    }
    QTimer timer_;
    QElapsedTimer clock_;
    double cpu_ = 0, worst_cpu_ = 0;
    std::vector<qint64> wall_;
};

// The quick preset with a schedule at 48 (temporal-softmax, acting from epoch index 1, T from
// 100 down to 1 linearly over epochs 0..2) and a constant Dropout at 51: only 48 is scheduled.
RunConfig scheduled_config(int epochs) {
    RunConfig c = preset_config("quick");
    c.train.epochs = epochs;
    LayerSpec t;
    t.variant = "temporal-softmax";
    t.temperature = 100;
    t.active_from = 1;
    t.schedule = "linear";
    t.schedule_to = 1;
    t.schedule_from = 0;
    t.schedule_until = 2;
    LayerSpec d;
    d.type = "dropout";
    d.p = 0.5;
    c.model.surgery = {SurgeryOp{"replace", {48}, t}, SurgeryOp{"replace", {51}, d}};
    c.train.penalties = {PenaltySpec{48, 1e-3, 0}};
    return c;
}

// The extras a run of scheduled_config() records (as the training loop names them).
const std::vector<std::string> kStepExtra = {"penalty_l1_48", "penalty_l2_48", "objective", "robust_accuracy"};
const std::vector<std::string> kEpochExtra = {"penalty_l1_48",   "penalty_l2_48",  "objective",
                                              "robust_accuracy", "layer48_active", "layer48_temperature",
                                              "layer51_active",  "layer51_p"};

// Three epochs of two steps with made-up values; the schedule columns follow the configuration.
void fill_extras(const RunConfig& c, std::vector<StepRecord>& steps, std::vector<EpochRecord>& epochs) {
    const auto table = layer_table(c.model, 1, 10);
    for (int e = 1; e <= 3; ++e) {
        for (int k = 1; k <= 2; ++k) {
            StepRecord s;
            s.global_step = 2 * (e - 1) + k;
            s.epoch = e;
            s.loss = 2.0 / s.global_step;
            s.accuracy = 0.1 * s.global_step;
            s.extra = {1e-3 * s.global_step, 0.0, s.loss + 1e-3 * s.global_step, 0.05 * s.global_step};
            steps.push_back(s);
        }
        EpochRecord r;
        r.epoch = e;
        r.train_accuracy = 0.2 * e;
        const LayerSpec& t = table[48].custom;
        const LayerSpec& d = table[51].custom;
        r.extra = {1.5e-3 * e,
                   0.0,
                   1.0 / e,
                   0.1 * e,
                   layer_active(t, e - 1) ? 1.0 : 0.0,
                   scheduled_value(t, e - 1),
                   layer_active(d, e - 1) ? 1.0 : 0.0,
                   scheduled_value(d, e - 1)};
        epochs.push_back(r);
    }
}

// Asserts that a plot has a series of this name with exactly these points.
void verify_series(plots::LivePlot* plot, const QString& name, const QVector<double>& x, const QVector<double>& y) {
    const int s = series_named(plot, name);
    QVERIFY2(s >= 0, qPrintable(plot->objectName() + ": no series " + name));
    QCOMPARE(plot->series_x(s), x);
    QCOMPARE(plot->series_y(s), y);
}

// The dashboard's plots of scheduled_config()'s extras, as fill_extras() made them.
void verify_extra_plots(Dashboard& dash) {
    plots::LivePlot* schedule = dash.schedule_plot();
    QVERIFY(!schedule->isHidden());
    // Epoch e spans (e - 1, e] on the axis: each value is held over its epoch.
    verify_series(schedule, "layer 48 active", {0, 1, 2, 3}, {0, 1, 1, 1});
    QVERIFY(schedule->is_span(series_named(schedule, "layer 48 active")));
    verify_series(schedule, "layer 48 T", {0, 1, 2, 3}, {100, 50.5, 1, 1});
    // The configuration's plan for the epochs still to come (4 and 5 of 5), dashed.
    verify_series(schedule, "layer 48 T planned", {3, 4, 5}, {1, 1, 1});
    for (int s = 0; s < schedule->series_count(); ++s)  // the constant Dropout needs no curve
        QVERIFY2(!schedule->series_name(s).contains("layer 51"), qPrintable(schedule->series_name(s)));
    QCOMPARE(schedule->plot()->yAxis->label(), QString("temperature T"));
    plots::LivePlot* penalties = dash.penalty_plot();
    QVERIFY(!penalties->isHidden());
    verify_series(penalties, "layer 48 L1 (epoch)", {1, 2, 3}, {1.5e-3 * 1, 1.5e-3 * 2, 1.5e-3 * 3});
    QCOMPARE(penalties->series_x(series_named(penalties, "layer 48 L1")).size(), 6);
    QCOMPARE(series_named(penalties, "layer 48 L2"), -1);  // weight 0: not drawn
    QVERIFY(penalties->log_y());
    verify_series(dash.accuracy_plot(), "robust train (epoch)", {1, 2, 3}, {0.1, 0.2, 0.1 * 3});
    QCOMPARE(dash.accuracy_plot()->series_x(series_named(dash.accuracy_plot(), "robust train (steps)")),
             QVector<double>({0.5, 1, 1.5, 2, 2.5, 3}));
    verify_series(dash.loss_plot(), "objective (epoch)", {1, 2, 3}, {1, 0.5, 1.0 / 3});
}

}  // namespace

class TestLab : public QObject {
    Q_OBJECT
    QTemporaryDir settings_dir_;
    QTemporaryDir work_;

  private Q_SLOTS:
    void initTestCase() {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setDefaultFormat(QSettings::IniFormat);
        QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir_.path());
        QCoreApplication::setOrganizationName("NormOutTest");
        QCoreApplication::setApplicationName("normout-lab-test");
        normout::test::fashion_mnist_dir();  // fails clearly when missing
    }

    // Help > About names the LibTorch in use and what it says of CUDA (a version or "CPU only").
    void aboutNamesLibTorchAndCuda() {
        const QString about = MainWindow::about_text();
        QVERIFY2(about.contains(QString::fromStdString(torch_version())), qPrintable(about));
        QVERIFY2(about.contains(QString::fromStdString(device_summary()).toHtmlEscaped()), qPrintable(about));
        const QString cuda = QString::fromStdString(cuda_version());
        QVERIFY(cuda == "none" ? about.contains("CPU only") : about.contains("CUDA " + cuda));
    }

    void validationRejectsBadSettingsBeforeStart() {
        MainWindow w;
        ConfigPanel* panel = w.config_panel();
        QVERIFY(panel->valid());
        QVERIFY(w.start_action()->isEnabled());
        panel->set_text("train.lr", "-1");
        QVERIFY(!panel->valid());
        QCOMPARE(panel->error_field(), QString("train.lr"));
        QVERIFY(!w.start_action()->isEnabled());
        QVERIFY(!panel->editor("train.lr")->styleSheet().isEmpty());  // highlighted
        panel->set_text("train.lr", "0.01");
        QVERIFY(panel->valid());
        QVERIFY(w.start_action()->isEnabled());
        panel->set_text("train.epochs", "many");
        QCOMPARE(panel->error_field(), QString("train.epochs"));
        panel->set_text("train.epochs", "3");
        panel->set_text(
            "model.surgery",
            R"([{"op":"replace","at":[48],"layer":{"type":"normout","variant":"temporal-softmax","temperature":0}}])");
        // The surgery editor cannot even hold T <= 0: its spin box stops at 0.001.
        QVERIFY(panel->valid());
        QCOMPARE(panel->config().model.surgery.at(0).layer.temperature, 0.001);
        panel->set_text("model.surgery", R"([{"op":"replace","at":[99],"layer":{"type":"dropout"}}])");
        QVERIFY(!panel->valid());
        QCOMPARE(panel->error_field(), QString("model.surgery[0].at"));
        QVERIFY(panel->error().contains("index 99 is not in the model"));
        QVERIFY(!w.start_action()->isEnabled());
        w.start_training();  // refused while invalid
        QVERIFY(!w.controller()->running());
        panel->select_preset("thesis/dropout-48-51");
        QVERIFY(panel->valid());
        QCOMPARE(panel->config().model.surgery.size(), std::size_t(1));  // one op: Dropout at 48 and 51
        QCOMPARE(panel->config().model.surgery.at(0).at, std::vector<int>({48, 51}));
    }

    void runStartedInTheWindowStreamsAndStops() {
        MainWindow w;
        w.show();
        QVERIFY(QTest::qWaitForWindowExposed(&w));  // the window's first paint is not training's
        make_tiny(w.config_panel(), 40);
        const QString path = work_.path() + "/window-run.h5";
        w.config_panel()->set_run_path(path);
        const RedrawCounts redraws_before = redraw_counts(w);  // counted and timed together
        QElapsedTimer start_clock;
        start_clock.start();
        w.start_training();
        const qint64 start_ms = start_clock.elapsed();
        StallMeter stalls;  // from here on the training thread runs
        QVERIFY(w.controller()->running());
        // Steps reach the plots (checked through their data).
        QTRY_VERIFY_WITH_TIMEOUT(total_points(w.dashboard()->loss_plot()) > 40, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(total_points(w.dashboard()->layer_plot()) > 20, 30000);
        // Shown, the inspector follows the epoch in progress: its per-unit histograms so far. It
        // stays shown across the epoch's end, when the selected unit's heat map gains the epoch.
        stalls.outside([&] { w.tabs()->setCurrentWidget(w.inspector()); });
        QTRY_VERIFY_WITH_TIMEOUT(w.inspector()->showing_epoch_in_progress(), 30000);
        stalls.outside([&] { w.inspector()->select_unit(0); });
        QVERIFY(w.inspector()->showing_epoch_in_progress() ? !w.inspector()->neuron_histogram().isEmpty() : true);
        QTRY_VERIFY_WITH_TIMEOUT(!w.shown_run().epochs.empty(), 60000);  // an epoch: test accuracy appears
        QTRY_VERIFY_WITH_TIMEOUT(w.inspector()->heatmap_epochs() >= 1 && w.inspector()->showing_epoch_in_progress(),
                                 10000);
        stalls.outside([&] { w.tabs()->setCurrentWidget(w.dashboard()); });
        QTRY_VERIFY_WITH_TIMEOUT(total_points(w.dashboard()->accuracy_plot()) > 0, 5000);
        // The loss curve is the run's per-step losses.
        const auto& steps = w.shown_run().steps;
        QVERIFY(!steps.empty());
        // Pause: no step is taken while paused.
        w.pause_action()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("paused"), 10000);
        const std::size_t frozen = w.shown_run().steps.size();
        QTest::qWait(800);
        QVERIFY(w.shown_run().steps.size() <= frozen + 1);
        w.pause_action()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(w.shown_run().steps.size() > frozen + 2, 20000);
        // Stop leaves a valid, stopped, resumable file.
        w.stop_action()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->running(), 30000);
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("stopped"), 5000);
        const RunInfo info = read_run(path.toStdString());
        QCOMPARE(QString::fromStdString(info.status), QString("stopped"));
        QVERIFY(info.steps.size() >= w.shown_run().steps.size() - 1);
        // However fast updates came, the plots replotted at most 25 times a second.
        verify_replot_cap(w, redraws_before, start_clock.elapsed());
        if (QTest::currentTestFailed()) return;
        QVERIFY(w.inspector()->redraw_count() > redraws_before.inspector);  // it did redraw, coalesced
        qInfo(
            "start_training took %lld ms; event-loop gaps while training (%zu): 99th percentile %lld ms, worst %lld "
            "ms, worst GUI-thread work in one gap %.1f ms; in %lld ms %d loss-plot replots, %d inspector redraws",
            start_ms, stalls.gaps(), stalls.percentile(0.99), stalls.worst(), stalls.worst_cpu(), start_clock.elapsed(),
            w.dashboard()->loss_plot()->replot_count() - redraws_before.plots[0],
            w.inspector()->redraw_count() - redraws_before.inspector);
        // The lab never works 50 ms on the GUI thread without returning to the event loop; nearly
        // every tick comes on time; nothing (a lock held by training, a file read) blocks it long.
        const double scale = normout::test::time_scale();
        QVERIFY2(stalls.worst_cpu() < 50 * scale, qPrintable(QString::number(stalls.worst_cpu())));
        QVERIFY2(stalls.percentile(0.99) < 50 * scale, qPrintable(QString::number(stalls.percentile(0.99))));
        QVERIFY2(stalls.worst() < 250 * scale, qPrintable(QString::number(stalls.worst())));
    }

    void runWrittenByAnotherProcessAppearsLive() {
        const QString path = work_.path() + "/other-process.h5";
        const test::CliRunner cli;  // alive until the writer has finished
        QProcess writer;
        cli.start(writer, QStringList{"train", "--preset", "quick"} +
                              test::TinyRun().limits(2048, 256).batch_size(32).epochs(4).threads(1).args() +
                              QStringList{"--set", "record.flush_seconds=0.3", "--quiet", "--out", path});
        QVERIFY(writer.waitForStarted());
        QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(path), 60000);
        MainWindow w;
        w.show();
        w.open_run(path);
        QTRY_VERIFY_WITH_TIMEOUT(!w.shown_run().steps.empty(), 20000);
        const std::size_t first = w.shown_run().steps.size();
        QTRY_VERIFY_WITH_TIMEOUT(w.shown_run().steps.size() > first, 20000);  // it grows while being written
        QTRY_VERIFY_WITH_TIMEOUT(total_points(w.dashboard()->loss_plot()) > 0, 5000);
        QVERIFY(writer.waitForFinished(120000));
        QCOMPARE(writer.exitCode(), 0);
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("finished"), 10000);
        QCOMPARE(w.shown_run().epochs.size(), std::size_t(4));
    }

    void inspectorShowsRecordedNeurons() {
        RunConfig c = test::TinyRun().limits(1024, 128).epochs(3).config();
        c.instrument.neurons = {0, 5};
        TrainOptions o;
        o.out_path = (work_.path() + "/recorded.h5").toStdString();
        o.data_roots = {normout::test::fashion_mnist_dir()};
        QCOMPARE(train(c, o).status, RunStatus::Finished);
        const InstrumentData recorded = read_instrumentation(o.out_path);

        MainWindow w;
        w.show();
        w.open_run(QString::fromStdString(o.out_path));
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("finished"), 20000);
        NeuronInspector* inspector = w.inspector();
        QTRY_COMPARE_WITH_TIMEOUT(inspector->layer_box()->count(), 2, 5000);
        inspector->layer_box()->setCurrentIndex(1);  // layer 51
        inspector->epoch_slider()->setValue(2);
        const LayerEpochSnapshot& snap = recorded.epochs.at(51).at(1);
        std::vector<float> means = snap.neuron_mean;
        std::sort(means.begin(), means.end());
        QCOMPARE(inspector->sorted_means().size(), static_cast<int>(means.size()));
        for (std::size_t i = 0; i < means.size(); ++i)
            QCOMPARE(inspector->sorted_means()[int(i)], double(means[i]));
        QCOMPARE(inspector->sorted_rates().size(), 32);
        QCOMPARE(inspector->histogram().size(), static_cast<int>(snap.hist_counts.size()));
        for (std::size_t b = 0; b < snap.hist_counts.size(); ++b)
            QCOMPARE(inspector->histogram()[int(b)], snap.hist_counts[b]);
        inspector->neuron_box()->setCurrentIndex(1);  // tracked neuron 5
        QCOMPARE(inspector->selected_unit(), int64_t(5));
        // Its histogram is the file's per-unit histogram (bins fixed for the run), its keep
        // probabilities too, and the heat map has every epoch.
        const UnitHistograms units = read_unit_histograms(o.out_path, 51, 2);
        QCOMPARE(inspector->neuron_histogram().size(), units.bins);
        for (int b = 0; b < units.bins; ++b)
            QCOMPARE(inspector->neuron_histogram()[b], units.unit(5)[b + 2]);
        QCOMPARE(inspector->unit_keep_histogram().size(), units.keep.empty() ? 0 : kKeepHistogramBins);
        QCOMPARE(inspector->heatmap_epochs(), 3);

        // Typing an index selects any unit, not only tracked ones.
        inspector->neuron_box()->setEditText("17");
        QCOMPARE(inspector->selected_unit(), int64_t(17));
        QVERIFY2(inspector->selection_text().startsWith("Unit 17 of 32: rank "),
                 qPrintable(inspector->selection_text()));

        // A click on a point of the sorted means selects the unit drawn there; one on the firing
        // rates, the unit at that rank of the rates.
        w.tabs()->setCurrentWidget(inspector);
        QTest::qWait(100);
        for (QCustomPlot* plot : {inspector->means_plot(), inspector->rates_plot()}) {
            const bool by_mean = plot == inspector->means_plot();
            const int rank = by_mean ? 9 : 20;
            const double value = by_mean ? inspector->sorted_means()[rank] : inspector->sorted_rates()[rank];
            const QPoint at(qRound(plot->xAxis->coordToPixel(rank)), qRound(plot->yAxis->coordToPixel(value)));
            QTest::mouseClick(plot, Qt::LeftButton, Qt::NoModifier, at);
            const int64_t u = inspector->selected_unit();
            QVERIFY(u >= 0 && u < 32);
            if (by_mean) {
                QCOMPARE(double(snap.neuron_mean[static_cast<std::size_t>(u)]), inspector->sorted_means()[rank]);
                QVERIFY2(inspector->selection_text().contains(QString("rank %1 by mean").arg(rank + 1)),
                         qPrintable(inspector->selection_text()));
            } else {
                QCOMPARE(double(snap.neuron_rate[static_cast<std::size_t>(u)]), inspector->sorted_rates()[rank]);
                QVERIFY2(inspector->selection_text().contains(QString("(rank %1)").arg(rank + 1)),
                         qPrintable(inspector->selection_text()));
            }
            QCOMPARE(inspector->neuron_box()->currentText(), QString::number(u));
        }

        // The notable units are the engine's, and a click on one selects it.
        for (int k = 0; k < inspector->notable_box()->count(); ++k) {
            inspector->notable_box()->setCurrentIndex(k);
            const auto kind = static_cast<NotableKind>(inspector->notable_box()->currentData().toInt());
            const UnitHistograms first = read_unit_histograms(o.out_path, 51, 1);
            std::vector<NotableUnit> expected;
            try {
                expected = notable_units(units, kind, &first, 50);
            } catch (const std::invalid_argument&) {
            }
            QCOMPARE(inspector->notable_list()->count(), static_cast<int>(expected.size()));
            for (std::size_t i = 0; i < expected.size(); ++i)
                QCOMPARE(inspector->notable_list()->item(int(i))->data(Qt::UserRole).toLongLong(), expected[i].unit);
            if (kind == NotableKind::Changed) {
                QVERIFY(!expected.empty());
                QListWidget* list = inspector->notable_list();
                const QRect r = list->visualItemRect(list->item(0));
                QTest::mouseClick(list->viewport(), Qt::LeftButton, Qt::NoModifier, r.center());
                QCOMPARE(inspector->selected_unit(), expected[0].unit);
            }
        }
        inspector->neuron_box()->setCurrentIndex(1);

        // Updates far faster than 25 a second coalesce into capped redraws.
        QTest::qWait(100);  // redraws already requested happen
        const RedrawCounts before = redraw_counts(w);
        QElapsedTimer clock;
        clock.start();
        int updates = 0;
        while (clock.elapsed() < 600) {
            inspector->data_changed();
            w.dashboard()->refresh_now();
            ++updates;
            QCoreApplication::processEvents();
        }
        verify_replot_cap(w, before, clock.elapsed());
        if (QTest::currentTestFailed()) return;
        const int redraws = inspector->redraw_count() - before.inspector;
        qInfo("%d updates in %lld ms: %d inspector redraws", updates, clock.elapsed(), redraws);
        QVERIFY2(redraws > 0 && redraws < updates,
                 qPrintable(QString("%1 redraws for %2 updates").arg(redraws).arg(updates)));
        QCOMPARE(inspector->heatmap_epochs(), 3);  // the data stays what it was
        // The dashboard, on a hidden tab, rebuilt its data but drew nothing: its replots wait
        // for it to be shown, and then happen.
        plots::LivePlot* loss = w.dashboard()->loss_plot();
        QCOMPARE(loss->replot_count(), before.plots[0]);
        QVERIFY(plots::ReplotQueue::instance().queued(loss->plot()));
        w.tabs()->setCurrentWidget(w.dashboard());
        QTRY_VERIFY_WITH_TIMEOUT(loss->replot_count() > before.plots[0], 5000);
        QTRY_VERIFY_WITH_TIMEOUT(!plots::ReplotQueue::instance().queued(loss->plot()), 5000);  // drained
    }

    void unitHistoryOfALiveRunGrowsFromMemory() {
        // No file to read (path empty): rows can only come from memory, so a history of two
        // epochs shows that the finished epoch was appended, not re-read.
        auto epoch_hists = [](int epoch, double fill) {
            UnitHistograms h;
            h.layer = 3;
            h.epoch = epoch;
            h.units = 2;
            h.bins = 2;
            h.edges = {0, 1, 2};
            h.counts.assign(2 * (2 + 3), fill);
            return h;
        };
        RunData run;
        run.layer_epochs[3].resize(1);
        run.unit_latest[3] = epoch_hists(1, 1.0);
        UnitSource source;
        QString error;
        QCOMPARE(source.history(run, 3, 1, &error).size(), std::size_t(1));
        run.layer_epochs[3].resize(2);
        run.unit_latest[3] = epoch_hists(2, 2.0);
        const std::vector<UnitHistograms>& rows = source.history(run, 3, 1, &error);
        QCOMPARE(rows.size(), std::size_t(2));
        QCOMPARE(rows[0].epoch, 1);
        QCOMPARE(rows[1].epoch, 2);
        QCOMPARE(rows[1].counts.size(), std::size_t(5));  // one unit's zero, under, 2 bins, over
        QCOMPARE(rows[1].counts[0], 2.0);
        // A gap (epoch 3 never seen) is read again: here only the newest epoch is left.
        run.layer_epochs[3].resize(4);
        run.unit_latest[3] = epoch_hists(4, 4.0);
        QCOMPARE(source.history(run, 3, 1, &error).size(), std::size_t(1));
        QVERIFY(error.isEmpty());
    }

    void stoppedRunsResumeFromTheWindow() {
        RunConfig c = test::TinyRun().limits(1024, 128).epochs(2).config();
        TrainOptions o;
        o.out_path = (work_.path() + "/to-resume.h5").toStdString();
        o.data_roots = {normout::test::fashion_mnist_dir()};
        o.max_steps = 20;
        QCOMPARE(train(c, o).status, RunStatus::Stopped);
        MainWindow w;
        w.show();
        w.open_run(QString::fromStdString(o.out_path));
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("stopped"), 20000);
        QAction* resume = nullptr;
        for (QAction* a : w.findChildren<QAction*>())
            if (a->text().contains("Resume this run")) resume = a;
        QVERIFY(resume && resume->isEnabled());
        resume->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->running(), 60000);
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(w.shown_run().status), QString("finished"), 5000);
        const RunInfo info = read_run(o.out_path);
        QCOMPARE(QString::fromStdString(info.status), QString("finished"));
        QCOMPARE(info.steps.size(), w.shown_run().steps.size());
        QCOMPARE(info.epochs.size(), std::size_t(2));
        // The loss curve is the finished run's per-step losses (both segments joined).
        verify_loss_curve(w, info.steps);
        if (QTest::currentTestFailed()) return;
    }

    // Every LayerSpec field survives the surgery editor: load, to_json, config equal (the spin
    // boxes show 3 decimals but give back what they were loaded with until edited).
    void surgeryEditorRoundTripsSchedules() {
        RunConfig c = scheduled_config(20);
        LayerSpec& t = c.model.surgery[0].layer;
        t.temperature = 100.125;
        t.schedule = "cosine";
        t.schedule_to = 0.00125;
        t.schedule_from = 3;
        t.schedule_until = 7;
        t.active_from = 2;
        t.active_until = 9;
        t.use_abs = false;
        t.map_4d = "map";
        t.rescale = true;
        t.at_inference = true;
        LayerSpec& d = c.model.surgery[1].layer;
        d.p = 0.12345;
        d.schedule = "linear";
        d.schedule_to = 0.05;
        d.schedule_until = 5;
        c.model.surgery.push_back(SurgeryOp{"insert", {50}, LayerSpec{}});
        validate(c);
        const std::string expected = config_to_json(c);
        const QJsonObject root = QJsonDocument::fromJson(QByteArray::fromStdString(expected)).object();
        const QString surgery = QString::fromUtf8(
            QJsonDocument(root["model"].toObject()["surgery"].toArray()).toJson(QJsonDocument::Compact));

        SurgeryEditor editor;
        editor.from_json(surgery);
        RunConfig back = c;
        back.model.surgery.clear();
        apply_override(back, ("model.surgery=" + editor.to_json()).toStdString());
        QCOMPARE(QString::fromStdString(config_to_json(back)), QString::fromStdString(expected));

        // The schedule's editors are enabled where a value can move: softmax NormOut and Dropout.
        auto shape = [&](int row) { return editor.table()->cellWidget(row, 8)->findChild<QComboBox*>("schedule"); };
        QVERIFY(shape(0) && shape(0)->isEnabled() && shape(1)->isEnabled());
        QVERIFY(!shape(2)->isEnabled());  // temporal-max: nothing to schedule
        QVERIFY(!editor.table()->cellWidget(2, 8)->findChild<QDoubleSpinBox*>("schedule_to")->isEnabled());
        QVERIFY(editor.table()->cellWidget(0, 8)->findChild<QDoubleSpinBox*>("schedule_to")->isEnabled());
        QCOMPARE(editor.table()->horizontalHeaderItem(6)->text(), QString("from"));
        QCOMPARE(qobject_cast<QSpinBox*>(editor.table()->cellWidget(0, 7))->value(), 9);
        QCOMPARE(qobject_cast<QSpinBox*>(editor.table()->cellWidget(1, 7))->text(), QString("end"));
        // An edit is an edit: the value shown is what comes back.
        shape(1)->setCurrentText("cosine");
        editor.table()->cellWidget(1, 8)->findChild<QDoubleSpinBox*>("schedule_to")->setValue(0.25);
        back.model.surgery.clear();
        apply_override(back, ("model.surgery=" + editor.to_json()).toStdString());
        QCOMPARE(back.model.surgery[1].layer.schedule, std::string("cosine"));
        QCOMPARE(back.model.surgery[1].layer.schedule_to, 0.25);
        QCOMPARE(back.model.surgery[0].layer.schedule_to, 0.00125);

        // The configuration panel round-trips it too, penalties included.
        ConfigPanel panel;
        panel.set_config(c);
        QVERIFY2(panel.valid(), qPrintable(panel.error()));
        QCOMPARE(QString::fromStdString(config_to_json(panel.config())), QString::fromStdString(expected));
    }

    void configPanelEditsPenaltiesAdversarialAndArchitectures() {
        ConfigPanel panel;
        panel.select_preset("quick");
        auto* penalties = qobject_cast<QLineEdit*>(panel.editor("train.penalties"));
        QVERIFY(penalties);
        QVERIFY(penalties->text().isEmpty());  // none: the example shows
        QVERIFY(penalties->placeholderText().contains(R"("l1")"));
        QVERIFY(penalties->toolTip().contains("JSON list"));
        panel.set_text("train.penalties", R"([{"layer": 48, "l1": 1e-5, "l2": 0}, {"layer": 51, "l2": 0.5}])");
        QVERIFY2(panel.valid(), qPrintable(panel.error()));
        QCOMPARE(panel.config().train.penalties.size(), std::size_t(2));
        QCOMPARE(panel.config().train.penalties[0].l1, 1e-5);
        QCOMPARE(panel.config().train.penalties[1].layer, 51);
        // A bad entry names its field, and the penalties' editor is highlighted.
        panel.set_text("train.penalties", R"([{"layer": 48, "l1": 1e-5}, {"layer": 99, "l1": 1}])");
        QVERIFY(!panel.valid());
        QCOMPARE(panel.error_field(), QString("train.penalties[1].layer"));
        QVERIFY2(panel.error().contains("99"), qPrintable(panel.error()));
        QVERIFY(!penalties->styleSheet().isEmpty());
        panel.set_text("train.penalties", R"([{"layer": 48, "l1": -1}])");
        QVERIFY(panel.error_field().startsWith("train.penalties[0]"));
        panel.set_text("train.penalties", "{layer: 48}");
        QVERIFY(!panel.valid());
        QCOMPARE(panel.error_field(), QString("train.penalties"));
        panel.set_text("train.penalties", "");  // empty: no penalties
        QVERIFY2(panel.valid(), qPrintable(panel.error()));
        QVERIFY(panel.config().train.penalties.empty());
        QVERIFY(penalties->styleSheet().isEmpty());

        // Settings with a fixed list of values are combo boxes.
        const std::map<QString, QStringList> combos = {{"train.adversarial", {"none", "pgd", "fgsm-rs"}},
                                                       {"train.adv_norm", {"linf", "l2"}},
                                                       {"train.adv_bn", {"frozen", "train", "eval"}},
                                                       {"model.arch", {"vgg16_bn", "resnet18", "vit-small"}}};
        for (const auto& [key, items] : combos) {
            auto* box = qobject_cast<QComboBox*>(panel.editor(key));
            QVERIFY2(box, qPrintable(key));
            QStringList have;
            for (int i = 0; i < box->count(); ++i)
                have << box->itemText(i);
            QCOMPARE(have, items);
        }
        panel.set_text("train.adversarial", "pgd");
        QVERIFY2(panel.valid(), qPrintable(panel.error()));
        QCOMPARE(panel.config().train.adversarial, std::string("pgd"));

        // The layer table follows the architecture; one that cannot be built says why.
        QTableWidget* table = panel.layer_table();
        const int vgg_rows = table->rowCount();
        QVERIFY(vgg_rows > 40);
        panel.set_text("model.surgery", "[]");
        for (const char* arch : {"resnet18", "vit-small"}) {
            panel.set_text("model.arch", arch);
            RunConfig c = panel.config();
            c.model.arch = arch;
            try {
                const auto expected = layer_table(c.model, 1, 10);
                QCOMPARE(table->rowCount(), static_cast<int>(expected.size()));
                QCOMPARE(table->item(0, 3)->text(), QString::fromStdString(expected[0].describe()));
            } catch (const std::exception& e) {  // an architecture without its table (yet)
                QCOMPARE(table->rowCount(), 1);
                QVERIFY2(table->item(0, 0)->text().contains(QString::fromUtf8(e.what())),
                         qPrintable(table->item(0, 0)->text()));
            }
        }
        panel.set_text("model.arch", "vgg16_bn");
        QCOMPARE(table->rowCount(), vgg_rows);
        // Surgery that the table itself refuses (replacing a residual Add of ResNet-18): the
        // reason in the table's place, not the previous table.
        ModelConfig resnet;
        resnet.arch = "resnet18";
        int add = -1;
        try {
            const auto base = base_layer_table(resnet, 1, 10);
            for (std::size_t i = 0; i < base.size() && add < 0; ++i)
                if (base[i].kind == "Add") add = static_cast<int>(i);
        } catch (const std::exception&) {
        }
        if (add < 0) return;  // no residual layers in this build's table
        panel.set_text("model.arch", "resnet18");
        panel.set_text("model.surgery",
                       QStringLiteral(R"([{"op":"replace","at":[%1],"layer":{"type":"dropout"}}])").arg(add));
        QVERIFY(!panel.valid());
        QCOMPARE(table->rowCount(), 1);
        QVERIFY2(table->item(0, 0)->text().contains("residual"), qPrintable(table->item(0, 0)->text()));
    }

    // Live: the engine's start names the extras; the plots hold exactly the recorded values.
    void dashboardDrawsScheduleAndPenaltiesLive() {
        const RunConfig c = scheduled_config(5);
        RunUpdate u;
        u.started = true;
        u.start.epochs = 5;
        u.start.steps_per_epoch = 2;
        u.start.step_extra = kStepExtra;
        u.start.epoch_extra = kEpochExtra;
        fill_extras(c, u.steps, u.epochs);
        RunData d;
        d.config_json = config_to_json(c);
        d.apply(u);
        Dashboard dash;
        dash.show_run(&d);
        dash.refresh_now();
        verify_extra_plots(dash);
        if (QTest::currentTestFailed()) return;

        // A thesis run (no extras) looks as before: no schedule or penalty plot, no robust curve.
        RunData plain;
        plain.epochs = u.epochs;
        plain.steps = u.steps;
        for (auto& e : plain.epochs)
            e.extra.clear();
        for (auto& s : plain.steps)
            s.extra.clear();
        dash.show_run(&plain);
        dash.refresh_now();
        QVERIFY(dash.schedule_plot()->isHidden());
        QVERIFY(dash.penalty_plot()->isHidden());
        QCOMPARE(series_named(dash.accuracy_plot(), "robust train (epoch)"), -1);
        QCOMPARE(series_named(dash.loss_plot(), "objective (epoch)"), -1);

        // Layers that act throughout with a constant value need no schedule plot.
        RunConfig constant = c;
        constant.model.surgery[0].layer.schedule = "constant";
        constant.model.surgery[0].layer.active_from = 0;
        RunData d2;
        d2.config_json = config_to_json(constant);
        d2.apply(u);
        for (auto& e : d2.epochs) {
            e.extra[4] = 1.0;
            e.extra[5] = 100.0;
        }
        dash.show_run(&d2);
        dash.refresh_now();
        QVERIFY(dash.schedule_plot()->isHidden());
        QVERIFY(!dash.penalty_plot()->isHidden());

        // T and p both scheduled: p on the right axis (0..1), T on the left.
        RunConfig both = c;
        LayerSpec& p = both.model.surgery[1].layer;
        p.schedule = "linear";
        p.schedule_to = 0.1;
        p.schedule_until = 4;
        RunUpdate u3 = u;
        u3.steps.clear();
        u3.epochs.clear();
        fill_extras(both, u3.steps, u3.epochs);
        RunData d3;
        d3.config_json = config_to_json(both);
        d3.apply(u3);
        dash.show_run(&d3);
        dash.refresh_now();
        plots::LivePlot* schedule = dash.schedule_plot();
        QVERIFY(!schedule->isHidden());
        verify_series(schedule, "layer 51 p", {0, 1, 2, 3},
                      {scheduled_value(p, 0), scheduled_value(p, 1), scheduled_value(p, 2), scheduled_value(p, 2)});
        QVERIFY(schedule->on_right_axis(series_named(schedule, "layer 51 p")));
        QVERIFY(!schedule->on_right_axis(series_named(schedule, "layer 48 T")));
        QCOMPARE(schedule->plot()->yAxis2->label(), QString("drop probability p"));
    }

    // From a run file: RunWriter's extra columns reach the dashboard through load_run_data.
    void dashboardDrawsScheduleFromRunFile() {
        const RunConfig c = scheduled_config(5);
        RunHeader h = normout::test::sample_run_header();
        h.config_json = config_to_json(c);
        h.step_extra = kStepExtra;
        h.epoch_extra = kEpochExtra;
        std::vector<StepRecord> steps;
        std::vector<EpochRecord> epochs;
        fill_extras(c, steps, epochs);
        const std::string path = (work_.path() + "/extras.h5").toStdString();
        {
            RunWriter w(path, h);
            w.append_steps(steps);
            w.append_epochs(epochs);
            w.set_status(RunStatus::Finished, "", 6);
        }
        RunData d = load_run_data(path);
        QCOMPARE(d.epoch_extra, kEpochExtra);
        QCOMPARE(d.epochs_planned, 5);
        Dashboard dash;
        dash.show_run(&d);
        dash.refresh_now();
        verify_extra_plots(dash);
    }

    void errorsAreMessagesNotCrashes() {
        MainWindow w;
        w.show();
        w.open_run(work_.path() + "/does-not-exist.h5");
        QTRY_VERIFY_WITH_TIMEOUT(w.last_error().contains("file not found"), 10000);
        normout::test::write_bytes((work_.path() + "/garbage.h5").toStdString(), "not a run");
        w.open_run(work_.path() + "/garbage.h5");
        QTRY_VERIFY_WITH_TIMEOUT(w.last_error().contains("not an HDF5 file"), 10000);
        // Training errors (here: data that is not there) arrive as messages too.
        make_tiny(w.config_panel(), 1);
        w.config_panel()->set_text("data.dataset", "cifar10");
        w.config_panel()->set_text("data.path", work_.path() + "/no-cifar-here");
        w.config_panel()->set_run_path(work_.path() + "/never.h5");
        w.start_training();
        QTRY_VERIFY_WITH_TIMEOUT(w.last_error().contains("no-cifar-here"), 20000);
        QTRY_VERIFY_WITH_TIMEOUT(!w.controller()->running(), 10000);
        QVERIFY(!QFile::exists(work_.path() + "/never.h5"));
    }
};

QTEST_MAIN(TestLab)
#include "test_lab.moc"
