#include "engine/session/training.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <unistd.h>

#include <filesystem>

#include "engine/config/schedule.h"
#include "engine/data/prepare.h"
#include "engine/model/optim.h"
#include "engine/model/precision.h"
#include "engine/model/state.h"
#include "engine/runfile/run_analysis.h"
#include "engine/train/checkpoint.h"
#include "engine/train/training_loop.h"
#include "engine/version.h"

namespace normout {

namespace {

namespace fs = std::filesystem;

std::vector<ArraySpec> state_specs(const torch::nn::Module& module) {
    std::vector<ArraySpec> specs;
    for (const auto& a : export_state(module))
        specs.push_back({a.name, a.shape, a.is_integer});
    return specs;
}

// Validation, device, data and model: all that can fail before a file is written.
void prepare_session(Session& s) {
    validate(s.config);
    s.dev = resolve_device(s.config.train.device);
    configure_precision(s.config.train.precision, s.config.train.channels_last, s.dev);
    s.threads = configure_threads(s.config.train.threads);
    if (!s.data)
        s.data = std::make_shared<PreparedData>(prepare_data(s.config.data, s.options.data_roots, s.config.train.seed));
    s.table = layer_table(s.config.model, s.data->channels(), s.data->num_classes());
    torch::manual_seed(s.config.train.seed);
    s.net = build_model(s.table, s.data->mean, s.data->stddev, s.config.model.fast_classifier, s.config.model.init);
    s.instrument = std::make_unique<Instrumentation>(
        s.net, s.config.instrument,
        std::vector<int64_t>{s.data->train.channels, s.data->train.height, s.data->train.width});
    s.penalties = std::make_unique<Penalties>(s.net, s.config.train.penalties);
    s.net->to(torch::Device(s.dev.name));
    if (s.config.train.channels_last) to_channels_last(*s.net);
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
    // The extra series, in the order the training loop writes them: the penalty terms and their
    // objective, robust accuracy; the epochs add the layers' schedules.
    h.step_extra = s.penalties->names();
    if (!h.step_extra.empty()) h.step_extra.push_back("objective");
    if (s.config.train.adversarial != "none") h.step_extra.push_back("robust_accuracy");
    h.epoch_extra = h.step_extra;
    for (const auto& c : schedule_columns(s.table))
        h.epoch_extra.push_back(c.name);
    return h;
}

}  // namespace

RunOutcome train(const RunConfig& config, const TrainOptions& options, TrainingObserver* observer,
                 const RunControl* cancel) {
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
        for (const auto& f : analysis_files(options.out_path))
            fs::remove(f);
    }
    s.header = make_header(s);
    return TrainingLoop(s, options.out_path, observer ? *observer : silent, cancel).run();
}

RunOutcome resume(const std::string& run_path, const TrainOptions& options, TrainingObserver* observer,
                  const RunControl* cancel) {
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
    return TrainingLoop(s, segment_path(run_path, s.header.segment), observer ? *observer : silent, cancel).run();
}

}  // namespace normout
