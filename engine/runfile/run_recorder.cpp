#include "engine/runfile/run_recorder.h"

#include <chrono>

namespace normout {

RunRecorder::RunRecorder(const std::string& path, const RunHeader& header, double flush_seconds)
    : path_(path), header_(header), flush_seconds_(flush_seconds) {
    thread_ = std::thread([this] { loop(); });
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return created_ || !error_.empty(); });
    if (!created_) {
        lock.unlock();
        thread_.join();
        throw RunFileError(error_);
    }
}

RunRecorder::~RunRecorder() {
    if (!finished_) finish(RunStatus::Failed, "the training engine ended without closing the run", 0);
}

void RunRecorder::add_step(const StepRecord& row) {
    std::lock_guard<std::mutex> lock(mutex_);
    steps_.push_back(row);
}

void RunRecorder::add_epoch(const EpochRecord& row) {
    std::lock_guard<std::mutex> lock(mutex_);
    epochs_.push_back(row);
    ++epochs_added_;
    cv_.notify_all();
}

void RunRecorder::wait_for_epochs() {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return epochs_synced_ >= epochs_added_ || !error_.empty() || finished_; });
}

void RunRecorder::add_layer_steps(const std::vector<LayerStepStats>& rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    layer_steps_.insert(layer_steps_.end(), rows.begin(), rows.end());
}

void RunRecorder::add_layer_epochs(const std::vector<LayerEpochSnapshot>& rows) {
    std::lock_guard<std::mutex> lock(mutex_);
    layer_epochs_.insert(layer_epochs_.end(), rows.begin(), rows.end());
}

void RunRecorder::set_weights(std::vector<NamedArray> state, int64_t global_step) {
    std::lock_guard<std::mutex> lock(mutex_);
    weights_ = std::make_unique<std::vector<NamedArray>>(std::move(state));
    weights_step_ = global_step;
    cv_.notify_all();
}

std::string RunRecorder::finish(RunStatus status, const std::string& message, int64_t global_step) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (finished_) return error_;
        finishing_ = true;
        final_status_ = status;
        final_message_ = message;
        final_step_ = global_step;
        cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    finished_ = true;
    return error_;
}

std::string RunRecorder::error() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return error_;
}

void RunRecorder::loop() {
    std::unique_ptr<RunWriter> writer;
    try {
        writer = std::make_unique<RunWriter>(path_, header_);
    } catch (const std::exception& e) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = e.what();
        cv_.notify_all();
        return;
    }
    {
        std::lock_guard<std::mutex> lock(mutex_);
        created_ = true;
        cv_.notify_all();
    }
    using Clock = std::chrono::steady_clock;
    const auto interval = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(flush_seconds_));
    auto next_flush = Clock::now() + interval;
    bool failed = false;
    while (true) {
        std::vector<StepRecord> steps;
        std::vector<EpochRecord> epochs;
        std::vector<LayerStepStats> layer_steps;
        std::vector<LayerEpochSnapshot> layer_epochs;
        std::unique_ptr<std::vector<NamedArray>> weights;
        int64_t weights_step = -1;
        bool finishing = false;
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait_until(lock, next_flush, [&] { return finishing_ || !epochs_.empty() || weights_; });
            steps.swap(steps_);
            epochs.swap(epochs_);
            layer_steps.swap(layer_steps_);
            layer_epochs.swap(layer_epochs_);
            weights.swap(weights_);
            weights_step = weights_step_;
            finishing = finishing_;
        }
        if (!failed) {
            try {
                writer->append_steps(steps);
                writer->append_layer_steps(layer_steps);
                writer->append_layer_epochs(layer_epochs);
                writer->append_epochs(epochs);
                if (weights) writer->write_weights(*weights, weights_step);
                if (finishing) writer->set_status(final_status_, final_message_, final_step_);
                writer->heartbeat();
                if (!epochs.empty() || finishing)
                    writer->sync();  // epoch ends reach the disk
                else
                    writer->flush();
                if (!epochs.empty()) {
                    std::lock_guard<std::mutex> lock(mutex_);
                    epochs_synced_ += static_cast<int64_t>(epochs.size());
                    cv_.notify_all();
                }
            } catch (const std::exception& e) {
                failed = true;
                std::lock_guard<std::mutex> lock(mutex_);
                error_ = e.what();
                cv_.notify_all();
            }
        }
        if (failed && finishing) {
            // The status lives in space allocated at creation: it can often still be written.
            try {
                writer->set_status(RunStatus::Failed, error_, final_step_);
                writer->flush();
            } catch (const std::exception&) {
            }
        }
        next_flush = Clock::now() + interval;
        if (finishing) break;
    }
    writer.reset();
}

}  // namespace normout
