// `normout flatness RUN.h5`: the flatness measures of a finished run (Fisher-Rao norm, Hessian
// trace and top eigenvalue, loss-landscape slices, interpolation from a checkpoint), printed and
// appended to the run file's analysis tables.
#include <fmt/format.h>
#include <torch/utils.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <memory>

#include "command.h"
#include "engine/data/locate.h"
#include "engine/flatness/flatness.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/train/checkpoint.h"
#include "engine/train/load_run.h"

namespace normout::cli {

namespace {

struct FlatnessArgs {
    std::string run;
    std::string data_root;
    std::string device;
    bool fisher_rao = false;
    bool hessian = false;
    std::string landscape;
    std::string interpolate;  // checkpoint path or step, "oldest" or "" (= oldest) when given
    std::string reference;    // "" = none, "both" or "empirical"
    std::vector<double> range;
    FlatnessConfig config;
};

std::string pm(double value, double se) {
    return fmt::format("{:.6g} ± {:.2g}", value, se);
}

bool all_digits(const std::string& s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isdigit(c); });
}

// The checkpoint to interpolate from: a path, a global step, or the oldest one kept.
CheckpointInfo pick_checkpoint(const std::string& run, const std::string& choice) {
    if (choice.empty() || choice == "oldest") {
        const auto all = list_checkpoints(run);
        if (all.empty())
            throw RunFileError(run + ": no checkpoints next to it (RUN.ckpt-<step>.pt) to interpolate from; name one");
        return all.front();
    }
    if (all_digits(choice)) {
        const std::string path = checkpoint_path(run, std::stoll(choice));
        if (!std::filesystem::exists(path)) throw RunFileError(path + ": no such checkpoint");
        return {path, std::stoll(choice)};
    }
    if (!std::filesystem::exists(choice)) throw RunFileError(choice + ": no such checkpoint");
    int64_t step = -1;
    for (const auto& c : list_checkpoints(run))
        if (std::filesystem::equivalent(c.path, choice)) step = c.global_step;
    return {choice, step};
}

void print_grid(const LandscapeGrid& g) {
    if (g.y.empty()) {
        fmt::print("  {:>10}  {:>12}  {:>9}\n", g.kind == "interpolation" ? "alpha" : "step", "loss", "accuracy");
        for (std::size_t i = 0; i < g.x.size(); ++i)
            fmt::print("  {:>10.4f}  {:>12.6g}  {:>9.4f}\n", g.x[i], g.loss[i], g.accuracy[i]);
        return;
    }
    const auto [lo, hi] = std::minmax_element(g.loss.begin(), g.loss.end());
    const std::size_t mid = (g.x.size() / 2) * g.y.size() + g.y.size() / 2;
    fmt::print(
        "  {} x {} points; loss from {:.6g} to {:.6g}; at the centre ({:.3g}, {:.3g}): loss {:.6g}, accuracy {:.4f}\n",
        g.x.size(), g.y.size(), *lo, *hi, g.x[g.x.size() / 2], g.y[g.y.size() / 2], g.loss[mid], g.accuracy[mid]);
}

int run_flatness(FlatnessArgs& a, bool interpolate_given, bool reference_given) {
    FlatnessConfig& c = a.config;
    c.fisher_rao = a.fisher_rao || (!a.hessian && a.landscape.empty() && !interpolate_given);
    c.hessian = a.hessian;
    c.landscape = a.landscape;
    if (a.range.size() == 2) {
        c.range_min = a.range[0];
        c.range_max = a.range[1];
    }
    validate(c);

    LoadedRun run = load_run(a.run, data_roots(a.data_root), a.device);
    if (run.info.weights_step < 0)
        throw RunFileError(a.run + ": the run holds no final weights (still running, or diverged)");
    const WeightsPosition at{static_cast<int64_t>(run.info.epochs.size()), run.info.weights_step};
    const c10::Device device(run.device.name);
    const ImageSet& test = run.data->test;
    fmt::print("{}: weights of step {} (epoch {}), {} test images, subset {} (seed {}), parameters: {}\n", a.run,
               at.step, at.epoch, test.count, c.n == 0 || c.n >= test.count ? std::string("all") : std::to_string(c.n),
               c.seed, c.params);

    FlatnessReport report = compute_flatness(run.net, test, c, device);
    if (const auto& f = report.fisher_rao) {
        fmt::print("Fisher-Rao norm over {} examples ({} parameters): empirical {}, model {}  [{:.2f} s]\n", f->n,
                   f->param_count, pm(f->empirical, f->empirical_se), pm(f->model, f->model_se), f->seconds);
        if (reference_given) {
            const bool both = a.reference != "empirical";
            const FisherRao r = fisher_rao_reference(run.net, test, c, device, both);
            const double de = std::abs(f->empirical - r.empirical) / std::abs(r.empirical);
            if (both)
                fmt::print(
                    "  per-example reference (one backward per example and class): empirical {:.6g}, model {:.6g}  "
                    "[{:.2f} s]; relative differences {:.2g}, {:.2g}; batched is {:.1f}x faster\n",
                    r.empirical, r.model, r.seconds, de, std::abs(f->model - r.model) / std::abs(r.model),
                    r.seconds / f->seconds);
            else
                fmt::print(
                    "  per-example reference (one backward per example, empirical only): empirical {:.6g}  [{:.2f} s]; "
                    "relative difference {:.2g}; batched (both versions) is {:.1f}x faster\n",
                    r.empirical, r.seconds, de, r.seconds / f->seconds);
        }
    }
    if (const auto& h = report.hessian) {
        fmt::print("Hessian on a batch of {} (loss {:.6g}, {} parameters):\n", h->n, h->loss, h->param_count);
        fmt::print("  trace {} (Hutchinson, {} Rademacher vectors)  [{:.2f} s]\n",
                   pm(h->trace.trace, h->trace.standard_error), h->trace.samples, h->trace_seconds);
        fmt::print("  top eigenvalue {:.6g} (power iteration, {} iterations, {})  [{:.2f} s]\n", h->top.value,
                   h->top.iterations, h->top.converged ? "converged" : "not converged", h->top_seconds);
    }
    for (const auto& g : report.grids) {
        fmt::print("Landscape {} over [{}, {}], {} examples per point, direction seed {}  [{:.2f} s]\n", g.kind,
                   c.range_min, c.range_max, g.n, g.seed, g.seconds);
        print_grid(g);
    }
    if (interpolate_given) {
        const CheckpointInfo ckpt = pick_checkpoint(a.run, a.interpolate);
        const ModelState start = read_checkpoint_model(ckpt.path, run.info.header.run_id, run.net);
        LandscapeGrid g = interpolate(run.net, start, current_state(run.net), test, c, device);
        g.from = "checkpoint " + std::filesystem::path(ckpt.path).filename().string() +
                 (ckpt.global_step >= 0 ? " (step " + std::to_string(ckpt.global_step) + ")" : "");
        g.to = "the run file's weights (step " + std::to_string(at.step) + ")";
        fmt::print("Interpolation from {} (alpha 0) to {} (alpha 1), {} examples per point  [{:.2f} s]\n", g.from, g.to,
                   g.n, g.seconds);
        print_grid(g);
        report.grids.push_back(std::move(g));
    }
    append_flatness(a.run, report, at);
    fmt::print("Stored in {} (/analysis/{}{})\n", analysis_path(a.run), kFlatnessTable,
               report.grids.empty() ? "" : " and /analysis/arrays");
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto args = std::make_shared<FlatnessArgs>();
    auto* cmd = app.add_subcommand(
        "flatness", "Flatness of a finished run: Fisher-Rao norm, Hessian trace and top eigenvalue, loss landscape");
    cmd->add_option("run", args->run, "Run file (.h5)")->required()->check(CLI::ExistingFile);
    cmd->add_flag("--fisher-rao", args->fisher_rao,
                  "Fisher-Rao norm, empirical and model versions (the default when nothing else is asked for)");
    cmd->add_flag("--hessian", args->hessian, "Hessian trace (Hutchinson) and top eigenvalue (power iteration)");
    cmd->add_option("--landscape", args->landscape, "Loss-landscape slice along filter-normalised random directions")
        ->check(CLI::IsMember({"1d", "2d"}));
    cmd->add_option("--grid", args->config.grid, "Points per axis of landscape slices and interpolations")
        ->check(CLI::Range(2, 1001));
    cmd->add_option("--range", args->range, "Landscape range LO HI along each direction (default -1 1)")->expected(2);
    auto* interp = cmd->add_option("--interpolate", args->interpolate,
                                   "Loss along the line from a checkpoint (path, global step, or 'oldest', the "
                                   "default) to the final weights")
                       ->expected(0, 1);
    cmd->add_option("--n", args->config.n, "Test examples in the seeded subset (0 = the whole test set)")
        ->check(CLI::NonNegativeNumber);
    cmd->add_option("--params", args->config.params,
                    "Parameters in theta: all trainable ones, or weights (no BatchNorm, no biases)")
        ->check(CLI::IsMember({"all", "weights"}));
    cmd->add_option("--seed", args->config.seed, "Seed of the subset and of the random vectors");
    cmd->add_option("--batch-size", args->config.batch_size, "Examples per batched pass")->check(CLI::Range(1, 100000));
    cmd->add_option("--hessian-batch", args->config.hessian_batch, "Examples in the Hessian's fixed batch")
        ->check(CLI::Range(1, 100000));
    cmd->add_option("--hutchinson", args->config.hutchinson_samples, "Rademacher vectors for the trace")
        ->check(CLI::Range(2, 100000));
    cmd->add_option("--power-iterations", args->config.power_iterations, "Most power iterations")
        ->check(CLI::Range(1, 100000));
    auto* reference = cmd->add_option("--reference", args->reference,
                                      "Also compute the Fisher-Rao norm with one backward pass per example (and "
                                      "class, unless 'empirical'), printed with its time, not stored")
                          ->expected(0, 1)
                          ->check(CLI::IsMember({"both", "empirical"}));
    cmd->add_option("--device", args->device, "Device (cpu, cuda, cuda:N; default: the run's setting)");
    cmd->add_option("--data", args->data_root, "Data directory (as for train)");
    out.push_back(
        {cmd, [args, interp, reference] { return run_flatness(*args, interp->count() > 0, reference->count() > 0); }});
}

}  // namespace

const CommandRegistration registration{110, add_commands};

}  // namespace normout::cli
