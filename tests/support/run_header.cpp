#include "run_header.h"

namespace normout::test {

RunHeader sample_run_header() {
    RunHeader h;
    h.run_id = new_run_id();
    h.name = "Temporal Softmax 48 51 (T=100)";
    h.preset = "thesis/temporal-softmax-48-51-T100";
    h.config_json = R"({"train": {"lr": 0.01}})";
    h.code_version = "abc123";
    h.created_utc = utc_now_iso8601();
    h.torch_version = "1.13.0";
    h.hdf5_version = "1.10.8";
    h.device = "cpu";
    h.dataset = "cifar10";
    h.data_source = "/data/cifar-10-batches-bin";
    h.class_names = {"airplane", "automobile"};
    h.mean = {0.49f, 0.48f, 0.45f};
    h.stddev = {0.25f, 0.24f, 0.26f};
    h.train_count = 45000;
    h.val_count = 5000;
    h.test_count = 10000;
    h.channels = 3;
    h.height = h.width = 32;
    h.layer_kinds = {"Conv2d", "NormOut"};
    h.layer_descriptions = {"Conv2d(3, 64, ...)", "NormOut(temporal-softmax, T=100)"};
    h.parameter_count = 1234;
    h.start_unix_ms = unix_time_ms();
    h.host = host_name();
    h.pid = 1;  // init: always alive
    h.weights = {{"layers.0.weight", {2, 3}, false}, {"layers.1.num_batches_tracked", {}, true}};
    return h;
}

}  // namespace normout::test
