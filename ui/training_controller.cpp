#include "ui/training_controller.h"

#include <QElapsedTimer>
#include <mutex>

#include "engine/data/locate.h"
#include "engine/session/training.h"

namespace normout::ui {

namespace {

// Collects the engine's reports on the worker thread and emits them in batches: at most one
// batch every 100 ms, plus one at every epoch end and at the end of the run.
class BatchingObserver : public TrainingObserver {
  public:
    explicit BatchingObserver(TrainingController* target) : target_(target) { clock_.start(); }
    void on_run_started(const RunStartInfo& info) override {
        batch_.started = true;
        batch_.start = info;
        send();
    }
    void on_step(const StepProgress& p) override {
        batch_.has_progress = true;
        batch_.progress = p;
        maybe_send();
    }
    void on_steps(const std::vector<StepRecord>& rows) override {
        batch_.steps.insert(batch_.steps.end(), rows.begin(), rows.end());
    }
    void on_epoch(const EpochRecord& r) override {
        batch_.epochs.push_back(r);
        send();
    }
    void on_layer_stats(const std::vector<LayerStepStats>& rows) override {
        batch_.layer_steps.insert(batch_.layer_steps.end(), rows.begin(), rows.end());
    }
    void on_layer_epoch(const std::vector<LayerEpochSnapshot>& rows) override {
        batch_.layer_epochs.insert(batch_.layer_epochs.end(), rows.begin(), rows.end());
    }
    bool wants_epoch_so_far() const override { return true; }
    void on_layer_epoch_so_far(const std::vector<LayerEpochSnapshot>& rows) override {
        batch_.layer_epoch_so_far = rows;  // only the newest matters
    }
    void on_analysis(const std::string& table, const std::vector<AnalysisRow>& rows) override {
        batch_.analysis.emplace_back(table, rows);
        send();
    }
    void on_message(const std::string& text) override {
        batch_.messages.push_back(text);
        send();
    }
    void on_paused(bool paused) override {
        batch_.paused_changed = true;
        batch_.paused = paused;
        send();
    }
    void on_run_finished(const RunOutcome& o) override {
        batch_.finished = true;
        batch_.outcome = o;
        send();
    }

  private:
    void maybe_send() {
        if (clock_.elapsed() >= 100) send();
    }
    void send() {
        Q_EMIT target_->update(batch_);  // queued: the receiver lives in the GUI thread
        batch_ = RunUpdate{};
        clock_.restart();
    }
    TrainingController* target_;
    RunUpdate batch_;
    QElapsedTimer clock_;
};

}  // namespace

void TrainingController::ThreadStopper::operator()(QThread* t) const {
    t->wait();
    delete t;
}

TrainingController::TrainingController(QObject* parent) : QObject(parent) {
    qRegisterMetaType<normout::ui::RunUpdate>();
}

TrainingController::~TrainingController() {
    if (control_) control_->cancel();
    thread_.reset();  // waits for the worker
}

bool TrainingController::running() const {
    return thread_ && thread_->isRunning();
}

bool TrainingController::paused() const {
    return control_ && control_->paused();
}

template <class F>
void TrainingController::launch(F&& work) {
    if (running()) {
        Q_EMIT failed(tr("A run is already in progress."));
        return;
    }
    thread_.reset();
    control_ = std::make_shared<RunControl>();
    auto control = control_;
    QThread* thread = QThread::create([this, control, work = std::forward<F>(work)]() mutable {
        BatchingObserver observer(this);
        try {
            work(observer, *control);
        } catch (const std::exception& e) {
            const QString message = QString::fromStdString(e.what());
            QMetaObject::invokeMethod(
                this, [this, message] { Q_EMIT failed(message); }, Qt::QueuedConnection);
        }
    });
    connect(thread, &QThread::finished, this, &TrainingController::finished, Qt::QueuedConnection);
    thread_.reset(thread);
    thread->start();
}

void TrainingController::start(const RunConfig& config, const QString& out_path, const QString& data_root) {
    const std::string out = out_path.toStdString(), root = data_root.toStdString();
    launch([config, out, root](TrainingObserver& observer, RunControl& control) {
        TrainOptions options;
        options.out_path = out;
        options.data_roots = data_roots(root);
        options.progress_interval_seconds = 0.1;
        normout::train(config, options, &observer, &control);
    });
}

void TrainingController::resume_run(const QString& run_path, const QString& data_root) {
    const std::string path = run_path.toStdString(), root = data_root.toStdString();
    launch([path, root](TrainingObserver& observer, RunControl& control) {
        TrainOptions options;
        options.data_roots = data_roots(root);
        options.progress_interval_seconds = 0.1;
        normout::resume(path, options, &observer, &control);
    });
}

void TrainingController::pause() {
    if (control_) control_->set_paused(true);
}

void TrainingController::unpause() {
    if (control_) control_->set_paused(false);
}

void TrainingController::stop() {
    if (control_) control_->cancel();
}

bool TrainingController::wait(int ms) {
    return !thread_ || thread_->wait(ms);
}

}  // namespace normout::ui
