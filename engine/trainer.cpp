#include "engine/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine/checkpoint.h"
#include "engine/data/loader.h"
#include "engine/data/prepare.h"
#include "engine/device.h"
#include "engine/evaluation.h"
#include "engine/model.h"
#include "engine/optim.h"
#include "engine/probes.h"
#include "engine/run_recorder.h"
#include "engine/state.h"
#include "engine/step.h"
#include "engine/version.h"

namespace normout {

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct EvalResult {
    double loss = std::nan("");
    double accuracy = std::nan("");
};

EvalResult evaluate(Net& net, const EvalBatches& set, int batch_size, const torch::Device& device) {
    if (set.size() == 0) return {};
    torch::NoGradGuard no_grad;
    net->eval();
    at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
    at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
    for (int64_t b = 0; b < set.size(); b += batch_size) {
        Batch batch = set.slice(b, std::min<int64_t>(b + batch_size, set.size()));
        const at::Tensor x = batch.x.to(device), y = batch.y.to(device);
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

std::vector<ArraySpec> state_specs(const torch::nn::Module& module) {
    std::vector<ArraySpec> specs;
    for (const auto& a : export_state(module))
        specs.push_back({a.name, a.shape, a.is_integer});
    return specs;
}

bool gradients_finite(const std::vector<at::Tensor>& params) {
    at::Tensor total = at::zeros({}, params.front().options().dtype(at::kDouble));
    for (const auto& p : params)
        if (p.grad().defined()) total += p.grad().sum(at::kDouble);
    return std::isfinite(total.item<double>());
}

// Everything one training session needs, for a new run or a resumed one.
struct Session {
    RunConfig config;
    TrainOptions options;
    std::string run_path;  // the first segment: checkpoints are named after it
    DeviceChoice dev;
    int threads = 0;
    std::shared_ptr<const PreparedData> data;
    std::vector<LayerInfo> table;
    Net net{nullptr};
    std::unique_ptr<torch::optim::Optimizer> optimizer;
    std::unique_ptr<Instrumentation> instrument;
    RunHeader header;
    TrainingPosition pos;
    std::vector<EpochRecord> epochs;  // recorded so far, earlier segments included
};

// Validation, device, data and model: all that can fail before a file is written.
void prepare_session(Session& s) {
    validate(s.config);
    s.dev = resolve_device(s.config.train.device);
    s.threads = configure_threads(s.config.train.threads);
    if (!s.data)
        s.data = std::make_shared<PreparedData>(prepare_data(s.config.data, s.options.data_roots, s.config.train.seed));
    s.table = layer_table(s.config.model, s.data->channels(), s.data->num_classes());
    torch::manual_seed(s.config.train.seed);
    s.net = build_model(s.table, s.data->mean, s.data->stddev, s.config.model.fast_classifier);
    s.instrument = std::make_unique<Instrumentation>(
        s.net, s.config.instrument,
        std::vector<int64_t>{s.data->train.channels, s.data->train.height, s.data->train.width});
    s.net->to(torch::Device(s.dev.name));
    s.net->train();
    s.optimizer = make_optimizer(s.net, s.config.train);
}

RunHeader make_header(Session& s) {
    RunHeader h;
    h.run_id = new_run_id();
    h.name = s.config.name;
    h.preset = s.config.preset;
    h.config_json = config_to_json(s.config);
    h.code_version = code_version();
    h.created_utc = utc_now_iso8601();
    h.start_unix_ms = unix_time_ms();
    h.torch_version = torch_version();
    h.hdf5_version = hdf5_version();
    h.device = s.dev.name;
    h.host = host_name();
    h.pid = static_cast<int64_t>(::getpid());
    h.dataset = s.config.data.dataset;
    h.data_source = s.data->source;
    h.class_names = s.data->class_names;
    h.mean = s.data->mean;
    h.stddev = s.data->stddev;
    h.train_count = s.data->train.count;
    h.val_count = s.data->val.count;
    h.test_count = s.data->test.count;
    h.channels = s.data->train.channels;
    h.height = s.data->train.height;
    h.width = s.data->train.width;
    for (const auto& l : s.table) {
        h.layer_kinds.push_back(l.kind);
        h.layer_descriptions.push_back(l.describe());
    }
    h.parameter_count = parameter_count(s.net);
    h.weights = state_specs(*s.net);
    h.instrumented = s.instrument->layers();
    h.histogram_bins = s.config.instrument.histogram_bins;
    h.instrument_every = s.config.instrument.every;
    h.ewma_alpha = s.config.instrument.ewma_alpha;
    return h;
}

RunOutcome run_session(Session& s, const std::string& segment, TrainingObserver& obs, const CancelToken* cancel) {
    const auto session_start = Clock::now();
    const double wall_offset = s.pos.wall_seconds;
    auto wall = [&] { return wall_offset + seconds_since(session_start); };
    const torch::Device device(s.dev.name);
    const RunConfig& c = s.config;

    const fs::path out(segment);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    // A new run checkpoints its initial state before its file exists: any run file then has a
    // checkpoint to resume from, however early its writer is killed.
    if (s.header.segment == 0 && s.pos.global_step == 0)
        save_checkpoint(checkpoint_path(s.run_path, 0), s.header.run_id, s.net, *s.optimizer, s.pos);
    RunRecorder recorder(segment, s.header, c.record.flush_seconds);
    TrainingEvaluation evaluation(c.evaluate);

    BatchLoader loader(s.data->train, c.data.augment, c.train.batch_size, /*shuffle=*/true, c.train.seed,
                       c.data.prefetch);
    const EvalBatches test_set(s.data->test), val_set(s.data->val);
    const int epochs = c.train.epochs;
    const int64_t steps_per_epoch = loader.batches_per_epoch();
    const int64_t total_steps = steps_per_epoch * epochs;
    auto params = s.net->parameters();

    RunStartInfo start;
    start.run_id = s.header.run_id;
    start.out_path = segment;
    start.device = s.dev.name;
    start.threads = s.threads;
    start.epochs = epochs;
    start.steps_per_epoch = steps_per_epoch;
    start.train_count = s.data->train.count;
    start.val_count = s.data->val.count;
    start.test_count = s.data->test.count;
    start.data_source = s.data->source;
    start.layers = s.table;
    start.parameter_count = s.header.parameter_count;
    start.first_step = s.pos.global_step;
    start.instrumented = s.instrument->layers();
    obs.on_run_started(start);

    RunOutcome outcome;
    outcome.out_path = segment;
    TrainingPosition& pos = s.pos;
    Instrumentation& instrument = *s.instrument;
    std::vector<StepRecord> step_rows;  // for the observers, sent in batches
    auto add_step = [&](const StepRecord& row) {
        recorder.add_step(row);
        step_rows.push_back(row);
    };
    // Step rows and layer statistics go to the observers in batches.
    auto drain = [&] {
        if (!step_rows.empty()) {
            obs.on_steps(step_rows);
            step_rows.clear();
        }
        const auto rows = instrument.drain();
        if (rows.empty()) return;
        recorder.add_layer_steps(rows);
        obs.on_layer_stats(rows);
    };
    // A checkpoint that cannot be written ends the run as failed: continuing would leave
    // hours of training that cannot be resumed.
    auto checkpoint = [&](const TrainingPosition& p) {
        try {
            drain();  // the moving averages must include every recorded step
            // The checkpoint counts the epoch rows it covers: they must be on disk first, or a
            // writer killed in between leaves a file that the resumed run cannot complete.
            recorder.wait_for_epochs();
            save_checkpoint(checkpoint_path(s.run_path, p.global_step), s.header.run_id, s.net, *s.optimizer, p,
                            instrument.state());
            prune_checkpoints(s.run_path, c.record.keep_checkpoints);
            return true;
        } catch (const std::exception& e) {
            outcome.status = RunStatus::Failed;
            outcome.message = e.what();
            return false;
        }
    };
    try {
        for (int epoch = pos.epoch; epoch < epochs && outcome.status == RunStatus::Finished; ++epoch) {
            const auto epoch_start = Clock::now() - std::chrono::duration_cast<Clock::duration>(
                                                        std::chrono::duration<double>(pos.epoch_elapsed));
            const double lr = learning_rate_at(c.train, epoch);
            set_learning_rate(*s.optimizer, lr);
            loader.start_epoch(epoch, pos.step_in_epoch);
            // Running sums stay on the device; they are read back only when reported.
            at::Tensor loss_sum = at::full({}, pos.loss_sum, at::TensorOptions().dtype(at::kDouble).device(device));
            at::Tensor correct = at::full({}, pos.correct, at::TensorOptions().dtype(at::kLong).device(device));
            int64_t seen = pos.seen, step = pos.step_in_epoch;
            auto last_report = Clock::now();
            auto position_now = [&] {
                TrainingPosition p;
                p.epoch = epoch;
                p.step_in_epoch = step;
                p.global_step = pos.global_step;
                p.loss_sum = loss_sum.item<double>();
                p.correct = correct.item<int64_t>();
                p.seen = seen;
                p.epoch_elapsed = seconds_since(epoch_start);
                p.epoch_rows = static_cast<int64_t>(s.epochs.size());
                p.wall_seconds = wall();
                return p;
            };
            Batch batch;
            while (loader.next(batch)) {
                if (cancel && cancel->paused()) {
                    obs.on_paused(true);
                    cancel->wait_while_paused();
                    obs.on_paused(false);
                }
                const bool cancelled = cancel && cancel->cancelled();
                const bool limit = s.options.max_steps > 0 && pos.global_step >= s.options.max_steps;
                if (cancelled || limit) {
                    outcome.status = RunStatus::Stopped;
                    outcome.message = limit ? "step limit of " + std::to_string(s.options.max_steps) + " reached"
                                            : "stopped at epoch " + std::to_string(epoch + 1) + ", step " +
                                                  std::to_string(step) + " of " + std::to_string(steps_per_epoch);
                    checkpoint(position_now());  // resumable from exactly here
                    break;
                }
                if (const std::string err = recorder.error(); !err.empty()) {
                    outcome.status = RunStatus::Failed;
                    outcome.message = err;
                    break;
                }
                const at::Tensor x = batch.x.to(device, /*non_blocking=*/true);
                const at::Tensor y = batch.y.to(device, /*non_blocking=*/true);
                instrument.set_active((pos.global_step + 1) % c.instrument.every == 0, pos.global_step + 1);
                const auto [loss, logits] = train_step(s.net, *s.optimizer, params, x, y);
                instrument.set_active(false, pos.global_step + 1);
                const int64_t n = x.size(0);
                const at::Tensor batch_correct = logits.argmax(1).eq(y).sum();
                ++step;
                ++pos.global_step;
                // The per-step row needs the loss on the host: free on the CPU. (On a GPU this
                // read synchronises once per step.)
                const double batch_loss = loss.item<double>();
                const bool finite = std::isfinite(batch_loss) && (!c.train.check_gradients || gradients_finite(params));
                if (!finite) {
                    outcome.status = RunStatus::Diverged;
                    outcome.message = std::string(std::isfinite(batch_loss) ? "a gradient" : "the loss") +
                                      " became non-finite at step " + std::to_string(pos.global_step) + " (epoch " +
                                      std::to_string(epoch + 1) + ")";
                    add_step({pos.global_step, epoch + 1, batch_loss,
                              static_cast<double>(batch_correct.item<int64_t>()) / static_cast<double>(n), lr, wall()});
                    break;
                }
                loss_sum += loss.to(at::kDouble) * static_cast<double>(n);
                correct += batch_correct;
                seen += n;
                add_step({pos.global_step, epoch + 1, batch_loss,
                          static_cast<double>(batch_correct.item<int64_t>()) / static_cast<double>(n), lr, wall()});
                if (step == steps_per_epoch || seconds_since(last_report) >= s.options.progress_interval_seconds) {
                    last_report = Clock::now();
                    drain();
                    StepProgress p;
                    p.epoch = epoch + 1;
                    p.epochs = epochs;
                    p.step = step;
                    p.steps_per_epoch = steps_per_epoch;
                    p.global_step = pos.global_step;
                    p.total_steps = total_steps;
                    p.loss = loss_sum.item<double>() / static_cast<double>(seen);
                    p.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen);
                    const double elapsed = seconds_since(epoch_start);
                    p.images_per_second = static_cast<double>(seen) / std::max(elapsed, 1e-9);
                    p.elapsed_seconds = wall();
                    p.eta_seconds =
                        elapsed / static_cast<double>(step) * static_cast<double>(total_steps - pos.global_step);
                    obs.on_step(p);
                }
            }
            drain();
            if (outcome.status != RunStatus::Finished) break;

            const auto snapshots = instrument.end_epoch(epoch + 1);
            recorder.add_layer_epochs(snapshots);
            obs.on_layer_epoch(snapshots);
            const double train_seconds = seconds_since(epoch_start);
            EpochRecord r;
            r.epoch = epoch + 1;
            r.train_loss = loss_sum.item<double>() / static_cast<double>(seen);
            r.train_accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen);
            const EvalResult val = evaluate(s.net, val_set, c.train.eval_batch_size, device);
            const EvalResult test = evaluate(s.net, test_set, c.train.eval_batch_size, device);
            r.val_loss = val.loss;
            r.val_accuracy = val.accuracy;
            r.test_loss = test.loss;
            r.test_accuracy = test.accuracy;
            r.learning_rate = lr;
            r.epoch_seconds = seconds_since(epoch_start);
            r.wall_seconds = wall();
            r.images_per_second =
                static_cast<double>(seen - pos.seen) / std::max(train_seconds - pos.epoch_elapsed, 1e-9);
            r.generalisation_gap = r.train_accuracy - r.test_accuracy;
            recorder.add_epoch(r);
            s.epochs.push_back(r);
            obs.on_epoch(r);
            const int64_t global_step = pos.global_step;
            pos = TrainingPosition{};
            pos.epoch = epoch + 1;
            pos.global_step = global_step;
            pos.epoch_rows = static_cast<int64_t>(s.epochs.size());
            pos.wall_seconds = wall();
            const bool last = epoch + 1 == epochs;
            if (c.record.checkpoint_every > 0 && ((epoch + 1) % c.record.checkpoint_every == 0 || last))
                checkpoint(pos);
            // After the checkpoint: a run stopped during a long attack keeps its epoch.
            if (evaluation.attacks_due(epoch + 1, epochs) || evaluation.flatness_due(epoch + 1, epochs)) {
                try {
                    evaluation.after_epoch(s.net, s.data->test, epoch + 1, epochs, pos.global_step, device, obs,
                                           [cancel] { return cancel && cancel->cancelled(); });
                } catch (const std::exception& e) {
                    // A failed measurement must not cost the training run.
                    obs.on_message(std::string("evaluation after epoch ") + std::to_string(epoch + 1) +
                                   " failed: " + e.what());
                }
            }
        }
        // Diverged weights are not finite: the last good checkpoint keeps the usable ones.
        if (outcome.status == RunStatus::Finished || outcome.status == RunStatus::Stopped)
            recorder.set_weights(export_state(*s.net), pos.global_step);
    } catch (const std::exception& e) {
        outcome.status = RunStatus::Failed;
        outcome.message = e.what();
    }
    outcome.steps = pos.global_step;
    outcome.epochs = s.epochs;
    outcome.wall_seconds = wall();
    const std::string write_error = recorder.finish(outcome.status, outcome.message, pos.global_step);
    if (!write_error.empty()) {
        outcome.status = RunStatus::Failed;
        outcome.message = write_error;
    } else if (const std::string err = evaluation.store(s.run_path); !err.empty()) {
        obs.on_message(err);  // the training record itself is complete
    }
    obs.on_run_finished(outcome);
    return outcome;
}

}  // namespace

RunOutcome train(const RunConfig& config, const TrainOptions& options, TrainingObserver* observer,
                 const CancelToken* cancel) {
    TrainingObserver silent;
    Session s;
    s.config = config;
    s.options = options;
    s.data = options.data;
    s.run_path = options.out_path;
    if (options.out_path.empty()) throw ConfigError("out", "no run file given");
    if (fs::exists(options.out_path)) {
        if (!options.overwrite)
            throw ConfigError("out", "'" + options.out_path + "' already exists (choose another name or overwrite it)");
    }
    prepare_session(s);
    if (options.overwrite) {  // an overwritten run takes its segments and checkpoints with it
        fs::remove(options.out_path);
        for (int k = 1; fs::exists(segment_path(options.out_path, k)); ++k)
            fs::remove(segment_path(options.out_path, k));
        for (const auto& ck : list_checkpoints(options.out_path))
            fs::remove(ck.path);
    }
    s.header = make_header(s);
    return run_session(s, options.out_path, observer ? *observer : silent, cancel);
}

RunOutcome resume(const std::string& run_path, const TrainOptions& options, TrainingObserver* observer,
                  const CancelToken* cancel) {
    TrainingObserver silent;
    const RunInfo info = read_run(run_path);
    if (info.status == "finished") throw std::runtime_error(run_path + ": the run has already finished");
    if (info.status == "running")
        throw std::runtime_error(run_path + ": the run is still being written (process " +
                                 std::to_string(info.header.pid) + " on " + info.header.host + ")");
    if (info.status == "diverged")
        throw std::runtime_error(run_path +
                                 ": the run diverged; resuming from its last checkpoint would diverge "
                                 "again (start a new run with other settings)");
    Session s;
    s.config = config_from_json(info.header.config_json);
    s.options = options;
    s.data = options.data;
    s.run_path = run_path;
    prepare_session(s);

    const auto checkpoints = list_checkpoints(run_path);
    std::string errors;
    bool loaded = false;
    for (auto it = checkpoints.rbegin(); it != checkpoints.rend() && !loaded; ++it) {
        try {
            std::map<std::string, at::Tensor> extra;
            s.pos = load_checkpoint(it->path, info.header.run_id, s.net, *s.optimizer, &extra);
            s.instrument->load_state(extra);
            loaded = true;
        } catch (const std::exception& e) {
            errors += std::string("\n  ") + e.what();
        }
    }
    if (!loaded)
        throw std::runtime_error(run_path + ": no usable checkpoint to resume from" +
                                 (errors.empty() ? std::string(" (none found next to the run file)") : errors));
    s.epochs.assign(
        info.epochs.begin(),
        info.epochs.begin() + std::min<std::size_t>(info.epochs.size(), static_cast<std::size_t>(s.pos.epoch_rows)));

    s.header = make_header(s);
    s.header.run_id = info.header.run_id;  // one run, several segments
    s.header.created_utc = info.header.created_utc;
    s.header.start_unix_ms = unix_time_ms() - static_cast<int64_t>(s.pos.wall_seconds * 1000.0);
    s.header.segment = static_cast<int>(info.segments.size());
    s.header.resumed_from_step = s.pos.global_step;
    s.header.resumed_epoch_rows = s.pos.epoch_rows;
    return run_session(s, segment_path(run_path, s.header.segment), observer ? *observer : silent, cancel);
}

}  // namespace normout
