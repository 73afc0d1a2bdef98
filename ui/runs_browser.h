#pragma once
// The runs browser: every run file of a folder with its status, preset, custom layers, headline
// metrics (test accuracy, generalisation gap, Fisher-Rao norm, FGSM accuracy, masking verdict);
// sortable, filtered by a search text, rescanned every few seconds so live runs update (files
// are read on a worker thread). Selected runs can be opened or compared.
#include <QFutureWatcher>
#include <QHash>
#include <QStringList>
#include <QTimer>
#include <QWidget>
#include <vector>

class QLabel;
class QLineEdit;
class QSortFilterProxyModel;
class QStandardItemModel;
class QTableView;

namespace normout::ui {

// One row of the browser, read from a run file without its per-step layer data.
struct RunSummary {
    QString path, name, preset, status, layers, error;
    int epochs = 0, epochs_planned = 0;
    double test_accuracy = 0, gap = 0, fisher_rao = 0, fgsm = 0;  // NaN when not recorded
    QString masking;
    qint64 seed = 0;
    qint64 modified_ms = 0;  // file time, for rescans
};
RunSummary summarise_run(const QString& path);
// The run files of a folder (subfolders included), without resume segments.
QStringList run_files(const QString& folder);

class RunsBrowser : public QWidget {
    Q_OBJECT
  public:
    explicit RunsBrowser(QWidget* parent = nullptr);
    ~RunsBrowser() override;

    void set_folder(const QString& folder);
    QString folder() const { return folder_; }
    void set_filter(const QString& text);
    // Reads the folder now, on the calling thread (tests); rescans otherwise run in the background.
    void rescan_now();
    int visible_rows() const;
    QString path_at(int visible_row) const;
    void select_rows(const QList<int>& visible_rows);
    QStringList selected_paths() const;
    QTableView* view() const { return view_; }

  Q_SIGNALS:
    void open_requested(const QString& path);
    void compare_requested(const QStringList& paths);
    void folder_changed(const QString& folder);

  private:
    void start_scan();
    void apply(const std::vector<RunSummary>& rows);

    QString folder_;
    QLabel* folder_label_;
    QLineEdit* search_;
    QStandardItemModel* model_;
    QSortFilterProxyModel* proxy_;
    QTableView* view_;
    QTimer timer_;
    QFutureWatcher<std::vector<RunSummary>> scan_;
    QHash<QString, RunSummary> known_;
};

}  // namespace normout::ui
