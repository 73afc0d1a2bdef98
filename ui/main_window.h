#pragma once
// The lab's window: wires the configuration panel, the training controller, the dashboard, the
// neuron inspector and the run summary; menus, shortcuts, status bar and remembered settings.
#include <QMainWindow>

#include "ui/run_data.h"

class QAction;
class QSettings;
class QLabel;
class QMenu;
class QTabWidget;
class QTextBrowser;

namespace normout::ui {

class ConfigPanel;
class Dashboard;
class NeuronInspector;
class RunsBrowser;
class CompareView;
class SweepPanel;
class TrainingController;
class RunWatcher;

class MainWindow : public QMainWindow {
    Q_OBJECT
  public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    // Opens a run file (any state; a file being written follows live).
    void open_run(const QString& path);
    // Versions of the lab and its libraries, LibTorch's CUDA and the GPUs it sees (Help > About).
    static QString about_text();
    void start_training();
    void stop_training();

    ConfigPanel* config_panel() const { return config_; }
    Dashboard* dashboard() const { return dashboard_; }
    NeuronInspector* inspector() const { return inspector_; }
    QTabWidget* tabs() const { return tabs_; }
    TrainingController* controller() const { return controller_; }
    RunWatcher* watcher() const { return watcher_; }
    const RunData& shown_run() const { return *shown_; }
    QAction* start_action() const { return start_; }
    QAction* pause_action() const { return pause_; }
    QAction* stop_action() const { return stop_; }
    QString last_error() const { return last_error_; }
    RunsBrowser* runs_browser() const { return browser_; }
    CompareView* compare_view() const { return compare_; }
    SweepPanel* sweep_panel() const { return sweeps_; }
    // Loads the runs into the compare view and shows it; unreadable files are reported.
    void compare_runs(const QStringList& paths);
    void show_tab(QWidget* page);
    QString runs_folder() const;

  protected:
    void closeEvent(QCloseEvent* event) override;

  private:
    void build_actions();
    void show_run(RunData* run);
    void on_update(const RunUpdate& update);
    void on_loaded(const RunData& data);
    void report_error(const QString& message);
    void update_actions();
    void show_about();
    void update_summary();
    void remember_run(const QString& path);
    void rebuild_recent_menu();
    void resume_run();

    ConfigPanel* config_;
    Dashboard* dashboard_;
    NeuronInspector* inspector_;
    QTextBrowser* summary_;
    QTabWidget* tabs_;
    TrainingController* controller_;
    RunWatcher* watcher_;
    RunsBrowser* browser_;
    CompareView* compare_;
    SweepPanel* sweeps_;
    RunData live_;  // the run this window trains
    RunData file_;  // a run opened from its file
    RunData* shown_;
    QAction *start_, *pause_, *stop_, *open_, *resume_, *show_live_;
    QMenu* recent_menu_;
    QLabel *status_run_, *status_progress_, *status_speed_;
    QString last_error_;
    QSettings* settings_;  // one object: writes reach the disk in batches, not at every change
};

}  // namespace normout::ui
