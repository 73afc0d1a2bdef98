// `normout info`: a run file's configuration, status, metrics and newest analyses; --layers
// gives the instrumented layers' final moving averages (thesis tables 3.2/3.3).
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "command.h"
#include "console.h"
#include "engine/config/config.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/train/checkpoint.h"

namespace normout::cli {

namespace {

using nlohmann::json;

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

int run_info(const std::string& path, bool as_json) {
    const RunInfo info = read_run(path);
    const RunHeader& h = info.header;
    const auto checkpoints = list_checkpoints(path);
    if (as_json) {
        json epochs = json::array();
        auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
        for (const auto& e : info.epochs) {
            json row = {{"epoch", e.epoch},
                        {"train_loss", num(e.train_loss)},
                        {"train_accuracy", num(e.train_accuracy)},
                        {"val_loss", num(e.val_loss)},
                        {"val_accuracy", num(e.val_accuracy)},
                        {"test_loss", num(e.test_loss)},
                        {"test_accuracy", num(e.test_accuracy)},
                        {"learning_rate", num(e.learning_rate)},
                        {"epoch_seconds", num(e.epoch_seconds)},
                        {"wall_seconds", num(e.wall_seconds)},
                        {"images_per_second", num(e.images_per_second)}};
            // The run's extra series (penalties, robust accuracy, schedules) by name.
            for (std::size_t k = 0; k < e.extra.size() && k < h.epoch_extra.size(); ++k)
                row[h.epoch_extra[k]] = num(e.extra[k]);
            epochs.push_back(row);
        }
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
    const auto& m = c.model;
    const std::string shape = m.arch == "vit-small"
                                  ? fmt::format("patch {} width {} depth {} heads {} MLP {}", m.vit_patch, m.vit_dim,
                                                m.vit_depth, m.vit_heads, m.vit_mlp)
                              : m.arch == "resnet18" ? fmt::format("width {}", m.width)
                                                     : fmt::format("width {} hidden {}", m.width, m.hidden);
    fmt::print("Model     {} {}, {} parameters; {}\n", m.arch, shape, h.parameter_count,
               custom.empty() ? "no Dropout/NormOut layers" : custom);
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
    if (!h.epoch_extra.empty()) {
        // Extra series, one column each (penalties, robust accuracy, schedules; docs/run-file.md).
        fmt::print("\n{:>5}", "epoch");
        for (const auto& name : h.epoch_extra)
            fmt::print("  {:>{}}", name, std::max<std::size_t>(9, name.size()));
        fmt::print("\n");
        for (const auto& e : info.epochs) {
            fmt::print("{:>5}", e.epoch);
            for (std::size_t k = 0; k < h.epoch_extra.size(); ++k) {
                const double v = k < e.extra.size() ? e.extra[k] : std::nan("");
                fmt::print("  {:>{}}", std::isfinite(v) ? fmt::format("{:.4g}", v) : std::string("-"),
                           std::max<std::size_t>(9, h.epoch_extra[k].size()));
            }
            fmt::print("\n");
        }
    }
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

void add_commands(CLI::App& app, Subcommands& out) {
    struct Args {
        std::string path;
        bool json = false;
        bool layers = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("info", "Show a run file: configuration, status and metrics");
    cmd->add_option("run", a->path, "Run file (.h5)")->required();
    cmd->add_flag("--json", a->json, "Machine-readable output");
    cmd->add_flag("--layers", a->layers,
                  "Final moving averages of the instrumented layers' statistics (thesis tables 3.2/3.3)");
    out.push_back({cmd, [a] { return a->layers ? run_info_layers(a->path, a->json) : run_info(a->path, a->json); }});
}
}  // namespace

const CommandRegistration registration{70, add_commands};

}  // namespace normout::cli
