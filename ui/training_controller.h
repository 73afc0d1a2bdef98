#pragma once
// Runs training on a worker thread and hands its reports to the GUI thread as queued signals
// carrying plain values, batched (a few per second whatever the step rate). The GUI thread never
// waits for training: stop() asks, the thread ends at the next batch.
#include <QObject>
#include <QString>
#include <QThread>
#include <memory>

#include "engine/config/config.h"
#include "engine/session/observer.h"
#include "ui/run_data.h"

namespace normout::ui {

class TrainingController : public QObject {
    Q_OBJECT
  public:
    explicit TrainingController(QObject* parent = nullptr);
    ~TrainingController() override;  // stops a running training and waits for its thread

    bool running() const;
    bool paused() const;
    // Starts a new run writing `out_path`. Errors before training (bad data, existing file)
    // arrive through failed().
    void start(const RunConfig& config, const QString& out_path, const QString& data_root);
    // Continues a stopped or interrupted run from its newest checkpoint.
    void resume_run(const QString& run_path, const QString& data_root);
    void pause();
    void unpause();  // continues a paused run (resume_run continues from a checkpoint)
    void stop();
    // Blocks until the worker thread has ended (tests, shutdown).
    bool wait(int ms);

  Q_SIGNALS:
    void update(const normout::ui::RunUpdate& batch);
    void failed(const QString& message);
    void finished();

  private:
    template <class F>
    void launch(F&& work);

    struct ThreadStopper {
        void operator()(QThread* t) const;
    };
    std::unique_ptr<QThread, ThreadStopper> thread_;
    std::shared_ptr<RunControl> control_;
};

}  // namespace normout::ui
