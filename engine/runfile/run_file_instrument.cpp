#include "engine/runfile/run_file_instrument.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>

namespace normout::instrument_io {

namespace {

std::string group_name(int layer) {
    return "instrument/layer_" + std::to_string(layer);
}

const char* kStatNames[5] = {"mean", "max", "std", "var", "sparsity"};
const char* kKeepNames[5] = {"mean_p", "expected_drop", "realised_drop", "frac_p_low", "frac_p_high"};

double& stat_field(ActivationStats& a, int f) {
    switch (f) {
        case 0:
            return a.mean;
        case 1:
            return a.max;
        case 2:
            return a.std;
        case 3:
            return a.var;
        default:
            return a.sparsity;
    }
}

double& keep_field(KeepStats& k, int f) {
    switch (f) {
        case 0:
            return k.mean_p;
        case 1:
            return k.expected_drop;
        case 2:
            return k.realised_drop;
        case 3:
            return k.frac_p_low;
        default:
            return k.frac_p_high;
    }
}

// Every per-step series of a layer: its name and its field in a row, by id. Ids 0-19: input
// then output, each statistic raw then EWMA; ids 20-29: keep statistics, raw then EWMA.
struct StepSeries {
    std::string name;
    int id;
};

double& step_field(LayerStepStats& s, int id) {
    const bool ewma = id % 2 == 1;
    if (id < 20) {
        ActivationStats& a = id < 10 ? (ewma ? s.input_ewma : s.input) : (ewma ? s.output_ewma : s.output);
        return stat_field(a, (id % 10) / 2);
    }
    return keep_field(ewma ? s.keep_ewma : s.keep, (id - 20) / 2);
}

std::vector<StepSeries> step_series(bool keep) {
    std::vector<StepSeries> out;
    int id = 0;
    for (const char* side : {"input", "output"})
        for (int f = 0; f < 5; ++f)
            for (const char* suffix : {"", "_ewma"})
                out.push_back({std::string(side) + "_" + kStatNames[f] + suffix, id++});
    if (keep)
        for (int f = 0; f < 5; ++f)
            for (const char* suffix : {"", "_ewma"})
                out.push_back({std::string("keep_") + kKeepNames[f] + suffix, id++});
    return out;
}

// Per-unit histograms: (epochs, units, slots) unsigned 32-bit counts, one chunk per epoch,
// deflated (most bins of most units are empty).
void create_counts(hid_t parent, const std::string& name, hsize_t units, hsize_t slots) {
    const hsize_t dims[3] = {0, units, slots}, maxdims[3] = {H5S_UNLIMITED, units, slots},
                  chunk[3] = {1, std::max<hsize_t>(units, 1), std::max<hsize_t>(slots, 1)};
    H5Handle sp = h5::space(H5Screate_simple(3, dims, maxdims), "dataspace");
    H5Handle p = h5::plist(H5Pcreate(H5P_DATASET_CREATE), "property list");
    h5::ok(H5Pset_chunk(p.get(), 3, chunk), "chunking");
    h5::ok(H5Pset_shuffle(p.get()), "shuffle filter");
    h5::ok(H5Pset_deflate(p.get(), 4), "deflate filter");
    h5::dataset(H5Dcreate2(parent, name.c_str(), H5T_STD_U32LE, sp.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
                "creating " + name);
}

// Counts as stored: uint32, saturated (no unit gets 2^32 values in one epoch on the data sets here).
std::vector<double> saturated(std::vector<double> v, std::size_t n) {
    v.resize(n, 0);
    for (double& x : v)
        x = std::isfinite(x) ? std::clamp(x, 0.0, 4294967295.0) : 0.0;
    return v;
}

}  // namespace

void create(hid_t file, const RunHeader& h) {
    H5Handle lcpl = h5::plist(H5Pcreate(H5P_LINK_CREATE), "property list");
    h5::ok(H5Pset_create_intermediate_group(lcpl.get(), 1), "property list");
    H5Handle root =
        h5::group(H5Gcreate2(file, "instrument", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /instrument");
    std::vector<long long> indices;
    for (const auto& l : h.instrumented)
        indices.push_back(l.index);
    h5::write_ints_attribute(root.get(), "layers", indices);
    h5::write_int_attribute(root.get(), "every", h.instrument_every);
    h5::write_int_attribute(root.get(), "histogram_bins", h.histogram_bins);
    h5::write_int_attribute(root.get(), "keep_histogram_bins", kKeepHistogramBins);
    h5::write_floats_attribute(root.get(), "ewma_alpha", {static_cast<float>(h.ewma_alpha)});
    const hsize_t bins = static_cast<hsize_t>(h.histogram_bins);
    for (const auto& l : h.instrumented) {
        H5Handle g = h5::group(H5Gcreate2(file, group_name(l.index).c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                               "creating " + group_name(l.index));
        h5::write_int_attribute(g.get(), "index", l.index);
        h5::write_string_attribute(g.get(), "kind", l.kind);
        h5::write_string_attribute(g.get(), "description", l.description);
        h5::write_int_attribute(g.get(), "units", l.units);
        h5::write_int_attribute(g.get(), "keep", l.keep ? 1 : 0);
        h5::write_ints_attribute(g.get(), "neurons", std::vector<long long>(l.neurons.begin(), l.neurons.end()));
        H5Handle steps =
            h5::group(H5Gcreate2(g.get(), "steps", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating steps");
        h5::create_series(steps.get(), "global_step", 1024);
        for (const auto& s : step_series(l.keep))
            h5::create_series(steps.get(), s.name, 1024);
        H5Handle epochs =
            h5::group(H5Gcreate2(g.get(), "epochs", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating epochs");
        const hsize_t units = static_cast<hsize_t>(l.units);
        h5::create_series(epochs.get(), "epoch", 64);
        for (const char* n : {"neuron_mean", "neuron_std", "neuron_rate"})
            h5::create_table(epochs.get(), n, {units}, true, 1);
        h5::create_table(epochs.get(), "hist_edges", {bins + 1}, false, 16);
        h5::create_table(epochs.get(), "hist_counts", {bins}, false, 16);
        for (const char* n : {"hist_zero", "hist_under", "hist_over"})
            h5::create_series(epochs.get(), n, 64);
        if (l.keep) h5::create_table(epochs.get(), "keep_hist", {static_cast<hsize_t>(kKeepHistogramBins)}, false, 16);
        h5::create_table(epochs.get(), "unit_edges", {bins + 1}, false, 16);
        create_counts(epochs.get(), "unit_hists", units, bins + 3);
        if (l.keep) create_counts(epochs.get(), "unit_keep_hists", units, static_cast<hsize_t>(kKeepHistogramBins));
        if (!l.neurons.empty())
            h5::create_table(epochs.get(), "neuron_hists", {static_cast<hsize_t>(l.neurons.size()), bins + 2}, false,
                             4);
    }
}

void append_steps(hid_t file, const std::vector<LayerStepStats>& rows) {
    std::map<int, std::vector<LayerStepStats>> by_layer;
    for (const auto& r : rows)
        by_layer[r.layer].push_back(r);
    for (auto& [layer, list] : by_layer) {
        H5Handle g = h5::group(H5Gopen2(file, (group_name(layer) + "/steps").c_str(), H5P_DEFAULT),
                               "opening " + group_name(layer));
        std::vector<double> v(list.size());
        for (std::size_t i = 0; i < list.size(); ++i)
            v[i] = static_cast<double>(list[i].global_step);
        h5::append_series(g.get(), "global_step", v);
        for (const auto& s : step_series(list.front().has_keep)) {
            for (std::size_t i = 0; i < list.size(); ++i)
                v[i] = step_field(list[i], s.id);
            h5::append_series(g.get(), s.name, v);
        }
    }
}

void append_epochs(hid_t file, int bins, const std::vector<LayerEpochSnapshot>& rows) {
    for (const auto& r : rows) {
        H5Handle g = h5::group(H5Gopen2(file, (group_name(r.layer) + "/epochs").c_str(), H5P_DEFAULT),
                               "opening " + group_name(r.layer));
        H5Handle lg = h5::group(H5Gopen2(file, group_name(r.layer).c_str(), H5P_DEFAULT), "opening layer");
        const auto units = static_cast<std::size_t>(h5::read_int_attribute(lg.get(), "units"));
        const bool keep = h5::read_int_attribute(lg.get(), "keep") != 0;
        const auto neurons = h5::read_ints_attribute(lg.get(), "neurons");
        auto padded = [](const std::vector<float>& v, std::size_t n) {
            std::vector<double> out(n, NAN);  // NaN where nothing was recorded
            for (std::size_t i = 0; i < std::min(n, v.size()); ++i)
                out[i] = v[i];
            return out;
        };
        auto sized = [](std::vector<double> v, std::size_t n) {
            v.resize(n, NAN);
            return v;
        };
        h5::append_series(g.get(), "epoch", {static_cast<double>(r.epoch)});
        h5::append_table(g.get(), "neuron_mean", padded(r.neuron_mean, units), 1);
        h5::append_table(g.get(), "neuron_std", padded(r.neuron_std, units), 1);
        h5::append_table(g.get(), "neuron_rate", padded(r.neuron_rate, units), 1);
        h5::append_table(g.get(), "hist_edges", sized(r.hist_edges, static_cast<std::size_t>(bins) + 1), 1);
        h5::append_table(g.get(), "hist_counts", sized(r.hist_counts, static_cast<std::size_t>(bins)), 1);
        h5::append_series(g.get(), "hist_zero", {r.hist_zero});
        h5::append_series(g.get(), "hist_under", {r.hist_under});
        h5::append_series(g.get(), "hist_over", {r.hist_over});
        if (keep) h5::append_table(g.get(), "keep_hist", sized(r.keep_hist, kKeepHistogramBins), 1);
        // Files written before per-unit histograms lack these datasets.
        if (H5Lexists(g.get(), "unit_hists", H5P_DEFAULT) > 0) {
            h5::append_table(g.get(), "unit_edges", sized(r.unit_edges, static_cast<std::size_t>(bins) + 1), 1);
            h5::append_table(g.get(), "unit_hists",
                             saturated(r.unit_hists, units * (static_cast<std::size_t>(bins) + 3)), 1);
            if (keep && H5Lexists(g.get(), "unit_keep_hists", H5P_DEFAULT) > 0)
                h5::append_table(g.get(), "unit_keep_hists", saturated(r.unit_keep_hists, units * kKeepHistogramBins),
                                 1);
        }
        if (!neurons.empty()) {
            std::vector<double> flat;
            for (std::size_t j = 0; j < neurons.size(); ++j) {
                const auto h = j < r.neuron_hists.size() ? r.neuron_hists[j] : std::vector<double>{};
                const auto row = sized(h, static_cast<std::size_t>(bins) + 2);
                flat.insert(flat.end(), row.begin(), row.end());
            }
            h5::append_table(g.get(), "neuron_hists", flat, 1);
        }
    }
}

void read(hid_t file, InstrumentData& out, bool with_steps, bool with_epochs) {
    if (H5Lexists(file, "instrument", H5P_DEFAULT) <= 0) return;
    constexpr long long kIntMax = std::numeric_limits<int>::max(), kIntMin = std::numeric_limits<int>::min();
    H5Handle root = h5::open_group(file, "instrument");
    out.every = static_cast<int>(h5::read_int_attribute(root.get(), "every", 1, kIntMax));
    out.histogram_bins = static_cast<int>(h5::read_int_attribute(root.get(), "histogram_bins", 0, kIntMax));
    const auto alpha = h5::read_floats_attribute(root.get(), "ewma_alpha");
    out.ewma_alpha = alpha.empty() ? 0 : alpha[0];
    const std::size_t bins = static_cast<std::size_t>(out.histogram_bins);
    out.layers.clear();
    const std::string layers_label = h5::attribute_label(root.get(), "layers");
    for (long long index : h5::read_ints_attribute(root.get(), "layers")) {
        if (index < kIntMin || index > kIntMax)
            throw RunFileError(layers_label + ": layer index " + std::to_string(index) + " is out of range");
        H5Handle g = h5::open_group(file, group_name(static_cast<int>(index)));
        InstrumentedLayer l;
        l.index = static_cast<int>(index);
        l.kind = h5::read_string_attribute(g.get(), "kind");
        l.description = h5::read_string_attribute(g.get(), "description");
        l.units = h5::read_int_attribute(g.get(), "units", 0, kIntMax);
        l.keep = h5::read_int_attribute(g.get(), "keep") != 0;
        const std::string neurons_label = h5::attribute_label(g.get(), "neurons");
        for (long long n : h5::read_ints_attribute(g.get(), "neurons")) {
            if (n < 0 || n > kIntMax)
                throw RunFileError(neurons_label + ": neuron " + std::to_string(n) + " is out of range");
            l.neurons.push_back(static_cast<int>(n));
        }
        out.layers.push_back(l);
        if (with_steps) {
            H5Handle sg = h5::open_group(g.get(), "steps");
            const auto gs = h5::read_series(sg.get(), "global_step");
            const auto series = step_series(l.keep);
            std::vector<std::vector<double>> cols;
            std::size_t n = gs.size();
            for (const auto& s : series) {
                cols.push_back(h5::read_series(sg.get(), s.name));
                n = std::min(n, cols.back().size());
            }
            n = h5::written_rows(gs, n);
            auto& list = out.steps[l.index];
            list.resize(n);
            for (std::size_t i = 0; i < n; ++i) {
                list[i].global_step = h5::step_number(gs[i], group_name(l.index) + "/steps/global_step");
                list[i].layer = l.index;
                list[i].has_keep = l.keep;
                for (std::size_t c = 0; c < series.size(); ++c)
                    step_field(list[i], series[c].id) = cols[c][i];
            }
        }
        if (with_epochs) {
            H5Handle eg = h5::open_group(g.get(), "epochs");
            const auto epochs = h5::read_series(eg.get(), "epoch");
            const hsize_t u = static_cast<hsize_t>(l.units), k = l.neurons.size();
            // Every table's rows have the shape the layer's attributes promise.
            hsize_t rows = 0;
            std::size_t n = epochs.size();
            auto table = [&](const char* name, const std::vector<hsize_t>& row_shape) {
                auto v = h5::read_table(eg.get(), name, row_shape, rows);
                n = std::min<std::size_t>(n, static_cast<std::size_t>(rows));
                return v;
            };
            const auto mean = table("neuron_mean", {u});
            const auto stdv = table("neuron_std", {u});
            const auto rate = table("neuron_rate", {u});
            const auto edges = table("hist_edges", {bins + 1});
            const auto counts = table("hist_counts", {bins});
            const auto zero = h5::read_series(eg.get(), "hist_zero");
            const auto under = h5::read_series(eg.get(), "hist_under");
            const auto over = h5::read_series(eg.get(), "hist_over");
            std::vector<double> keep_hist, neuron_hists;
            if (l.keep) keep_hist = table("keep_hist", {static_cast<hsize_t>(kKeepHistogramBins)});
            if (k) neuron_hists = table("neuron_hists", {k, bins + 2});
            for (std::size_t m : {zero.size(), under.size(), over.size()})
                n = std::min(n, m);
            n = h5::written_rows(epochs, n);
            auto& list = out.epochs[l.index];
            list.resize(n);
            for (std::size_t e = 0; e < n; ++e) {
                LayerEpochSnapshot& s = list[e];
                s.epoch = h5::epoch_number(epochs[e], group_name(l.index) + "/epochs/epoch");
                s.layer = l.index;
                s.neuron_mean.assign(mean.begin() + e * u, mean.begin() + (e + 1) * u);
                s.neuron_std.assign(stdv.begin() + e * u, stdv.begin() + (e + 1) * u);
                s.neuron_rate.assign(rate.begin() + e * u, rate.begin() + (e + 1) * u);
                s.hist_edges.assign(edges.begin() + e * (bins + 1), edges.begin() + (e + 1) * (bins + 1));
                s.hist_counts.assign(counts.begin() + e * bins, counts.begin() + (e + 1) * bins);
                s.hist_zero = zero[e];
                s.hist_under = under[e];
                s.hist_over = over[e];
                if (l.keep)
                    s.keep_hist.assign(keep_hist.begin() + e * kKeepHistogramBins,
                                       keep_hist.begin() + (e + 1) * kKeepHistogramBins);
                for (std::size_t j = 0; j < k; ++j) {
                    const auto begin = neuron_hists.begin() + (e * k + j) * (bins + 2);
                    s.neuron_hists.emplace_back(begin, begin + (bins + 2));
                }
            }
        }
    }
}

}  // namespace normout::instrument_io

namespace normout {

namespace {

H5Handle open_segment(const std::string& path) {
    H5Handle f = h5::open_swmr_read(path);
    if (!f) f = H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    if (!f) throw RunFileError(path + ": cannot open the file");
    return f;
}

bool has_path(hid_t file, const std::string& path) {
    std::string prefix;
    std::size_t start = 0;
    while (start <= path.size()) {
        const std::size_t end = path.find('/', start);
        prefix = path.substr(0, end);
        if (H5Lexists(file, prefix.c_str(), H5P_DEFAULT) <= 0) return false;
        if (end == std::string::npos) break;
        start = end + 1;
    }
    return true;
}

struct UnitRow {
    std::string path;
    hsize_t row = 0;
};

// Epoch -> (segment, row) of the rows with per-unit histograms; later segments supersede what
// came after their checkpoint.
std::map<int, UnitRow> unit_rows(const std::string& path, int layer, int64_t& units, bool& keep, int& bins) {
    const RunInfo info = read_run(path);
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    std::map<int, UnitRow> rows;
    bool found = false;
    const std::string epochs_path = "instrument/layer_" + std::to_string(layer) + "/epochs";
    for (std::size_t k = 0; k < info.segments.size(); ++k) {
        const RunSegment& seg = info.segments[k];
        try {
            H5Handle file = open_segment(seg.path);
            if (k > 0)
                for (auto it = rows.begin(); it != rows.end();)
                    it = it->first > seg.resumed_epoch_rows ? rows.erase(it) : std::next(it);
            if (!has_path(file.get(), epochs_path)) continue;
            found = true;
            H5Handle lg = h5::open_group(file.get(), "instrument/layer_" + std::to_string(layer));
            units = h5::read_int_attribute(lg.get(), "units", 0, std::numeric_limits<int>::max());
            keep = h5::read_int_attribute(lg.get(), "keep") != 0;
            H5Handle root = h5::open_group(file.get(), "instrument");
            bins = static_cast<int>(h5::read_int_attribute(root.get(), "histogram_bins", 2, 4096));
            H5Handle eg = h5::open_group(file.get(), epochs_path);
            if (H5Lexists(eg.get(), "unit_hists", H5P_DEFAULT) <= 0) continue;
            const auto epochs = h5::read_series(eg.get(), "epoch");
            hsize_t n = 0;
            const auto edges = h5::read_table(eg.get(), "unit_edges", {static_cast<hsize_t>(bins) + 1}, n);
            n = std::min<hsize_t>(n, epochs.size());
            for (hsize_t r = 0; r < n; ++r)
                if (std::isfinite(edges[r * (static_cast<hsize_t>(bins) + 1)]) && std::isfinite(epochs[r]))
                    rows[h5::epoch_number(epochs[r], epochs_path + "/epoch")] = {seg.path, r};
        } catch (const RunFileError& e) {
            throw RunFileError(seg.path + ": " + e.what());
        }
    }
    if (!found) throw RunFileError(path + ": layer " + std::to_string(layer) + " is not instrumented in this run");
    return rows;
}

// Row `row` of a (rows, units, slots) dataset, checked like every other read.
// Units [first, first + count) of it (all by default).
std::vector<double> read_counts_row(hid_t group, const std::string& name, hsize_t row, hsize_t units, hsize_t slots,
                                    hsize_t first = 0, hsize_t count = ~hsize_t{0}) {
    if (count == ~hsize_t{0}) count = units - first;
    const std::string label = h5::dataset_label(group, name);
    H5Handle d = h5::open_dataset(group, name);
    const h5::Stored s = h5::stored_dataset(d.get());
    if (!s.numeric() || s.null_space || s.dims.size() != 3 || s.dims[1] != units || s.dims[2] != slots ||
        row >= s.dims[0])
        throw h5::mismatch(label,
                           "a 3-D table of numbers of shape (rows > " + std::to_string(row) + ", " +
                               std::to_string(units) + ", " + std::to_string(slots) + ")",
                           s);
    h5::check_dataset_storage(d.get(), s, label);
    if (first > units || count > units - first)
        throw RunFileError(label + ": no units beyond " + std::to_string(units));
    std::vector<double> v(static_cast<std::size_t>(count * slots));
    H5Handle fs = h5::space(H5Dget_space(d.get()), label + ": space");
    const hsize_t start[3] = {row, first, 0}, extent[3] = {1, count, slots};
    h5::ok(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, start, nullptr, extent, nullptr), label + ": selecting");
    H5Handle ms = h5::space(H5Screate_simple(3, extent, nullptr), label + ": memory space");
    if (!v.empty())
        h5::ok(H5Dread(d.get(), H5T_NATIVE_DOUBLE, ms.get(), fs.get(), H5P_DEFAULT, v.data()), label + ": cannot read");
    return v;
}

}  // namespace

std::vector<int> unit_histogram_epochs(const std::string& path, int layer) {
    int64_t units = 0;
    bool keep = false;
    int bins = 0;
    std::vector<int> out;
    for (const auto& [epoch, row] : unit_rows(path, layer, units, keep, bins))
        out.push_back(epoch);
    return out;
}

UnitHistograms read_unit_histograms(const std::string& path, int layer, int epoch) {
    UnitHistograms h;
    bool keep = false;
    const auto rows = unit_rows(path, layer, h.units, keep, h.bins);
    const auto it = rows.find(epoch);
    if (it == rows.end())
        throw RunFileError(path + ": layer " + std::to_string(layer) + " has no per-unit histograms for epoch " +
                           std::to_string(epoch));
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        H5Handle file = open_segment(it->second.path);
        H5Handle eg = h5::open_group(file.get(), "instrument/layer_" + std::to_string(layer) + "/epochs");
        const hsize_t bins = static_cast<hsize_t>(h.bins), units = static_cast<hsize_t>(h.units);
        hsize_t n = 0;
        const auto edges = h5::read_table(eg.get(), "unit_edges", {bins + 1}, n);
        if (it->second.row >= n) throw RunFileError("unit_edges: too few rows");
        h.edges.assign(edges.begin() + static_cast<std::ptrdiff_t>(it->second.row * (bins + 1)),
                       edges.begin() + static_cast<std::ptrdiff_t>((it->second.row + 1) * (bins + 1)));
        h.counts = read_counts_row(eg.get(), "unit_hists", it->second.row, units, bins + 3);
        if (keep && H5Lexists(eg.get(), "unit_keep_hists", H5P_DEFAULT) > 0)
            h.keep = read_counts_row(eg.get(), "unit_keep_hists", it->second.row, units,
                                     static_cast<hsize_t>(kKeepHistogramBins));
    } catch (const RunFileError& e) {
        throw RunFileError(it->second.path + ": " + e.what());
    }
    h.layer = layer;
    h.epoch = epoch;
    return h;
}

std::vector<UnitHistograms> read_unit_history(const std::string& path, int layer, int64_t unit) {
    int64_t units = 0;
    bool keep = false;
    int bins = 0;
    const auto rows = unit_rows(path, layer, units, keep, bins);
    if (unit < 0 || unit >= units)
        throw RunFileError(path + ": layer " + std::to_string(layer) + " has no unit " + std::to_string(unit) + " (" +
                           std::to_string(units) + " units)");
    std::vector<UnitHistograms> out;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    for (const auto& [epoch, where] : rows) {
        try {
            H5Handle file = open_segment(where.path);
            H5Handle eg = h5::open_group(file.get(), "instrument/layer_" + std::to_string(layer) + "/epochs");
            const hsize_t b = static_cast<hsize_t>(bins), u = static_cast<hsize_t>(units);
            hsize_t n = 0;
            const auto edges = h5::read_table(eg.get(), "unit_edges", {b + 1}, n);
            if (where.row >= n) throw RunFileError("unit_edges: too few rows");
            UnitHistograms h;
            h.layer = layer;
            h.epoch = epoch;
            h.units = 1;
            h.bins = bins;
            h.edges.assign(edges.begin() + static_cast<std::ptrdiff_t>(where.row * (b + 1)),
                           edges.begin() + static_cast<std::ptrdiff_t>((where.row + 1) * (b + 1)));
            h.counts = read_counts_row(eg.get(), "unit_hists", where.row, u, b + 3, static_cast<hsize_t>(unit), 1);
            if (keep && H5Lexists(eg.get(), "unit_keep_hists", H5P_DEFAULT) > 0)
                h.keep = read_counts_row(eg.get(), "unit_keep_hists", where.row, u,
                                         static_cast<hsize_t>(kKeepHistogramBins), static_cast<hsize_t>(unit), 1);
            out.push_back(std::move(h));
        } catch (const RunFileError& e) {
            throw RunFileError(where.path + ": " + e.what());
        }
    }
    return out;
}

}  // namespace normout
