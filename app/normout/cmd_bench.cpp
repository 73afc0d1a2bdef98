// `normout bench`: images per second of the training step, of the data pipeline and of both,
// with the instrumentation's and the recording's share of a step.
#include <fmt/format.h>

#include <memory>

#include "command.h"
#include "config_args.h"
#include "engine/data/locate.h"
#include "engine/train/bench.h"

namespace normout::cli {

namespace {

struct BenchArgs {
    ConfigArgs config;
    int steps = 20;
    int warmup = 3;
    bool json = false;
};

int run_bench(const BenchArgs& a) {
    const RunConfig c = resolve_config(a.config);
    BenchOptions o;
    o.steps = a.steps;
    o.warmup = a.warmup;
    o.data_roots = data_roots(a.config.data_root);
    const BenchResult r = normout::run_bench(c, o);
    if (a.json) {
        fmt::print("{}\n", bench_json(r));
        return kExitOk;
    }
    fmt::print("device {} ({} threads), LibTorch {}, batch {}, {} parameters, {} timed steps\n", r.device, r.threads,
               r.torch_version, r.batch_size, r.parameters, r.steps);
    fmt::print("training step alone   {:>9.1f} img/s  (median step {:.1f} ms)\n", r.step_images_per_second, r.step_ms);
    fmt::print("data pipeline alone   {:>9.1f} img/s\n", r.pipeline_images_per_second);
    fmt::print("pipeline + step       {:>9.1f} img/s\n", r.full_images_per_second);
    if (r.instrumented_layers > 0)
        fmt::print("instrumentation       {:+.1f}% step time ({} layer{}: statistics, per-neuron sums, histograms)\n",
                   100 * r.instrument_overhead, r.instrumented_layers, r.instrumented_layers == 1 ? "" : "s");
    fmt::print(
        "run file and checks   {:+.1f}% step time (per-step rows queued on the device and read back in batches, "
        "finite-gradient check)\n",
        100 * r.record_overhead);
    fmt::print("data pipeline busy {:.1f}% of epoch time; the step waited for data {:.1f}% of it\n",
               100 * r.pipeline_share, 100 * r.stall_share);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<BenchArgs>();
    auto* cmd = app.add_subcommand("bench", "Images per second of the training step and of the data pipeline");
    add_config_options(cmd, a->config);
    cmd->add_option("--steps", a->steps, "Timed steps")->check(CLI::Range(1, 100000));
    cmd->add_option("--warmup", a->warmup, "Untimed warm-up steps")->check(CLI::Range(0, 1000));
    cmd->add_flag("--json", a->json, "Print one JSON line");
    out.push_back({cmd, [a] { return run_bench(*a); }});
}
}  // namespace

const CommandRegistration registration{90, add_commands};

}  // namespace normout::cli
