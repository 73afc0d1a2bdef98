// `normout neuron`: one unit's histogram of an epoch (bins fixed per layer for the whole run),
// or a layer's notable units: dead, saturated (always firing), undropped, most changed.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "command.h"
#include "engine/runfile/notable_units.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/run_file_instrument.h"

namespace normout::cli {

namespace {

struct Target {
    int layer = 0;
    int64_t unit = -1;  // -1: the whole layer
};

long long parse_number(const std::string& text, const std::string& what) {
    std::size_t used = 0;
    long long v = 0;
    try {
        v = std::stoll(text, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    if (text.empty() || used != text.size() || v < 0)
        throw std::invalid_argument("'" + text + "' is not a " + what + " (a number >= 0)");
    return v;
}

Target parse_target(const std::string& text) {
    Target t;
    const auto colon = text.find(':');
    t.layer = static_cast<int>(parse_number(text.substr(0, colon), "layer index"));
    if (colon != std::string::npos) t.unit = parse_number(text.substr(colon + 1), "unit");
    return t;
}

// The layer's record; throws with the instrumented layers when it is not one.
InstrumentedLayer find_layer(const RunInfo& info, const std::string& path, int layer) {
    std::string list;
    for (const auto& l : info.instrumented) {
        if (l.index == layer) return l;
        list += (list.empty() ? "" : ", ") + std::to_string(l.index);
    }
    throw std::invalid_argument(path + ": layer " + std::to_string(layer) +
                                " is not instrumented (instrumented: " + (list.empty() ? "none" : list) + ")");
}

int pick_epoch(const std::vector<int>& epochs, int wanted, const std::string& path, int layer) {
    if (epochs.empty())
        throw std::invalid_argument(path + ": no per-unit histograms for layer " + std::to_string(layer) +
                                    " (the run was recorded before they existed, or no epoch has ended)");
    if (wanted < 0) return epochs.back();
    if (std::find(epochs.begin(), epochs.end(), wanted) == epochs.end())
        throw std::invalid_argument(path + ": layer " + std::to_string(layer) + " has no epoch " +
                                    std::to_string(wanted) + " (epochs " + std::to_string(epochs.front()) + " to " +
                                    std::to_string(epochs.back()) + ")");
    return wanted;
}

int print_unit(const UnitHistograms& h, const InstrumentedLayer& l, int64_t u, bool csv) {
    const double* c = h.unit(u);
    const int bins = h.bins;
    if (csv) {
        fmt::print("section,lo,hi,count\n");
        fmt::print("zero,0,0,{:.0f}\n", c[0]);
        fmt::print("under,-inf,{:.17g},{:.0f}\n", h.edges[0], c[1]);
        for (int b = 0; b < bins; ++b)
            fmt::print("bin,{:.17g},{:.17g},{:.0f}\n", h.edges[static_cast<std::size_t>(b)],
                       h.edges[static_cast<std::size_t>(b) + 1], c[b + 2]);
        fmt::print("over,{:.17g},inf,{:.0f}\n", h.edges[static_cast<std::size_t>(bins)], c[bins + 2]);
        if (!h.keep.empty())
            for (int b = 0; b < kKeepHistogramBins; ++b)
                fmt::print("keep,{:.17g},{:.17g},{:.0f}\n", static_cast<double>(b) / kKeepHistogramBins,
                           static_cast<double>(b + 1) / kKeepHistogramBins,
                           h.keep[static_cast<std::size_t>(u * kKeepHistogramBins + b)]);
        return kExitOk;
    }
    fmt::print("Layer {} ({}), unit {} of {}, epoch {}: {:.0f} values\n", l.index, l.description, u, h.units, h.epoch,
               unit_total(h, u));
    fmt::print("  {:<27} {:>12.0f}\n", "zero", c[0]);
    fmt::print("  {:<27} {:>12.0f}\n", fmt::format("under (< {:.6g})", h.edges[0]), c[1]);
    for (int b = 0; b < bins; ++b)
        fmt::print("  [{:>11.6g}, {:>11.6g})  {:>12.0f}\n", h.edges[static_cast<std::size_t>(b)],
                   h.edges[static_cast<std::size_t>(b) + 1], c[b + 2]);
    fmt::print("  {:<27} {:>12.0f}\n", fmt::format("over (>= {:.6g})", h.edges[static_cast<std::size_t>(bins)]),
               c[bins + 2]);
    if (!h.keep.empty()) {
        fmt::print("Keep probability\n");
        for (int b = 0; b < kKeepHistogramBins; ++b)
            fmt::print("  [{:>4.2f}, {:>4.2f}{}  {:>12.0f}\n", static_cast<double>(b) / kKeepHistogramBins,
                       static_cast<double>(b + 1) / kKeepHistogramBins, b + 1 == kKeepHistogramBins ? "]" : ")",
                       h.keep[static_cast<std::size_t>(u * kKeepHistogramBins + b)]);
    }
    return kExitOk;
}

struct Args {
    std::string path, target, list;
    int epoch = -1, from = -1, top = 20;
    bool csv = false;
};

int run_neuron(const Args& a) {
    const Target t = parse_target(a.target);
    const RunInfo info = read_run(a.path);
    const InstrumentedLayer l = find_layer(info, a.path, t.layer);
    const std::vector<int> epochs = unit_histogram_epochs(a.path, t.layer);
    const int epoch = pick_epoch(epochs, a.epoch, a.path, t.layer);
    if (a.list.empty()) {
        if (t.unit < 0) throw std::invalid_argument("give a unit (LAYER:UNIT), or --list with a layer");
        if (t.unit >= l.units)
            throw std::invalid_argument(a.path + ": layer " + std::to_string(t.layer) + " has no unit " +
                                        std::to_string(t.unit) + " (" + std::to_string(l.units) + " units)");
        return print_unit(read_unit_histograms(a.path, t.layer, epoch), l, t.unit, a.csv);
    }
    if (t.unit >= 0) throw std::invalid_argument("--list takes a layer, not LAYER:UNIT");
    const UnitHistograms h = read_unit_histograms(a.path, t.layer, epoch);
    const auto kind = parse_notable_kind(a.list);
    if (!kind) throw std::invalid_argument("--list takes dead, saturated, undropped or changed, not '" + a.list + "'");
    std::string what = notable_description(*kind);
    std::vector<NotableUnit> found;
    if (*kind == NotableKind::Changed) {
        const int from = a.from >= 0 ? pick_epoch(epochs, a.from, a.path, t.layer) : epochs.front();
        what = fmt::format("most changed since epoch {} (score: total-variation distance of the histograms)", from);
        const UnitHistograms before = read_unit_histograms(a.path, t.layer, from);
        found = notable_units(h, *kind, &before, a.top);
    } else {
        if (*kind == NotableKind::Undropped && h.keep.empty())
            throw std::invalid_argument(
                "layer " + std::to_string(t.layer) + " (" + l.kind +
                ") has no keep probabilities: --list undropped needs a NormOut or Dropout layer");
        found = notable_units(h, *kind);
    }
    if (a.csv) {
        fmt::print("unit,score\n");
        for (const NotableUnit& n : found)
            fmt::print("{},{:.17g}\n", n.unit, n.score);
        return kExitOk;
    }
    fmt::print("Layer {} ({}), epoch {}: {} of {} units {}\n", l.index, l.description, epoch, found.size(), h.units,
               what);
    for (const NotableUnit& n : found)
        fmt::print("  {:>6}  {:.6g}\n", n.unit, n.score);
    return kExitOk;
}

void add_commands(CLI::App& app, Subcommands& out) {
    auto a = std::make_shared<Args>();
    auto* cmd = app.add_subcommand("neuron", "A unit's activation histogram of an epoch, or a layer's notable units");
    cmd->add_option("run", a->path, "Run file (.h5)")->required();
    cmd->add_option("target", a->target, "LAYER:UNIT (a histogram) or LAYER (with --list)")->required();
    cmd->add_option("--epoch", a->epoch, "Epoch (default: the last)");
    cmd->add_option("--list", a->list,
                    "Notable units of the layer: dead, saturated (always firing), undropped (NormOut/Dropout) or "
                    "changed (top units by total-variation distance since --from)");
    cmd->add_option("--from", a->from, "--list changed: the earlier epoch (default: the first)");
    cmd->add_option("--top", a->top, "--list changed: how many units (default 20)");
    cmd->add_flag("--csv", a->csv, "Comma-separated output");
    out.push_back({cmd, [a] { return run_neuron(*a); }});
}

}  // namespace

const CommandRegistration registration{72, add_commands};

}  // namespace normout::cli
