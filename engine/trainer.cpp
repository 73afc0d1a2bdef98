#include "engine/trainer.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/loss.h>
#include <torch/utils.h>

#include <chrono>
#include <cmath>
#include <filesystem>

#include "engine/data/loader.h"
#include "engine/data/prepare.h"
#include "engine/device.h"
#include "engine/model.h"
#include "engine/optim.h"
#include "engine/state.h"
#include "engine/step.h"
#include "engine/version.h"

namespace normout {

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

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

RunHeader make_header(const RunConfig& config, const PreparedData& data, const std::vector<LayerInfo>& table,
                      int64_t params, const std::string& device) {
    RunHeader h;
    h.run_id = new_run_id();
    h.name = config.name;
    h.preset = config.preset;
    h.config_json = config_to_json(config);
    h.code_version = code_version();
    h.created_utc = utc_now_iso8601();
    h.torch_version = torch_version();
    h.hdf5_version = hdf5_version();
    h.device = device;
    h.dataset = config.data.dataset;
    h.data_source = data.source;
    h.class_names = data.class_names;
    h.mean = data.mean;
    h.stddev = data.stddev;
    h.train_count = data.train.count;
    h.val_count = data.val.count;
    h.test_count = data.test.count;
    h.channels = data.train.channels;
    h.height = data.train.height;
    h.width = data.train.width;
    for (const auto& l : table) {
        h.layer_kinds.push_back(l.kind);
        h.layer_descriptions.push_back(l.describe());
    }
    h.parameter_count = params;
    return h;
}

}  // namespace

RunOutcome train(const RunConfig& config, const TrainOptions& options, TrainingObserver* observer,
                 const CancelToken* cancel) {
    TrainingObserver silent;
    TrainingObserver& obs = observer ? *observer : silent;
    const auto run_start = Clock::now();

    // --- everything that can be wrong with the request fails here, before a file exists ---
    validate(config);
    if (options.out_path.empty()) throw ConfigError("out", "no run file given");
    namespace fs = std::filesystem;
    if (!options.overwrite && fs::exists(options.out_path))
        throw ConfigError("out", "'" + options.out_path + "' already exists (choose another name or overwrite it)");
    const DeviceChoice dev = resolve_device(config.train.device);
    const torch::Device device(dev.name);
    const int threads = configure_threads(config.train.threads);
    std::shared_ptr<const PreparedData> data = options.data;
    if (!data)
        data = std::make_shared<PreparedData>(prepare_data(config.data, options.data_roots, config.train.seed));
    const auto table = layer_table(config.model, data->channels(), data->num_classes());

    torch::manual_seed(config.train.seed);
    Net net = build_model(table, data->mean, data->stddev, config.model.fast_classifier);
    net->to(device);
    net->train();
    auto optimizer = make_optimizer(net, config.train);
    auto params = net->parameters();

    const fs::path out(options.out_path);
    if (out.has_parent_path()) fs::create_directories(out.parent_path());
    const RunHeader header = make_header(config, *data, table, parameter_count(net), dev.name);
    RunWriter writer(options.out_path, header);

    BatchLoader loader(data->train, config.data.augment, config.train.batch_size, /*shuffle=*/true,
                       config.train.seed, config.data.prefetch);
    const EvalBatches test_set(data->test), val_set(data->val);
    const int epochs = config.train.epochs;
    const int64_t steps_per_epoch = loader.batches_per_epoch();
    const int64_t total_steps = steps_per_epoch * epochs;

    RunStartInfo start;
    start.run_id = header.run_id;
    start.out_path = options.out_path;
    start.device = dev.name;
    start.threads = threads;
    start.epochs = epochs;
    start.steps_per_epoch = steps_per_epoch;
    start.train_count = data->train.count;
    start.val_count = data->val.count;
    start.test_count = data->test.count;
    start.data_source = data->source;
    start.layers = table;
    start.parameter_count = parameter_count(net);
    obs.on_run_started(start);

    RunOutcome outcome;
    outcome.out_path = options.out_path;
    int64_t global_step = 0;
    try {
        for (int epoch = 0; epoch < epochs && outcome.status == RunStatus::Finished; ++epoch) {
            const auto epoch_start = Clock::now();
            const double lr = learning_rate_at(config.train, epoch);
            set_learning_rate(*optimizer, lr);
            loader.start_epoch(epoch);
            // Running sums stay on the device; they are read back only when progress is reported.
            at::Tensor loss_sum = at::zeros({}, at::TensorOptions().dtype(at::kDouble).device(device));
            at::Tensor correct = at::zeros({}, at::TensorOptions().dtype(at::kLong).device(device));
            int64_t seen = 0, step = 0;
            auto last_report = Clock::now();
            Batch batch;
            while (loader.next(batch)) {
                if (cancel && cancel->cancelled()) {
                    outcome.status = RunStatus::Stopped;
                    outcome.message = "stopped at epoch " + std::to_string(epoch + 1) + ", step " +
                                      std::to_string(step) + " of " + std::to_string(steps_per_epoch);
                    break;
                }
                if (options.max_steps > 0 && global_step >= options.max_steps) {
                    outcome.status = RunStatus::Stopped;
                    outcome.message = "step limit of " + std::to_string(options.max_steps) + " reached";
                    break;
                }
                const at::Tensor x = batch.x.to(device, /*non_blocking=*/true);
                const at::Tensor y = batch.y.to(device, /*non_blocking=*/true);
                const auto [loss, logits] = train_step(net, *optimizer, params, x, y);
                const int64_t n = x.size(0);
                loss_sum += loss.to(at::kDouble) * static_cast<double>(n);
                correct += logits.argmax(1).eq(y).sum();
                seen += n;
                ++step;
                ++global_step;
                // On the CPU reading the loss costs nothing; on a GPU it is read with progress.
                const bool report = step == steps_per_epoch ||
                                    seconds_since(last_report) >= options.progress_interval_seconds;
                if (!dev.cuda || report) {
                    const double current = loss.item<double>();
                    if (!std::isfinite(current)) {
                        outcome.status = RunStatus::Diverged;
                        outcome.message = "loss became " + std::to_string(current) + " at epoch " +
                                          std::to_string(epoch + 1) + ", step " + std::to_string(step);
                        break;
                    }
                }
                if (report) {
                    last_report = Clock::now();
                    StepProgress p;
                    p.epoch = epoch + 1;
                    p.epochs = epochs;
                    p.step = step;
                    p.steps_per_epoch = steps_per_epoch;
                    p.global_step = global_step;
                    p.total_steps = total_steps;
                    p.loss = loss_sum.item<double>() / static_cast<double>(seen);
                    p.accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen);
                    const double epoch_elapsed = seconds_since(epoch_start);
                    p.images_per_second = static_cast<double>(seen) / std::max(epoch_elapsed, 1e-9);
                    p.elapsed_seconds = seconds_since(run_start);
                    p.eta_seconds = epoch_elapsed / static_cast<double>(step) *
                                    static_cast<double>(total_steps - global_step);
                    obs.on_step(p);
                }
            }
            if (outcome.status != RunStatus::Finished) break;

            const double train_seconds = seconds_since(epoch_start);
            EpochRecord r;
            r.epoch = epoch + 1;
            r.train_loss = loss_sum.item<double>() / static_cast<double>(seen);
            r.train_accuracy = static_cast<double>(correct.item<int64_t>()) / static_cast<double>(seen);
            const EvalResult val = evaluate(net, val_set, config.train.eval_batch_size, device);
            const EvalResult test = evaluate(net, test_set, config.train.eval_batch_size, device);
            r.val_loss = val.loss;
            r.val_accuracy = val.accuracy;
            r.test_loss = test.loss;
            r.test_accuracy = test.accuracy;
            r.learning_rate = lr;
            r.epoch_seconds = seconds_since(epoch_start);
            r.wall_seconds = seconds_since(run_start);
            r.images_per_second = static_cast<double>(seen) / std::max(train_seconds, 1e-9);
            writer.append_epoch(r);
            outcome.epochs.push_back(r);
            obs.on_epoch(r);
        }
        writer.write_weights(export_state(*net));
    } catch (const std::exception& e) {
        outcome.status = RunStatus::Failed;
        outcome.message = e.what();
    }
    outcome.steps = global_step;
    outcome.wall_seconds = seconds_since(run_start);
    try {
        writer.set_status(outcome.status, outcome.message);
    } catch (const std::exception& e) {
        if (outcome.status != RunStatus::Failed) {
            outcome.status = RunStatus::Failed;
            outcome.message = e.what();
        }
    }
    obs.on_run_finished(outcome);
    return outcome;
}

}  // namespace normout
