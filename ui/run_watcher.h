#pragma once
// Follows a run file that another process may be writing: checks it every second and, when it
// has changed, reads it on a worker thread and hands the result to the GUI thread.
#include <QDateTime>
#include <QFutureWatcher>
#include <QObject>
#include <QTimer>

#include "ui/run_data.h"

namespace normout::ui {

struct LoadResult {
    RunData data;
    QString error;
};

class RunWatcher : public QObject {
    Q_OBJECT
  public:
    explicit RunWatcher(QObject* parent = nullptr);
    ~RunWatcher() override;
    void watch(const QString& path);  // reads at once, then follows
    void stop();
    QString path() const { return path_; }
    int loads() const { return loads_; }

  Q_SIGNALS:
    void loaded(const normout::ui::RunData& data);
    void failed(const QString& message);

  private:
    void poll();
    QString signature() const;  // sizes and times of the run's files

    QString path_;
    QString last_signature_;
    QTimer timer_;
    QFutureWatcher<LoadResult> future_;
    int loads_ = 0;
};

}  // namespace normout::ui
