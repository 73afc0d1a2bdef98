// `normout bench-attacks`: seconds per 1000 images of each attack on a reduced CIFAR-like model
// (synthetic images, initial weights).
#include <fmt/format.h>

#include <memory>

#include "command.h"
#include "engine/attacks/attack_bench.h"
#include "engine/attacks/attack_config.h"
#include "engine/attacks/classifier.h"
#include "engine/config/model_spec.h"
#include "engine/config/presets.h"
#include "engine/model/device.h"
#include "engine/model/model.h"

namespace normout::cli {

namespace {

struct BenchAttackArgs {
    std::string preset = "thesis/temporal-softmax-48-51-T100";
    std::vector<std::string> sets;
    double width = 0.25;
    int hidden = 1024;
    std::string norm = "linf";
    int64_t images = 100;
    int queries = 100;
    std::string device = "cpu";
    int threads = 0;
    AttackConfig config;
};

int run_bench_attacks(BenchAttackArgs& a) {
    RunConfig rc = preset_config(a.preset);
    rc.model.width = a.width;
    rc.model.hidden = a.hidden;
    for (const auto& s : a.sets)
        apply_override(rc, s);
    validate(rc);
    validate(a.config);
    const DeviceChoice dev = resolve_device(a.device);
    configure_threads(a.threads > 0 ? a.threads : rc.train.threads);
    // A CIFAR-like model (3 x 32 x 32, 10 classes) with its initial weights: the cost of an attack
    // does not depend on what the weights learnt, except for early stops, which the bench avoids.
    Net net = build_model(layer_table(rc.model, 3, 10), {0.49f, 0.48f, 0.45f}, {0.25f, 0.24f, 0.26f},
                          rc.model.fast_classifier, rc.model.init);
    net->to(c10::Device(dev.name));
    const AttackBenchResult r =
        bench_attacks(net, a.config, parse_norm(a.norm), a.images, 3, 32, a.queries, c10::Device(dev.name));
    fmt::print("Attack timings on {} ({} threads), model {} width {} hidden {} ({} parameters), {} images, {}\n",
               r.device, r.threads, rc.preset, rc.model.width, rc.model.hidden, r.parameters, r.images, a.norm);
    fmt::print("{:<15} {:<44} {:>10} {:>14}\n", "attack", "work per image", "seconds", "s/1000 images");
    for (const auto& row : r.rows)
        fmt::print("{:<15} {:<44} {:>10.2f} {:>14.1f}\n", row.attack, row.what, row.seconds, row.seconds_per_1000);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto bargs = std::make_shared<BenchAttackArgs>();
    auto* bench = app.add_subcommand("bench-attacks",
                                     "Seconds per 1000 images of each attack on a reduced CIFAR-like model (synthetic "
                                     "images, initial weights)");
    bench->add_option("--preset", bargs->preset, "Model preset (default thesis/temporal-softmax-48-51-T100)");
    bench->add_option("--width", bargs->width, "Channel multiplier (default 0.25)");
    bench->add_option("--hidden", bargs->hidden, "Classifier width (default 1024)");
    bench->add_option("--set", bargs->sets, "Override a setting, key=value; repeatable")->take_all();
    bench->add_option("--norm", bargs->norm, "linf or l2")->check(CLI::IsMember({"linf", "l2"}));
    bench->add_option("--n", bargs->images, "Images (default 100)")->check(CLI::Range(1, 100000));
    bench->add_option("--queries", bargs->queries, "Square queries timed per image (default 100)")
        ->check(CLI::Range(2, 100000));
    bench->add_option("--device", bargs->device, "Device (default cpu)");
    bench->add_option("--threads", bargs->threads, "CPU threads (default: all cores)");
    out.push_back({bench, [bargs] { return run_bench_attacks(*bargs); }});
}

}  // namespace

const CommandRegistration registration{105, add_commands};

}  // namespace normout::cli
