#include "engine/train/bench.h"

#include <ATen/ATen.h>

#include <unistd.h>
#include <algorithm>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "engine/data/prepare.h"
#include "engine/model/device.h"
#include "engine/model/model.h"
#include "engine/model/optim.h"
#include "engine/model/precision.h"
#include "engine/model/state.h"
#include "engine/runfile/run_recorder.h"
#include "engine/train/device_batches.h"
#include "engine/train/instrumentation.h"
#include "engine/train/loader.h"
#include "engine/train/step.h"
#include "engine/train/step_ledger.h"
#include "engine/util/clock.h"
#include "engine/version.h"

namespace normout {

namespace {
using Clock = std::chrono::steady_clock;
void sync(const DeviceChoice& dev, const at::Tensor& t) {
    if (dev.cuda) (void)t.sum().item<double>();  // wait for queued device work
}
}  // namespace

BenchResult run_bench(const RunConfig& config, const BenchOptions& options) {
    validate(config);
    const DeviceChoice dev = resolve_device(config.train.device);
    const torch::Device device(dev.name);
    configure_precision(config.train.precision, config.train.channels_last, dev);
    const bool channels_last = config.train.channels_last;
    // Thread-local: the timed steps below run with the configured autocast, as in training.
    const AutocastScope autocast(config.train.precision, dev);
    BenchResult r;
    r.threads = configure_threads(config.train.threads);
    r.device = dev.name;
    r.torch_version = torch_version();
    r.batch_size = config.train.batch_size;
    r.steps = options.steps;
    std::shared_ptr<const PreparedData> data = options.data;
    if (!data) data = std::make_shared<PreparedData>(prepare_data(config.data, options.data_roots, config.train.seed));

    torch::manual_seed(config.train.seed);
    Net net = build_model(layer_table(config.model, data->channels(), data->num_classes()), data->mean, data->stddev,
                          config.model.fast_classifier, config.model.init);
    Instrumentation instrument(net, config.instrument, {data->train.channels, data->train.height, data->train.width});
    net->to(device);
    if (channels_last) to_channels_last(*net);
    net->train();
    r.parameters = parameter_count(net);
    auto optimizer = make_optimizer(net, config.train);
    torch::optim::Optimizer& opt = *optimizer;
    auto params = net->parameters();

    // 1. The step alone, on one real batch kept resident.
    BatchLoader loader(data->train, config.data.augment, config.train.batch_size, true, config.train.seed,
                       config.data.prefetch);
    loader.start_epoch(0);
    Batch batch;
    if (!loader.next(batch)) throw std::runtime_error("the training set is empty");
    const at::Tensor x = in_memory_format(batch.x.to(device), channels_last), y = batch.y.to(device);
    for (int i = 0; i < options.warmup; ++i)
        sync(dev, train_step(net, opt, params, x, y).loss);
    std::vector<double> times;
    double total = 0;
    for (int i = 0; i < options.steps; ++i) {
        const auto t0 = Clock::now();
        sync(dev, train_step(net, opt, params, x, y).loss);
        times.push_back(seconds_since(t0));
        total += times.back();
    }
    std::sort(times.begin(), times.end());
    r.step_ms = times[times.size() / 2] * 1e3;
    // Throughput over all timed steps, as the Python peer measures it.
    r.step_images_per_second = static_cast<double>(x.size(0)) * options.steps / total;

    // 1b. The instrumentation's cost: plain and instrumented steps interleaved on the same batch,
    //     so that drifts of the machine's speed affect both alike; read back every 10 steps.
    if (!instrument.layers().empty() && config.instrument.enabled) {
        double plain = 0, instrumented = 0;
        for (int i = 0; i < 2 * options.steps; ++i) {
            const bool on = i % 2 == 1;
            const auto t0 = Clock::now();
            instrument.set_active(on, i);
            sync(dev, train_step(net, opt, params, x, y).loss);
            instrument.set_active(false, i);
            if (on && (i / 2) % 10 == 9) instrument.drain();
            (on ? instrumented : plain) += seconds_since(t0);
        }
        instrument.drain();
        instrument.end_epoch(1);
        r.instrument_overhead = instrumented / plain - 1.0;
        r.instrumented_layers = static_cast<int>(instrument.layers().size());
    }

    // 2. The pipeline alone: how fast the loader thread delivers batches.
    {
        const auto alone = make_training_batches(data->train, config.data.augment, config.train.batch_size,
                                                 config.train.seed, config.data.prefetch, device);
        alone->start_epoch(1);
        int64_t images = 0;
        const auto t0 = Clock::now();
        Batch b;
        for (int i = 0; i < options.steps && alone->next(b); ++i)
            images += b.x.size(0);
        r.pipeline_images_per_second = static_cast<double>(images) / seconds_since(t0);
    }

    // 3. Both together, as in an epoch.
    {
        const auto full = make_training_batches(data->train, config.data.augment, config.train.batch_size,
                                                config.train.seed, config.data.prefetch, device);
        full->start_epoch(2);
        int64_t images = 0;
        at::Tensor last;
        const auto t0 = Clock::now();
        Batch b;
        for (int i = 0; i < options.steps && full->next(b); ++i) {
            last = train_step(net, opt, params, in_memory_format(b.x.to(device), channels_last), b.y.to(device)).loss;
            images += b.x.size(0);
        }
        sync(dev, last);
        const double elapsed = seconds_since(t0);
        r.full_images_per_second = static_cast<double>(images) / elapsed;
        r.pipeline_share = full->producer_seconds() / elapsed;
        r.stall_share = full->wait_seconds() / elapsed;
    }

    // 4. What a recorded run adds to a step: the loss read back every step, the finite-gradient
    //    check and a per-step row for the run file (written on its own thread). Interleaved
    //    with plain steps on the resident batch, like 1b.
    {
        const std::string path =
            (std::filesystem::temp_directory_path() / ("normout-bench-" + std::to_string(::getpid()) + ".h5")).string();
        RunHeader h;
        h.run_id = new_run_id();
        h.start_unix_ms = unix_time_ms();
        for (const auto& a : export_state(*net))
            h.weights.push_back({a.name, a.shape, a.is_integer});
        {
            RunRecorder recorder(path, h, config.record.flush_seconds);
            StepLedger ledger;
            double plain = 0, recorded = 0;
            for (int i = 0; i < 2 * options.steps; ++i) {
                const bool on = i % 2 == 1;
                const auto t0 = Clock::now();
                const auto result = train_step(net, opt, params, x, y);
                if (on) {
                    // As the training loop does: queue on the device, read back every 10 steps.
                    ledger.add(i + 1, seconds_since(t0), result.loss, result.logits.argmax(1).eq(y).sum(), x.size(0),
                               config.train.check_gradients ? &params : nullptr);
                    if ((i / 2) % 10 == 9 || i + 1 == 2 * options.steps)
                        for (const LedgerRow& row : ledger.read_back())
                            recorder.add_step({row.global_step, 1, row.loss, row.correct / row.batch_size,
                                               config.train.lr, row.wall_seconds});
                    sync(dev, result.loss);
                } else {
                    sync(dev, result.loss);
                }
                (on ? recorded : plain) += seconds_since(t0);
            }
            r.record_overhead = recorded / plain - 1.0;
            recorder.finish(RunStatus::Finished, "", options.steps);
        }
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
    return r;
}

std::string bench_json(const BenchResult& r) {
    nlohmann::json j = {{"bench", "normout"},
                        {"device", r.device},
                        {"torch", r.torch_version},
                        {"threads", r.threads},
                        {"batch", r.batch_size},
                        {"steps", r.steps},
                        {"parameters", r.parameters},
                        {"step_ms", r.step_ms},
                        {"step_img_per_s", r.step_images_per_second},
                        {"pipeline_img_per_s", r.pipeline_images_per_second},
                        {"full_img_per_s", r.full_images_per_second},
                        {"pipeline_share", r.pipeline_share},
                        {"stall_share", r.stall_share},
                        {"record_overhead", r.record_overhead},
                        {"instrumented_layers", r.instrumented_layers},
                        {"instrument_overhead", r.instrument_overhead}};
    return j.dump();
}

}  // namespace normout
