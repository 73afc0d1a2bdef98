#include "commands.h"

#include <fmt/core.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "console.h"
#include "engine/bench.h"
#include "engine/checkpoint.h"
#include "engine/config.h"
#include "engine/data/locate.h"
#include "engine/data/prepare.h"
#include "engine/fetch.h"
#include "engine/model.h"
#include "engine/presets.h"
#include "engine/run_analysis.h"
#include "engine/run_file.h"
#include "engine/trainer.h"

namespace normout::cli {

namespace {

using nlohmann::json;

RunConfig resolve_config(const ConfigArgs& a) {
    RunConfig c = a.preset.empty() ? RunConfig{} : preset_config(a.preset);
    if (!a.config_file.empty()) apply_config_file(c, a.config_file);
    for (const auto& s : a.sets)
        apply_override(c, s);
    validate(c);
    return c;
}

// Channels, classes and input side of the configured data set, reading it only when needed.
struct DataShape {
    int channels = 3, classes = 10, side = 32;
};
DataShape data_shape(const RunConfig& c, const std::string& data_root) {
    if (c.data.dataset == "cifar10") return {3, 10, std::max(32, c.data.pad_to)};
    if (c.data.dataset == "fashion-mnist") return {1, 10, std::max(28, c.data.pad_to)};
    const DataSplit split = read_dataset(c.data, data_roots(data_root));
    return {split.train.channels, static_cast<int>(split.class_names.size()),
            std::max({split.train.height, split.train.width, c.data.pad_to})};
}

std::string shape_text(const std::vector<int64_t>& s) {
    std::string out;
    for (std::size_t i = 1; i < s.size(); ++i)
        out += (i > 1 ? "x" : "") + std::to_string(s[i]);
    return out;
}

CancelToken g_cancel;

extern "C" void on_sigint(int) {
    if (g_cancel.cancelled()) {  // second Ctrl-C: give up at once
        std::signal(SIGINT, SIG_DFL);
        std::raise(SIGINT);
        return;
    }
    g_cancel.cancel();
    const char msg[] = "\nStopping after the current batch (Ctrl-C again to abort)...\n";
    (void)!write(STDERR_FILENO, msg, sizeof msg - 1);
}

int exit_code(const RunOutcome& outcome) {
    switch (outcome.status) {
        case RunStatus::Finished:
            return kExitOk;
        case RunStatus::Stopped:
            return g_cancel.cancelled() ? kExitStopped : kExitOk;
        case RunStatus::Diverged:
            return kExitDiverged;
        default:
            return kExitFailed;
    }
}

// Runs a training function with Ctrl-C / SIGTERM turned into a clean stop.
template <class F>
RunOutcome with_stop_signals(F&& f) {
    std::signal(SIGINT, on_sigint);
    std::signal(SIGTERM, on_sigint);
    struct Restore {
        ~Restore() {
            std::signal(SIGINT, SIG_DFL);
            std::signal(SIGTERM, SIG_DFL);
        }
    } restore;
    return f();
}

}  // namespace

int run_train(const TrainArgs& a) {
    RunConfig config = resolve_config(a.config);
    TrainOptions options;
    options.out_path = a.out;
    options.overwrite = a.force;
    options.data_roots = data_roots(a.config.data_root);
    options.max_steps = a.max_steps;
    ConsoleObserver console(a.quiet);
    return exit_code(with_stop_signals([&] { return train(config, options, &console, &g_cancel); }));
}

int run_resume(const ResumeArgs& a) {
    TrainOptions options;
    options.data_roots = data_roots(a.data_root);
    options.max_steps = a.max_steps;
    ConsoleObserver console(a.quiet);
    return exit_code(with_stop_signals([&] { return resume(a.run, options, &console, &g_cancel); }));
}

int run_layers(const ConfigArgs& a, bool as_json) {
    const RunConfig c = resolve_config(a);
    const DataShape shape = data_shape(c, a.data_root);
    const auto base = base_layer_table(c.model, shape.channels, shape.classes);
    const auto table = layer_table(c.model, shape.channels, shape.classes);
    Net net = build_model(table, std::vector<float>(shape.channels, 0.f), std::vector<float>(shape.channels, 1.f));
    const auto shapes = layer_output_shapes(net, {shape.channels, shape.side, shape.side});
    if (as_json) {
        json out = json::array();
        for (std::size_t i = 0; i < table.size(); ++i)
            out.push_back({{"index", i},
                           {"base_index", table[i].base_index},
                           {"kind", table[i].kind},
                           {"layer", table[i].describe()},
                           {"custom", table[i].from_surgery},
                           {"output_shape", shapes[i]}});
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    fmt::print(
        "VGG-16-BN ({} input channel{}, {} classes, {}x{} input, width {}, classifier {}); "
        "{} parameters\n",
        shape.channels, shape.channels == 1 ? "" : "s", shape.classes, shape.side, shape.side, c.model.width,
        c.model.hidden, parameter_count(net));
    if (!c.model.surgery.empty())
        fmt::print("Surgery applied; 'base' is the index in the unmodified table that surgery refers to.\n");
    fmt::print("{:>5}  {:>5}  {:<17}  {:<64}  {}\n", "index", "base", "kind", "layer", "output");
    for (std::size_t i = 0; i < table.size(); ++i) {
        const auto& l = table[i];
        const std::string base_text = l.base_index < 0 ? "new" : std::to_string(l.base_index);
        fmt::print("{:>5}  {:>5}  {:<17}  {:<64}  {}{}\n", i, base_text, l.kind, l.describe(), shape_text(shapes[i]),
                   l.from_surgery ? "  *" : "");
    }
    if (base.size() != table.size()) fmt::print("({} layers; the base table has {})\n", table.size(), base.size());
    return kExitOk;
}

int run_presets(bool as_json) {
    if (as_json) {
        json out = json::array();
        for (const auto& p : presets())
            out.push_back({{"name", p.name},
                           {"title", p.title},
                           {"description", p.description},
                           {"thesis_train_accuracy", p.thesis_train_accuracy},
                           {"thesis_test_accuracy", p.thesis_test_accuracy},
                           {"config", json::parse(config_to_json(p.config))}});
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    fmt::print("{:<42}  {:<36}  {}\n", "preset", "thesis row (Table 3.1)", "thesis train / test %");
    for (const auto& p : presets()) {
        const std::string acc = p.thesis_test_accuracy < 0
                                    ? std::string("-")
                                    : fmt::format("{:g} / {:g}", p.thesis_train_accuracy, p.thesis_test_accuracy);
        fmt::print("{:<42}  {:<36}  {}\n", p.name, p.thesis_test_accuracy < 0 ? p.description.substr(0, 36) : p.title,
                   acc);
    }
    fmt::print(
        "\nUse with `normout train --preset NAME --out RUN.h5`; `normout config --preset NAME` prints "
        "its settings.\n");
    return kExitOk;
}

int export_presets(const std::string& folder) {
    std::filesystem::create_directories(folder);
    for (const auto& p : presets()) {
        std::string file = p.name;
        std::replace(file.begin(), file.end(), '/', '-');
        save_config_file(p.config, (std::filesystem::path(folder) / (file + ".json")).string());
    }
    return kExitOk;
}

int run_settings() {
    for (const auto& s : describe_settings())
        fmt::print("{:<30} {:<8} {}\n", s.key, s.type, s.help);
    fmt::print(
        "\nSet them in a JSON file (--config) or with --set key=value; lists and objects take JSON,\n"
        "e.g. --set 'model.surgery=[{{\"op\":\"replace\",\"at\":[48,51],\"layer\":{{\"type\":\"dropout\"}}}}]'\n");
    return kExitOk;
}

int run_config(const ConfigArgs& a) {
    fmt::print("{}\n", config_to_json(resolve_config(a)));
    return kExitOk;
}

namespace {

// The newest attack evaluation, its masking verdict and the newest flatness measures.
void print_analysis_summary(const std::string& path) {
    const AnalysisData data = read_analysis(path);
    const auto newest = [](const AnalysisTable& t, const char* key) {
        double best = -1;
        for (const auto& r : t.rows)
            best = std::max(best, r.number(key));
        return best;
    };
    if (const auto a = data.tables.find("attacks"); a != data.tables.end() && !a->second.rows.empty()) {
        const double ev = newest(a->second, "evaluation");
        bool header = false;
        for (const auto& r : a->second.rows) {
            if (r.number("evaluation") != ev || r.text("role") != "main") continue;
            if (!header)
                fmt::print("\nRobustness (evaluation {:.0f}, epoch {:.0f}, {:.0f} of {:.0f} test images, 95% CI)\n", ev,
                           r.number("epoch"), r.number("subset_n"), r.number("test_size"));
            header = true;
            fmt::print("  {:<7} {:<4} eps {:<9.4g} {:>7} [{}, {}]\n", r.text("attack"), r.text("norm"), r.number("eps"),
                       percent(r.number("accuracy"), 1), percent(r.number("ci_low"), 1),
                       percent(r.number("ci_high"), 1));
        }
        if (const auto m = data.tables.find("masking"); m != data.tables.end())
            for (const auto& r : m->second.rows)
                if (r.number("evaluation") == ev && r.text("flag") == "verdict")
                    fmt::print("Masking   {}\n", r.text("verdict"));
    }
    if (const auto f = data.tables.find("flatness"); f != data.tables.end() && !f->second.rows.empty()) {
        const double epoch = newest(f->second, "epoch");
        fmt::print("\nFlatness (epoch {:.0f})\n", epoch);
        for (const auto& r : f->second.rows)
            if (r.number("epoch") == epoch)
                fmt::print("  {:<22} {:.6g} +- {:.2g} (n {:.0f}, {} parameters)\n", r.text("measure"),
                           r.number("value"), r.number("standard_error"), r.number("n"), r.text("params"));
    }
}

}  // namespace

int run_info(const std::string& path, bool as_json) {
    const RunInfo info = read_run(path);
    const RunHeader& h = info.header;
    const auto checkpoints = list_checkpoints(path);
    if (as_json) {
        json epochs = json::array();
        auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        for (const auto& e : info.epochs)
            epochs.push_back({{"epoch", e.epoch},
                              {"train_loss", num(e.train_loss)},
                              {"train_accuracy", num(e.train_accuracy)},
                              {"val_loss", num(e.val_loss)},
                              {"val_accuracy", num(e.val_accuracy)},
                              {"test_loss", num(e.test_loss)},
                              {"test_accuracy", num(e.test_accuracy)},
                              {"learning_rate", num(e.learning_rate)},
                              {"epoch_seconds", num(e.epoch_seconds)},
                              {"wall_seconds", num(e.wall_seconds)},
                              {"images_per_second", num(e.images_per_second)}});
        json out = {{"path", info.path},
                    {"schema_version", info.schema_version},
                    {"run_id", h.run_id},
                    {"name", h.name},
                    {"preset", h.preset},
                    {"status", info.status},
                    {"status_message", info.status_message},
                    {"created_utc", h.created_utc},
                    {"finished_utc", info.finished_utc},
                    {"code_version", h.code_version},
                    {"torch_version", h.torch_version},
                    {"hdf5_version", h.hdf5_version},
                    {"device", h.device},
                    {"config", json::parse(h.config_json)},
                    {"data",
                     {{"dataset", h.dataset},
                      {"source", h.data_source},
                      {"classes", h.class_names},
                      {"mean", h.mean},
                      {"std", h.stddev},
                      {"train", h.train_count},
                      {"val", h.val_count},
                      {"test", h.test_count}}},
                    {"model", {{"layers", h.layer_descriptions}, {"parameters", h.parameter_count}}},
                    {"epochs", epochs},
                    {"steps", info.steps.size()},
                    {"stored_status", info.stored_status},
                    {"status_step", info.status_step},
                    {"segments", info.segments.size()},
                    {"checkpoints", checkpoints.size()},
                    {"weights_step", info.weights_step},
                    {"has_weights", !info.weight_names.empty()}};
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    const RunConfig c = config_from_json(h.config_json);
    fmt::print("Run       {}\n", info.path);
    fmt::print("Name      {}{}\n", h.name.empty() ? "(unnamed)" : h.name,
               h.preset.empty() ? "" : fmt::format(" (preset {})", h.preset));
    fmt::print("Status    {}{}{}\n", info.status, info.status_message.empty() ? "" : ": " + info.status_message,
               info.status == "interrupted" ? " (the writer is gone; `normout resume " + path + "` continues it)" : "");
    fmt::print("Progress  step {} ({} step rows), {} segment{}, {} checkpoint{}{}\n", info.status_step,
               info.steps.size(), info.segments.size(), info.segments.size() == 1 ? "" : "s", checkpoints.size(),
               checkpoints.size() == 1 ? "" : "s",
               checkpoints.empty() ? "" : fmt::format(" (newest at step {})", checkpoints.back().global_step));
    fmt::print("Started   {}{}\n", h.created_utc, info.finished_utc.empty() ? "" : ", ended " + info.finished_utc);
    fmt::print("Code      {} (LibTorch {}, HDF5 {}), device {}\n", h.code_version, h.torch_version, h.hdf5_version,
               h.device);
    fmt::print("Data      {} from {}: {} train / {} val / {} test, {}x{}x{}, {} classes\n", h.dataset, h.data_source,
               h.train_count, h.val_count, h.test_count, h.channels, h.height, h.width, h.class_names.size());
    std::string custom;
    for (std::size_t i = 0; i < h.layer_kinds.size(); ++i)
        if (h.layer_kinds[i] == "NormOut" || h.layer_kinds[i] == "Dropout")
            custom += fmt::format("{}{} {}", custom.empty() ? "" : ", ", i, h.layer_descriptions[i]);
    fmt::print("Model     {} width {} hidden {}, {} parameters; {}\n", c.model.arch, c.model.width, c.model.hidden,
               h.parameter_count, custom.empty() ? "no Dropout/NormOut layers" : custom);
    fmt::print(
        "Training  {} lr {:g} ({}), momentum {:g}, weight decay {:g}, batch {}, {} epochs, seed {}, "
        "augmentation {}\n",
        c.train.optimizer, c.train.lr, c.train.lr_schedule, c.train.momentum, c.train.weight_decay, c.train.batch_size,
        c.train.epochs, c.train.seed, c.data.augment.enabled ? "on" : "off");
    fmt::print("Weights   {}\n", info.weights_path.empty() ? std::string("none saved")
                                                           : fmt::format("{} arrays at step {}",
                                                                         info.weight_names.size(), info.weights_step));
    if (info.epochs.empty()) {
        fmt::print("\nNo completed epochs.\n");
        return kExitOk;
    }
    fmt::print("\n{:>5}  {:>10}  {:>9}  {:>10}  {:>9}  {:>10}  {:>9}  {:>9}  {:>8}\n", "epoch", "train loss",
               "train acc", "val loss", "val acc", "test loss", "test acc", "lr", "time s");
    auto cell = [](double v, bool pct) {
        if (!std::isfinite(v)) return std::string("-");
        return pct ? percent(v) : fmt::format("{:.4f}", v);
    };
    for (const auto& e : info.epochs)
        fmt::print("{:>5}  {:>10}  {:>9}  {:>10}  {:>9}  {:>10}  {:>9}  {:>9.3g}  {:>8.1f}\n", e.epoch,
                   cell(e.train_loss, false), cell(e.train_accuracy, true), cell(e.val_loss, false),
                   cell(e.val_accuracy, true), cell(e.test_loss, false), cell(e.test_accuracy, true), e.learning_rate,
                   e.epoch_seconds);
    const auto& last = info.epochs.back();
    fmt::print("\nLast epoch: test accuracy {}, generalisation gap (train - test) {:.2f} points\n",
               percent(last.test_accuracy), 100.0 * (last.train_accuracy - last.test_accuracy));
    print_analysis_summary(path);
    return kExitOk;
}

int run_info_layers(const std::string& path, bool as_json) {
    const RunInfo info = read_run(path);
    const InstrumentData data = read_instrumentation(path, /*with_epochs=*/false);
    auto stats_json = [](const ActivationStats& a) {
        auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        return json{{"mean", num(a.mean)},
                    {"max", num(a.max)},
                    {"std", num(a.std)},
                    {"var", num(a.var)},
                    {"sparsity", num(a.sparsity)}};
    };
    if (as_json) {
        json out = json::array();
        for (const auto& l : data.layers) {
            const auto it = data.steps.find(l.index);
            json row = {{"layer", l.index}, {"description", l.description}, {"units", l.units}};
            if (it != data.steps.end() && !it->second.empty()) {
                const auto& last = it->second.back();
                row["step"] = last.global_step;
                row["output_ewma"] = stats_json(last.output_ewma);
                row["input_ewma"] = stats_json(last.input_ewma);
                if (last.has_keep)
                    row["keep_ewma"] = {{"mean_p", last.keep_ewma.mean_p},
                                        {"expected_drop", last.keep_ewma.expected_drop},
                                        {"realised_drop", last.keep_ewma.realised_drop},
                                        {"frac_p_low", last.keep_ewma.frac_p_low},
                                        {"frac_p_high", last.keep_ewma.frac_p_high}};
            }
            out.push_back(row);
        }
        fmt::print("{}\n", out.dump(2));
        return kExitOk;
    }
    fmt::print("{} ({}), status {}\n", info.header.name.empty() ? info.path : info.header.name, info.path, info.status);
    if (data.layers.empty()) {
        fmt::print("No instrumented layers in this run.\n");
        return kExitOk;
    }
    fmt::print(
        "Exponentially weighted moving averages (alpha {:g}, recorded every {} step{}) at the last recorded "
        "step, as in the thesis's tables 3.2 and 3.3\n",
        data.ewma_alpha, data.every, data.every == 1 ? "" : "s");
    for (const auto& l : data.layers) {
        const auto it = data.steps.find(l.index);
        fmt::print("\nLayer {}: {} ({} units)", l.index, l.description, l.units);
        if (it == data.steps.end() || it->second.empty()) {
            fmt::print(": nothing recorded yet\n");
            continue;
        }
        const LayerStepStats& last = it->second.back();
        fmt::print(", step {}\n", last.global_step);
        fmt::print("{:<8} {:>10} {:>10} {:>10} {:>10} {:>12}\n", "", "Mean", "Max", "Std Dev", "Variance",
                   "Sparsity %");
        for (const auto& [name, a] :
             {std::pair<const char*, const ActivationStats&>{"output", last.output_ewma}, {"input", last.input_ewma}})
            fmt::print("{:<8} {:>10.4g} {:>10.4g} {:>10.4g} {:>10.4g} {:>12.2f}\n", name, a.mean, a.max, a.std, a.var,
                       100 * a.sparsity);
        if (last.has_keep)
            fmt::print(
                "keep     mean p {:.3f}; drop expected {:.1f}%, realised {:.1f}%; p < 0.05 for {:.1f}%, "
                "p > 0.95 for {:.1f}% of units\n",
                last.keep_ewma.mean_p, 100 * last.keep_ewma.expected_drop, 100 * last.keep_ewma.realised_drop,
                100 * last.keep_ewma.frac_p_low, 100 * last.keep_ewma.frac_p_high);
    }
    return kExitOk;
}

int run_fetch(const FetchArgs& a) {
    FetchOptions o;
    o.dest_dir = a.data_root.empty() ? data_roots("").front() : a.data_root;
    if (!a.url.empty()) o.url = a.url;
    if (!a.md5.empty()) o.md5 = a.md5;
    o.archive = a.archive;
    o.force = a.force;
    o.keep_archive = a.keep_archive;
    o.show_progress = isatty(STDERR_FILENO) == 1;
    const FetchResult r = fetch_cifar10(o, [](const std::string& line) { fmt::print(stderr, "{}\n", line); });
    if (!r.already_present) fmt::print("CIFAR-10 is ready in {}\n", r.dataset_dir);
    return kExitOk;
}

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
    fmt::print("run file and checks   {:+.1f}% step time (per-step rows, loss read-back, finite-gradient check)\n",
               100 * r.record_overhead);
    fmt::print("data pipeline busy {:.1f}% of epoch time; the step waited for data {:.1f}% of it\n",
               100 * r.pipeline_share, 100 * r.stall_share);
    return kExitOk;
}

}  // namespace normout::cli
