#include "engine/train/load_run.h"

#include "engine/model/layer_epoch.h"
#include "engine/model/state.h"

namespace normout {

LoadedRun load_run(const std::string& run_path, const std::vector<std::string>& data_roots, const std::string& device,
                   std::shared_ptr<const PreparedData> data) {
    LoadedRun r;
    r.info = read_run(run_path);
    r.config = config_from_json(r.info.header.config_json);
    if (!device.empty()) r.config.train.device = device;
    const auto weights = read_weights(run_path);
    r.device = resolve_device(r.config.train.device);
    configure_threads(r.config.train.threads);
    r.data = data ? data : std::make_shared<PreparedData>(prepare_data(r.config.data, data_roots, r.config.train.seed));
    const auto table = layer_table(r.config.model, r.data->channels(), r.data->num_classes());
    r.net = build_model(table, r.data->mean, r.data->stddev, r.config.model.fast_classifier, r.config.model.init);
    try {
        import_state(*r.net, weights);
    } catch (const std::exception& e) {
        throw RunFileError(run_path + ": the stored weights do not fit the model of its configuration (" + e.what() +
                           ")");
    }
    // Scheduled layers as they were in the last trained epoch (matters for at_inference layers).
    set_layer_epoch(r.net, r.info.epochs.empty() ? 0 : r.info.epochs.back().epoch - 1);
    r.net->to(torch::Device(r.device.name));
    r.net->eval();
    return r;
}

}  // namespace normout
