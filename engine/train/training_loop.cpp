#include "engine/train/training_loop.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <cmath>
#include <filesystem>

#include "engine/config/schedule.h"
#include "engine/data/prepare.h"
#include "engine/model/layer_epoch.h"
#include "engine/model/optim.h"
#include "engine/model/precision.h"
#include "engine/model/state.h"
#include "engine/runfile/run_recorder.h"
#include "engine/train/adversarial.h"
#include "engine/train/device_batches.h"
#include "engine/train/step.h"
#include "engine/train/training_evaluation.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

struct EvalResult {
    double loss = std::nan("");
    double accuracy = std::nan("");
};

EvalResult evaluate(Net& net, const EvalBatches& set, const TrainConfig& train, const DeviceChoice& dev) {
    if (set.size() == 0) return {};
    const torch::Device device(dev.name);
    const int batch_size = train.eval_batch_size;
    torch::NoGradGuard no_grad;
    const AutocastScope autocast(train.precision, dev);
    net->eval();
    at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
    at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
    for (int64_t b = 0; b < set.size(); b += batch_size) {
        Batch batch = set.slice(b, std::min<int64_t>(b + batch_size, set.size()));
        const at::Tensor x = in_memory_format(batch.x.to(device), train.channels_last), y = batch.y.to(device);
        const at::Tensor logits = net->forward(x);
        loss_sum += torch::nn::functional::cross_entropy(
                        logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kSum))
                        .to(at::kDouble);
        correct += logits.argmax(1).eq(y).sum();
    }
    net->train();
    const double n = static_cast<double>(set.size());
    return {loss_sum.item<double>() / n, static_cast<double>(correct.item<int64_t>()) / n};
}

}  // namespace

TrainingLoop::TrainingLoop(Session& session, std::string segment, TrainingObserver& observer, const RunControl* control)
    : s_(session),
      c_(session.config),
      segment_(std::move(segment)),
      obs_(observer),
      control_(control),
      device_(session.dev.name),
      session_start_(Clock::now()),
      wall_offset_(session.pos.wall_seconds) {}

TrainingLoop::~TrainingLoop() = default;

double TrainingLoop::wall() const {
    return wall_offset_ + seconds_since(session_start_);
}

double TrainingLoop::epoch_seconds() const {
    return seconds_since(epoch_start_);
}

RunOutcome TrainingLoop::run() {
    const std::filesystem::path out(segment_);
    if (out.has_parent_path()) std::filesystem::create_directories(out.parent_path());
    // A new run checkpoints its initial state before its file exists: any run file then has a
    // checkpoint to resume from, however early its writer is killed.
    if (s_.header.segment == 0 && s_.pos.global_step == 0)
        save_checkpoint(checkpoint_path(s_.run_path, 0), s_.header.run_id, s_.net, *s_.optimizer, s_.pos);
    recorder_ = std::make_unique<RunRecorder>(segment_, s_.header, c_.record.flush_seconds);
    evaluation_ = std::make_unique<TrainingEvaluation>(c_.evaluate);
    // On CUDA the training set lives on the GPU and is augmented there: no CPU loader in the loop.
    loader_ = make_training_batches(s_.data->train, c_.data.augment, c_.train.batch_size, c_.train.seed,
                                    c_.data.prefetch, device_);
    test_set_ = std::make_unique<EvalBatches>(s_.data->test);
    val_set_ = std::make_unique<EvalBatches>(s_.data->val);
    steps_per_epoch_ = loader_->batches_per_epoch();
    total_steps_ = steps_per_epoch_ * c_.train.epochs;
    params_ = s_.net->parameters();
    outcome_.out_path = segment_;

    RunStartInfo start;
    start.run_id = s_.header.run_id;
    start.out_path = segment_;
    start.device = s_.dev.name;
    start.threads = s_.threads;
    start.epochs = c_.train.epochs;
    start.steps_per_epoch = steps_per_epoch_;
    start.train_count = s_.data->train.count;
    start.val_count = s_.data->val.count;
    start.test_count = s_.data->test.count;
    start.data_source = s_.data->source;
    start.layers = s_.table;
    start.parameter_count = s_.header.parameter_count;
    start.first_step = s_.pos.global_step;
    start.instrumented = s_.instrument->layers();
    start.step_extra = s_.header.step_extra;
    start.epoch_extra = s_.header.epoch_extra;
    obs_.on_run_started(start);

    try {
        for (int epoch = s_.pos.epoch; epoch < c_.train.epochs; ++epoch)
            if (!run_epoch(epoch)) break;
        // Diverged weights are not finite: the last good checkpoint keeps the usable ones.
        if (outcome_.status == RunStatus::Finished || outcome_.status == RunStatus::Stopped)
            recorder_->set_weights(export_state(*s_.net), s_.pos.global_step);
    } catch (const std::exception& e) {
        fail(RunStatus::Failed, e.what());
    }
    return finish();
}

bool TrainingLoop::run_epoch(int epoch) {
    const TrainingPosition& pos = s_.pos;
    epoch_start_ =
        Clock::now() - std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(pos.epoch_elapsed));
    lr_ = learning_rate_at(c_.train, epoch);
    set_learning_rate(*s_.optimizer, lr_);
    set_layer_epoch(s_.net, epoch);
    extra_sum_ = pos.extra_sum;
    extra_weight_ = pos.extra_weight;
    extra_sum_.resize(s_.header.step_extra.size(), 0.0);
    extra_weight_.resize(s_.header.step_extra.size(), 0.0);
    loader_->start_epoch(epoch, pos.step_in_epoch);
    loss_sum_ = at::full({}, pos.loss_sum, at::TensorOptions().dtype(at::kDouble).device(device_));
    correct_ = at::full({}, pos.correct, at::TensorOptions().dtype(at::kLong).device(device_));
    seen_ = pos.seen;
    step_in_epoch_ = pos.step_in_epoch;
    last_report_ = Clock::now();

    Batch batch;
    while (loader_->next(batch)) {
        if (should_stop(epoch)) return false;
        step(batch);
        const bool last = step_in_epoch_ == steps_per_epoch_;
        if (last || seconds_since(last_report_) >= s_.options.progress_interval_seconds)
            if (!report(epoch, /*notify=*/true)) return false;
    }
    if (!report(epoch, /*notify=*/false)) return false;
    end_epoch(epoch);
    return outcome_.status == RunStatus::Finished;
}

bool TrainingLoop::should_stop(int epoch) {
    if (control_ && control_->paused()) {
        obs_.on_paused(true);
        control_->wait_while_paused();
        obs_.on_paused(false);
    }
    const bool cancelled = control_ && control_->cancelled();
    const bool limit = s_.options.max_steps > 0 && s_.pos.global_step >= s_.options.max_steps;
    if (cancelled || limit) {
        if (!report(epoch, /*notify=*/false)) return true;
        fail(RunStatus::Stopped, limit
                                     ? "step limit of " + std::to_string(s_.options.max_steps) + " reached"
                                     : "stopped at epoch " + std::to_string(epoch + 1) + ", step " +
                                           std::to_string(step_in_epoch_) + " of " + std::to_string(steps_per_epoch_));
        checkpoint(position_now(epoch));  // resumable from exactly here
        return true;
    }
    if (const std::string err = recorder_->error(); !err.empty()) {
        fail(RunStatus::Failed, err);
        return true;
    }
    return false;
}

void TrainingLoop::step(const Batch& batch) {
    TrainingPosition& pos = s_.pos;
    at::Tensor x = in_memory_format(batch.x.to(device_, /*non_blocking=*/true), c_.train.channels_last);
    const at::Tensor y = batch.y.to(device_, /*non_blocking=*/true);
    Instrumentation& instrument = *s_.instrument;
    const AutocastScope autocast(c_.train.precision, s_.dev);
    int64_t adversarial = 0;
    if (c_.train.adversarial != "none") {
        // Crafted before the instrumentation is switched on: it records the training step only.
        AdversarialBatch crafted = craft_adversarial_batch(s_.net, x, y, c_.train);
        x = crafted.x;
        adversarial = crafted.count;
    }
    instrument.set_active((pos.global_step + 1) % c_.instrument.every == 0, pos.global_step + 1);
    const StepResult result = train_step(s_.net, *s_.optimizer, params_, x, y, s_.penalties.get());
    instrument.set_active(false, pos.global_step + 1);
    const at::Tensor& loss = result.loss;
    const int64_t n = x.size(0);
    const at::Tensor hits = result.logits.argmax(1).eq(y);
    const at::Tensor batch_correct = hits.sum();
    ++step_in_epoch_;
    ++pos.global_step;
    loss_sum_ += loss.to(at::kDouble) * static_cast<double>(n);
    correct_ += batch_correct;
    seen_ += n;
    // In the order of the run's step extras (training.cpp, extra_series()).
    std::vector<at::Tensor> extra = result.penalties;
    if (!result.penalties.empty()) extra.push_back(result.objective);
    if (c_.train.adversarial != "none") extra.push_back(hits.narrow(0, 0, adversarial).to(at::kDouble).mean());
    ledger_.add(pos.global_step, wall(), loss, batch_correct, n, c_.train.check_gradients ? &params_ : nullptr, extra);
}

// One read-back for all steps since the last report: their rows go to the recorder and the
// observers, and the first non-finite loss or gradient ends the run at its exact step.
bool TrainingLoop::report(int epoch, bool notify) {
    for (const LedgerRow& p : ledger_.read_back()) {
        StepRecord row{p.global_step, epoch + 1,     p.loss, p.correct / static_cast<double>(p.batch_size),
                       lr_,           p.wall_seconds};
        row.extra = p.extra;
        const auto& names = s_.header.step_extra;
        for (std::size_t k = 0; k < row.extra.size() && k < extra_sum_.size(); ++k) {
            const double weight = static_cast<double>(
                names[k] == "robust_accuracy" ? adversarial_count(c_.train, p.batch_size) : p.batch_size);
            extra_sum_[k] += row.extra[k] * weight;
            extra_weight_[k] += weight;
        }
        recorder_->add_step(row);
        step_rows_.push_back(row);
        if (!std::isfinite(p.loss) || !p.gradients_finite) {
            s_.pos.global_step = p.global_step;
            fail(RunStatus::Diverged, std::string(std::isfinite(p.loss) ? "a gradient" : "the loss") +
                                          " became non-finite at step " + std::to_string(p.global_step) + " (epoch " +
                                          std::to_string(epoch + 1) + ")");
            break;  // later steps are not recorded: the run ends here
        }
    }
    drain_layers();
    if (outcome_.status == RunStatus::Diverged) return false;
    if (!notify) return true;
    last_report_ = Clock::now();
    StepProgress p;
    p.epoch = epoch + 1;
    p.epochs = c_.train.epochs;
    p.step = step_in_epoch_;
    p.steps_per_epoch = steps_per_epoch_;
    p.global_step = s_.pos.global_step;
    p.total_steps = total_steps_;
    p.loss = loss_sum_.item<double>() / static_cast<double>(seen_);
    p.accuracy = static_cast<double>(correct_.item<int64_t>()) / static_cast<double>(seen_);
    const double elapsed = epoch_seconds();
    p.images_per_second = static_cast<double>(seen_) / std::max(elapsed, 1e-9);
    p.elapsed_seconds = wall();
    p.eta_seconds = elapsed / static_cast<double>(step_in_epoch_) * static_cast<double>(total_steps_ - p.global_step);
    obs_.on_step(p);
    if (obs_.wants_epoch_so_far() && seconds_since(last_epoch_so_far_) >= kEpochSoFarSeconds) {
        last_epoch_so_far_ = Clock::now();
        const auto so_far = s_.instrument->epoch_so_far(epoch + 1);
        if (!so_far.empty()) obs_.on_layer_epoch_so_far(so_far);
    }
    return true;
}

// Step rows and layer statistics go to the observers in batches.
void TrainingLoop::drain_layers() {
    if (!step_rows_.empty()) {
        obs_.on_steps(step_rows_);
        step_rows_.clear();
    }
    const auto rows = s_.instrument->drain();
    if (rows.empty()) return;
    recorder_->add_layer_steps(rows);
    obs_.on_layer_stats(rows);
}

void TrainingLoop::end_epoch(int epoch) {
    const auto snapshots = s_.instrument->end_epoch(epoch + 1);
    recorder_->add_layer_epochs(snapshots);
    obs_.on_layer_epoch(snapshots);
    const double train_seconds = epoch_seconds();
    EpochRecord r;
    r.epoch = epoch + 1;
    r.train_loss = loss_sum_.item<double>() / static_cast<double>(seen_);
    r.train_accuracy = static_cast<double>(correct_.item<int64_t>()) / static_cast<double>(seen_);
    const EvalResult val = evaluate(s_.net, *val_set_, c_.train, s_.dev);
    const EvalResult test = evaluate(s_.net, *test_set_, c_.train, s_.dev);
    r.val_loss = val.loss;
    r.val_accuracy = val.accuracy;
    r.test_loss = test.loss;
    r.test_accuracy = test.accuracy;
    r.learning_rate = lr_;
    r.epoch_seconds = epoch_seconds();
    r.wall_seconds = wall();
    r.images_per_second =
        static_cast<double>(seen_ - s_.pos.seen) / std::max(train_seconds - s_.pos.epoch_elapsed, 1e-9);
    r.generalisation_gap = r.train_accuracy - r.test_accuracy;
    for (std::size_t k = 0; k < extra_sum_.size(); ++k)
        r.extra.push_back(extra_weight_[k] > 0 ? extra_sum_[k] / extra_weight_[k] : std::nan(""));
    for (double v : schedule_values(s_.table, epoch))
        r.extra.push_back(v);
    recorder_->add_epoch(r);
    s_.epochs.push_back(r);
    obs_.on_epoch(r);

    TrainingPosition next;
    next.epoch = epoch + 1;
    next.global_step = s_.pos.global_step;
    next.epoch_rows = static_cast<int64_t>(s_.epochs.size());
    next.wall_seconds = wall();
    s_.pos = next;
    const bool last = epoch + 1 == c_.train.epochs;
    if (c_.record.checkpoint_every > 0 && ((epoch + 1) % c_.record.checkpoint_every == 0 || last) &&
        !checkpoint(s_.pos))
        return;
    // After the checkpoint: a run stopped during a long attack keeps its epoch.
    evaluate_after(epoch);
}

void TrainingLoop::evaluate_after(int epoch) {
    const int epochs = c_.train.epochs;
    if (!evaluation_->attacks_due(epoch + 1, epochs) && !evaluation_->flatness_due(epoch + 1, epochs)) return;
    try {
        const RunControl* control = control_;
        evaluation_->after_epoch(s_.net, s_.data->test, epoch + 1, epochs, s_.pos.global_step, device_, obs_,
                                 [control] { return control && control->cancelled(); });
    } catch (const std::exception& e) {
        // A failed measurement must not cost the training run.
        obs_.on_message(std::string("evaluation after epoch ") + std::to_string(epoch + 1) + " failed: " + e.what());
    }
}

// A checkpoint that cannot be written ends the run as failed: continuing would leave hours of
// training that cannot be resumed.
bool TrainingLoop::checkpoint(const TrainingPosition& position) {
    // A non-finite gradient that left the loss finite (train.check_gradients off) shows here:
    // such weights must not become the checkpoint a resumed run starts from.
    if (!state_is_finite(*s_.net)) {
        fail(RunStatus::Diverged, "the weights became non-finite by step " + std::to_string(position.global_step) +
                                      " (set train.check_gradients=true to stop at the exact step)");
        return false;
    }
    try {
        drain_layers();  // the moving averages must include every recorded step
        // The checkpoint counts the epoch rows it covers: they must be on disk first, or a writer
        // killed in between leaves a file that the resumed run cannot complete.
        recorder_->wait_for_epochs();
        save_checkpoint(checkpoint_path(s_.run_path, position.global_step), s_.header.run_id, s_.net, *s_.optimizer,
                        position, s_.instrument->state());
        prune_checkpoints(s_.run_path, c_.record.keep_checkpoints);
        return true;
    } catch (const std::exception& e) {
        fail(RunStatus::Failed, e.what());
        return false;
    }
}

TrainingPosition TrainingLoop::position_now(int epoch) {
    TrainingPosition p;
    p.epoch = epoch;
    p.step_in_epoch = step_in_epoch_;
    p.global_step = s_.pos.global_step;
    p.loss_sum = loss_sum_.item<double>();
    p.correct = correct_.item<int64_t>();
    p.seen = seen_;
    p.epoch_elapsed = epoch_seconds();
    p.epoch_rows = static_cast<int64_t>(s_.epochs.size());
    p.wall_seconds = wall();
    p.extra_sum = extra_sum_;
    p.extra_weight = extra_weight_;
    return p;
}

void TrainingLoop::fail(RunStatus status, std::string message) {
    outcome_.status = status;
    outcome_.message = std::move(message);
}

RunOutcome TrainingLoop::finish() {
    outcome_.steps = s_.pos.global_step;
    outcome_.epochs = s_.epochs;
    outcome_.wall_seconds = wall();
    // Measurements taken during training go to the run's analysis file before the run is marked
    // ended, so that a failure to store them is in the run's status message too (the results
    // themselves are then kept in a file the readers find, named in the error).
    if (const std::string err = evaluation_->store(s_.run_path); !err.empty()) {
        outcome_.message += (outcome_.message.empty() ? "" : "; ") + err;
        obs_.on_error(err);
    }
    const std::string write_error = recorder_->finish(outcome_.status, outcome_.message, s_.pos.global_step);
    if (!write_error.empty()) fail(RunStatus::Failed, write_error);
    obs_.on_run_finished(outcome_);
    return outcome_;
}

}  // namespace normout
