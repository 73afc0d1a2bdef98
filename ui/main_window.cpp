#include "ui/main_window.h"
#include "ui/text_format.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDateTime>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QSettings>
#include <QStandardPaths>
#include <QStatusBar>
#include <QTabWidget>
#include <QTextBrowser>
#include <QToolBar>
#include <cmath>

#include "engine/util/user_dirs.h"
#include "engine/version.h"
#include "ui/compare_view.h"
#include "ui/config_panel.h"
#include "ui/dashboard.h"
#include "ui/neuron_inspector.h"
#include "ui/run_watcher.h"
#include "ui/runs_browser.h"
#include "ui/sweep_panel.h"
#include "ui/training_controller.h"

namespace normout::ui {

namespace {

QString duration(double s) {
    if (!std::isfinite(s) || s < 0) return QStringLiteral("–");
    const long t = std::lround(s);
    return t >= 3600 ? QStringLiteral("%1:%2:%3")
                           .arg(t / 3600)
                           .arg(t / 60 % 60, 2, 10, QChar('0'))
                           .arg(t % 60, 2, 10, QChar('0'))
                     : QStringLiteral("%1:%2").arg(t / 60).arg(t % 60, 2, 10, QChar('0'));
}


}  // namespace

MainWindow::MainWindow(QWidget* parent)
    : QMainWindow(parent),
      config_(new ConfigPanel),
      dashboard_(new Dashboard),
      inspector_(new NeuronInspector),
      summary_(new QTextBrowser),
      tabs_(new QTabWidget),
      controller_(new TrainingController(this)),
      watcher_(new RunWatcher(this)),
      browser_(new RunsBrowser),
      compare_(new CompareView),
      sweeps_(new SweepPanel),
      shown_(&live_),
      settings_(new QSettings(this)) {
    setWindowTitle(tr("NormOut Lab"));
    setObjectName("MainWindow");
    tabs_->addTab(dashboard_, tr("Dashboard"));
    tabs_->addTab(inspector_, tr("Neuron inspector"));
    tabs_->addTab(summary_, tr("Run"));
    tabs_->addTab(browser_, tr("Runs"));
    tabs_->addTab(compare_, tr("Compare"));
    tabs_->addTab(sweeps_, tr("Sweeps"));
    setCentralWidget(tabs_);
    auto* dock = new QDockWidget(tr("Run configuration"), this);
    dock->setObjectName("ConfigDock");
    dock->setWidget(config_);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::LeftDockWidgetArea, dock);

    status_run_ = new QLabel(this);
    status_progress_ = new QLabel(this);
    status_speed_ = new QLabel(this);
    statusBar()->addWidget(status_run_, 1);
    statusBar()->addPermanentWidget(status_progress_);
    statusBar()->addPermanentWidget(status_speed_);

    build_actions();
    connect(controller_, &TrainingController::update, this, &MainWindow::on_update);
    connect(controller_, &TrainingController::failed, this, &MainWindow::report_error);
    connect(controller_, &TrainingController::finished, this, &MainWindow::update_actions);
    connect(watcher_, &RunWatcher::loaded, this, &MainWindow::on_loaded);
    connect(watcher_, &RunWatcher::failed, this, &MainWindow::report_error);
    connect(config_, &ConfigPanel::validity_changed, this, &MainWindow::update_actions);

    restoreGeometry(settings_->value("window/geometry").toByteArray());
    restoreState(settings_->value("window/state").toByteArray());
    const QString last = settings_->value("config/last").toString();
    if (!last.isEmpty()) {
        try {
            config_->set_config(config_from_json(last.toStdString()));
        } catch (const std::exception&) {
            // A configuration of another version: keep the preset.
        }
    }
    config_->set_run_path({});
    rebuild_recent_menu();
    browser_->set_folder(settings_->value("runs/browser", runs_folder()).toString());
    connect(browser_, &RunsBrowser::folder_changed, this,
            [this](const QString& folder) { settings_->setValue("runs/browser", folder); });
    connect(browser_, &RunsBrowser::open_requested, this, [this](const QString& path) {
        open_run(path);
        tabs_->setCurrentWidget(dashboard_);
    });
    connect(browser_, &RunsBrowser::compare_requested, this, &MainWindow::compare_runs);
    connect(sweeps_, &SweepPanel::compare_requested, this, &MainWindow::compare_runs);
    // A sweep's folder shows in the runs browser, which updates as its runs are written.
    connect(sweeps_, &SweepPanel::folder_chosen, browser_, [this](const QString& folder) {
        if (!folder.isEmpty()) browser_->set_folder(folder);
    });
    show_run(&live_);
    status_run_->setText(tr("Ready. Pick a preset and press Start (Ctrl+R), or open a run (Ctrl+O)."));
}

MainWindow::~MainWindow() = default;

void MainWindow::show_tab(QWidget* page) {
    tabs_->setCurrentWidget(page);
}

void MainWindow::compare_runs(const QStringList& paths) {
    std::vector<RunData> runs;
    QStringList unreadable;
    for (const QString& p : paths) {
        try {
            runs.push_back(load_run_data(p.toStdString()));
            thin_for_compare(runs.back());
        } catch (const std::exception& e) {
            unreadable << QString::fromStdString(e.what());
        }
    }
    if (!unreadable.isEmpty())
        report_error(tr("Left out of the comparison: %1").arg(unreadable.join(QStringLiteral("; "))));
    compare_->set_runs(std::move(runs));
    tabs_->setCurrentWidget(compare_);
}

QString MainWindow::runs_folder() const {
    const QString folder =
        settings_
            ->value("runs/folder", QString::fromStdString(normout::default_runs_dir()))
            .toString();
    QDir().mkpath(folder);
    return folder;
}

void MainWindow::build_actions() {
    QMenu* file = menuBar()->addMenu(tr("&File"));
    open_ = file->addAction(tr("&Open run…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open run"), runs_folder(), tr("Run files (*.h5)"));
        if (!path.isEmpty()) open_run(path);
    });
    open_->setShortcut(QKeySequence::Open);
    recent_menu_ = file->addMenu(tr("Recent runs"));
    file->addSeparator();
    file->addAction(tr("Open configuration…"), QKeySequence(tr("Ctrl+Shift+O")), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open configuration"), {}, tr("JSON (*.json)"));
        if (path.isEmpty()) return;
        try {
            config_->set_config(load_config_file(path.toStdString()));
        } catch (const std::exception& e) {
            report_error(QString::fromStdString(e.what()));
        }
    });
    file->addAction(tr("&Save configuration…"), QKeySequence::Save, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save configuration"), {}, tr("JSON (*.json)"));
        if (path.isEmpty()) return;
        try {
            save_config_file(config_->config(), path.toStdString());
        } catch (const std::exception& e) {
            report_error(QString::fromStdString(e.what()));
        }
    });
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);

    QMenu* run = menuBar()->addMenu(tr("&Run"));
    start_ = run->addAction(tr("&Start"), this, &MainWindow::start_training);
    start_->setShortcut(QKeySequence(tr("Ctrl+R")));
    start_->setToolTip(tr("Train with the configuration on the left (Ctrl+R)"));
    pause_ = run->addAction(tr("&Pause"));
    pause_->setCheckable(true);
    pause_->setShortcut(QKeySequence(tr("Ctrl+P")));
    connect(pause_, &QAction::toggled, this, [this](bool on) {
        if (on)
            controller_->pause();
        else
            controller_->unpause();
        update_actions();
    });
    stop_ = run->addAction(tr("S&top"), this, &MainWindow::stop_training);
    stop_->setShortcut(QKeySequence(tr("Ctrl+.")));
    stop_->setToolTip(tr("Stop after the current batch; the run file stays valid and resumable (Ctrl+.)"));
    resume_ = run->addAction(tr("&Resume this run"), this, &MainWindow::resume_run);
    resume_->setShortcut(QKeySequence(tr("Ctrl+Shift+R")));
    resume_->setToolTip(tr("Continue the opened stopped or interrupted run from its newest checkpoint"));
    show_live_ = run->addAction(tr("Show the &training run"), this, [this] { show_run(&live_); });
    show_live_->setShortcut(QKeySequence(tr("Ctrl+T")));

    QMenu* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About NormOut Lab"), this, &MainWindow::show_about);

    QToolBar* bar = addToolBar(tr("Run"));
    bar->setObjectName("RunToolbar");
    for (QAction* a : {start_, pause_, stop_, resume_, open_})
        bar->addAction(a);
    update_actions();
}

QString MainWindow::about_text() {
    return tr("<h3>NormOut Lab %1</h3><p>Synaptic-failure dropout experiments, after <i>Synaptic Failure is a "
              "Flat Minima Optimizer</i> (D. Singh, 2023).</p>"
              "<table><tr><td>Code</td><td>%2</td></tr><tr><td>LibTorch</td><td>%3</td></tr>"
              "<tr><td>Devices</td><td>%4</td></tr><tr><td>Qt</td><td>%5</td></tr><tr><td>HDF5</td><td>%6</td></tr>"
              "</table><p>GPL-3.0-or-later</p>")
        .arg(project_version(), code_version(), QString::fromStdString(torch_version()),
             QString::fromStdString(device_summary()), QString::fromLatin1(qVersion()),
             QString::fromStdString(hdf5_version()));
}

void MainWindow::show_about() {
    QMessageBox::about(this, tr("About NormOut Lab"), about_text());
}

void MainWindow::update_actions() {
    const bool running = controller_->running();
    start_->setEnabled(!running && config_->valid());
    start_->setToolTip(config_->valid() ? tr("Train with the configuration on the left (Ctrl+R)")
                                        : tr("Fix the configuration first: %1").arg(config_->error()));
    pause_->setEnabled(running);
    if (!running && pause_->isChecked()) {
        const QSignalBlocker block(pause_);
        pause_->setChecked(false);
    }
    stop_->setEnabled(running);
    const QString status = QString::fromStdString(file_.status);
    resume_->setEnabled(!running && shown_ == &file_ &&
                        (status == "stopped" || status == "interrupted" || status == "failed"));
    show_live_->setEnabled(shown_ != &live_ && !live_.path.empty());
}

void MainWindow::show_run(RunData* run) {
    shown_ = run;
    const bool has = !run->path.empty() || !run->empty();
    dashboard_->show_run(has ? run : nullptr);
    inspector_->show_run(has ? run : nullptr);
    update_summary();
    update_actions();
}

void MainWindow::start_training() {
    if (controller_->running() || !config_->valid()) return;
    QString path = config_->run_path();
    if (path.isEmpty()) {
        QString stem = QString::fromStdString(config_->config().preset);
        stem.replace('/', '-');
        if (stem.isEmpty()) stem = "run";
        path =
            QDir(runs_folder()).filePath(stem + "-" + QDateTime::currentDateTime().toString("yyyyMMdd-HHmmss") + ".h5");
    }
    if (QFileInfo::exists(path)) {
        report_error(tr("%1 already exists: choose another run file.").arg(path));
        return;
    }
    live_ = RunData{};
    live_.path = path.toStdString();
    live_.name = config_->config().name;
    live_.preset = config_->config().preset;
    live_.config_json = config_to_json(config_->config());
    live_.ewma_alpha = config_->config().instrument.ewma_alpha;
    live_.status = "starting";
    watcher_->stop();
    show_run(&live_);
    settings_->setValue("config/last", QString::fromStdString(config_to_json(config_->config())));
    controller_->start(config_->config(), path, config_->data_root());
    status_run_->setText(tr("Starting %1 …").arg(path));
    remember_run(path);
    config_->set_run_path({});
    update_actions();
}

void MainWindow::stop_training() {
    controller_->stop();
    status_run_->setText(tr("Stopping after the current batch …"));
}

void MainWindow::resume_run() {
    if (controller_->running() || file_.path.empty()) return;
    live_ = file_;
    show_run(&live_);
    watcher_->stop();
    controller_->resume_run(QString::fromStdString(live_.path), config_->data_root());
    update_actions();
}

void MainWindow::on_update(const RunUpdate& u) {
    live_.apply(u);
    if (u.has_progress) {
        const StepProgress& p = u.progress;
        status_progress_->setText(
            tr("epoch %1/%2 · step %3/%4").arg(p.epoch).arg(p.epochs).arg(p.step).arg(p.steps_per_epoch));
        status_speed_->setText(
            tr("%1 img/s · %2 left").arg(p.images_per_second, 0, 'f', 0).arg(duration(p.eta_seconds)));
    }
    if (u.started) status_run_->setText(tr("Training: %1").arg(QString::fromStdString(u.start.out_path)));
    if (u.paused_changed) status_run_->setText(u.paused ? tr("Paused") : tr("Training"));
    if (!u.messages.empty()) status_run_->setText(QString::fromStdString(u.messages.back()));
    if (u.finished) {
        const QString status = QString::fromStdString(to_string(u.outcome.status));
        status_run_->setText(u.outcome.message.empty()
                                 ? tr("Run %1: %2").arg(status, QString::fromStdString(u.outcome.out_path))
                                 : tr("Run %1: %2").arg(status, QString::fromStdString(u.outcome.message)));
        if (u.outcome.status == RunStatus::Failed || u.outcome.status == RunStatus::Diverged)
            report_error(tr("The run %1: %2").arg(status, QString::fromStdString(u.outcome.message)));
    }
    if (shown_ == &live_) {
        dashboard_->data_changed();
        inspector_->data_changed();
        if (u.finished || !u.epochs.empty()) update_summary();
    }
    update_actions();
}

void MainWindow::open_run(const QString& path) {
    file_ = RunData{};
    file_.path = path.toStdString();
    show_run(&file_);
    watcher_->watch(path);
    remember_run(path);
    status_run_->setText(tr("Reading %1 …").arg(path));
}

void MainWindow::on_loaded(const RunData& data) {
    if (QString::fromStdString(data.path) != watcher_->path()) return;
    const bool first = file_.empty();
    file_ = data;
    status_run_->setText(tr("%1 — %2").arg(QString::fromStdString(data.path), QString::fromStdString(data.status)));
    if (shown_ == &file_) {
        if (first) {
            dashboard_->show_run(&file_);
            inspector_->show_run(&file_);
        } else {
            dashboard_->data_changed();
            inspector_->data_changed();
        }
        update_summary();
    }
    update_actions();
}

void MainWindow::report_error(const QString& message) {
    last_error_ = message;
    status_run_->setText(message);
    // Window-modal and asynchronous: the event loop (and a training run) go on.
    auto* box = new QMessageBox(QMessageBox::Warning, tr("NormOut Lab"), message, QMessageBox::Ok, this);
    box->setAttribute(Qt::WA_DeleteOnClose);
    box->open();
    update_actions();
}

void MainWindow::update_summary() {
    const RunData& d = *shown_;
    if (d.path.empty()) {
        summary_->setHtml(tr("<p>No run is shown.</p>"));
        return;
    }
    QString html = QStringLiteral("<h3>%1</h3><p><b>File:</b> %2<br><b>Status:</b> %3 %4<br>")
                       .arg(QString::fromStdString(d.name.empty() ? d.preset : d.name).toHtmlEscaped(),
                            QString::fromStdString(d.path).toHtmlEscaped(), QString::fromStdString(d.status),
                            QString::fromStdString(d.status_message).toHtmlEscaped());
    if (!d.epochs.empty()) {
        const auto& e = d.epochs.back();
        html += tr("<b>Epoch %1:</b> train accuracy %2, test accuracy %3, generalisation gap %4 points<br>")
                    .arg(e.epoch)
                    .arg(percent_text(e.train_accuracy), percent_text(e.test_accuracy))
                    .arg(100 * e.generalisation_gap, 0, 'f', 2);
    }
    html += QStringLiteral("</p>");
    // Final moving averages per layer, as the thesis's tables 3.2/3.3.
    if (!d.layer_steps.empty()) {
        html +=
            tr("<h4>Layer statistics (moving averages at the last step)</h4><table border=1 cellspacing=0 "
               "cellpadding=3><tr><th>layer</th><th></th><th>mean</th><th>max</th><th>std</th><th>var</th>"
               "<th>sparsity %</th></tr>");
        for (const auto& [layer, rows] : d.layer_steps) {
            if (rows.empty()) continue;
            const auto& s = rows.back();
            for (const auto& [side, a] :
                 {std::pair<QString, const ActivationStats&>{tr("output"), s.output_ewma}, {tr("input"), s.input_ewma}})
                html += QStringLiteral(
                            "<tr><td>%1</td><td>%2</td><td>%3</td><td>%4</td><td>%5</td><td>%6</td>"
                            "<td>%7</td></tr>")
                            .arg(layer)
                            .arg(side)
                            .arg(a.mean, 0, 'g', 4)
                            .arg(a.max, 0, 'g', 4)
                            .arg(a.std, 0, 'g', 4)
                            .arg(a.var, 0, 'g', 4)
                            .arg(100 * a.sparsity, 0, 'f', 2);
        }
        html += QStringLiteral("</table>");
    }
    html += tr("<h4>Configuration</h4><pre>%1</pre>").arg(QString::fromStdString(d.config_json).toHtmlEscaped());
    html += tr("<p><small>NormOut Lab %1 (%2), LibTorch %3, HDF5 %4</small></p>")
                .arg(project_version(), code_version(), QString::fromStdString(torch_version()),
                     QString::fromStdString(hdf5_version()));
    summary_->setHtml(html);
}

void MainWindow::remember_run(const QString& path) {
    QStringList recent = settings_->value("runs/recent").toStringList();
    recent.removeAll(path);
    recent.prepend(path);
    while (recent.size() > 10)
        recent.removeLast();
    settings_->setValue("runs/recent", recent);
    rebuild_recent_menu();
}

void MainWindow::rebuild_recent_menu() {
    recent_menu_->clear();
    const QStringList recent = settings_->value("runs/recent").toStringList();
    for (const QString& path : recent)
        recent_menu_->addAction(path, this, [this, path] { open_run(path); });
    recent_menu_->setEnabled(!recent.isEmpty());
}

void MainWindow::closeEvent(QCloseEvent* event) {
    if (controller_->running()) {
        const auto answer = QMessageBox::question(
            this, tr("NormOut Lab"), tr("A run is training. Stop it (its file stays valid and resumable) and quit?"));
        if (answer != QMessageBox::Yes) {
            event->ignore();
            return;
        }
        controller_->stop();
        controller_->wait(60000);
    }
    settings_->setValue("window/geometry", saveGeometry());
    settings_->setValue("window/state", saveState());
    settings_->setValue("config/last", QString::fromStdString(config_to_json(config_->config())));
    settings_->sync();
    event->accept();
}

}  // namespace normout::ui
