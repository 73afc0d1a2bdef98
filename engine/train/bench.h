#pragma once
// `normout bench`: images per second of the training step alone (a resident batch), of the data
// pipeline alone, and of both together, for a configuration.
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"

namespace normout {

struct PreparedData;

struct BenchOptions {
    int steps = 20;
    int warmup = 3;
    std::vector<std::string> data_roots;
    std::shared_ptr<const PreparedData> data;
};

struct BenchResult {
    std::string device;
    std::string torch_version;
    int threads = 0;
    int batch_size = 0;
    int steps = 0;
    int64_t parameters = 0;
    double step_ms = 0;                     // median training step, resident batch
    double step_images_per_second = 0;      // over all timed steps
    double pipeline_images_per_second = 0;  // loader alone (augment + collate), its own thread
    double full_images_per_second = 0;      // loader + training step, as in an epoch
    double pipeline_share = 0;              // share of an epoch's wall time the loader thread is busy
    double stall_share = 0;                 // share of an epoch's wall time the step waits for data
    double record_overhead = 0;             // extra step time of the run file rows and the finite checks, fraction
    int instrumented_layers = 0;
    double instrument_overhead = 0;  // extra step time of the default instrumentation, fraction
};

BenchResult run_bench(const RunConfig& config, const BenchOptions& options);
std::string bench_json(const BenchResult& result);

}  // namespace normout
