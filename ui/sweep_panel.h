#pragma once
// Sweeps from the lab: choose a specification (a file or the built-in thesis/table-3.1), a folder,
// the backend (local or Slurm) and settings for every run; the sweep runs as a `normout sweep`
// process (its output in the log), its per-run status is read with `normout sweep-status --json`
// every few seconds (for Slurm: the queue as the runs report it), and its runs open in the Compare
// view. The lab itself never waits for the sweep.
#include <QProcess>
#include <QStringList>
#include <QTimer>
#include <QWidget>

class QComboBox;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QSpinBox;
class QTableWidget;

namespace normout::ui {

// The `normout` command next to this program (or $NORMOUT_CLI, or `normout` on the PATH).
QString normout_command();

class SweepPanel : public QWidget {
    Q_OBJECT
  public:
    explicit SweepPanel(QWidget* parent = nullptr);
    ~SweepPanel() override;

    void set_spec(const QString& spec);
    void set_folder(const QString& folder);
    void set_overrides(const QString& text);   // "key=value key=value"
    void set_backend(const QString& backend);  // local | slurm
    void start();
    void stop();  // as Ctrl-C: the current runs stop at their next batch and resume next time
    bool running() const;
    // Reads the folder's status now (blocking; tests) instead of waiting for the timer.
    void refresh_now();
    QTableWidget* status_table() const { return table_; }
    QStringList finished_files() const { return finished_; }

  Q_SIGNALS:
    void compare_requested(const QStringList& paths);
    void folder_chosen(const QString& folder);
    void sweep_finished(int exit_code);

  private:
    QStringList arguments() const;
    void refresh();
    void show_status(const QByteArray& json);
    void update_buttons();

    QComboBox* spec_;
    QLineEdit *folder_, *overrides_;
    QComboBox* backend_;
    QSpinBox* parallel_;
    QPushButton *start_, *stop_, *compare_;
    QTableWidget* table_;
    QPlainTextEdit* log_;
    QProcess sweep_, status_;
    QTimer timer_;
    QStringList finished_;
};

}  // namespace normout::ui
