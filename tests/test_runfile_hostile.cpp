// Run files that lie: copies of a valid run with one attribute, dataset or group rewritten (wrong
// class, rank, number of elements or size, huge declared shapes with no data, missing objects).
// Every reader answers with a RunFileError naming the file and the object, never a crash or an
// allocation of what the file claims; `normout info` exits with 1 and says the same.
#include <hdf5.h>

#include <QProcess>
#include <QTemporaryDir>
#include <QtTest/QtTest>
#include <cmath>
#include <filesystem>
#include <functional>
#include <stdexcept>

#include "engine/config/config.h"
#include "engine/runfile/hdf5_handle.h"
#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "support/run_header.h"

using namespace normout;

namespace {

namespace fs = std::filesystem;

constexpr hsize_t kHuge = hsize_t{1} << 40;
constexpr int kUnits = 4, kBins = 4;

// ---------------------------------------------------------------- the valid run

RunHeader sample_header() {
    RunHeader h = test::sample_run_header();
    h.name = "hostile";
    h.preset = "quick";
    h.config_json = config_to_json(RunConfig{});
    h.layer_kinds = {"Conv2d", "ReLU", "Linear", "NormOut"};
    h.layer_descriptions = {"Conv2d(3, 4)", "ReLU", "Linear(4, 4)", "NormOut(temporal-softmax, T=100)"};
    InstrumentedLayer l;
    l.index = 3;
    l.kind = "NormOut";
    l.description = "NormOut(temporal-softmax, T=100)";
    l.units = kUnits;
    l.keep = true;
    l.neurons = {0, 2};
    h.instrumented = {l};
    h.histogram_bins = kBins;
    return h;
}

// A finished run with steps, epochs, layer statistics, weights and analysis results.
void write_valid_run(const std::string& path) {
    {
        RunWriter w(path, sample_header());
        std::vector<StepRecord> steps;
        std::vector<LayerStepStats> layer_steps;
        for (int k = 1; k <= 20; ++k) {
            steps.push_back({k, 1 + (k - 1) / 10, 2.0 / k, 0.01 * k, 0.01, 0.5 * k});
            LayerStepStats s;
            s.global_step = k;
            s.layer = 3;
            s.has_keep = true;
            s.output.mean = s.output_ewma.mean = 0.1 * k;
            s.keep.mean_p = s.keep_ewma.mean_p = 0.5;
            layer_steps.push_back(s);
        }
        w.append_steps(steps);
        w.append_layer_steps(layer_steps);
        for (int e = 1; e <= 2; ++e) {
            EpochRecord r;
            r.epoch = e;
            r.train_loss = 1.0 / e;
            r.test_accuracy = 0.4 * e;
            w.append_epochs({r});
            LayerEpochSnapshot s;
            s.epoch = e;
            s.layer = 3;
            s.neuron_mean = s.neuron_std = s.neuron_rate = std::vector<float>(kUnits, 0.5f);
            s.hist_edges = {0, 1, 2, 3, 4};
            s.hist_counts = {1, 2, 3, 4};
            s.keep_hist = std::vector<double>(kKeepHistogramBins, 1);
            s.neuron_hists = {std::vector<double>(kBins + 2, 1), std::vector<double>(kBins + 2, 2)};
            w.append_layer_epochs({s});
        }
        NamedArray weight{"layers.0.weight", {2, 3}, {1, 2, 3, 4, 5, 6}, {}, false};
        NamedArray count{"layers.1.num_batches_tracked", {}, {}, {42}, true};
        w.write_weights({weight, count}, 20);
        w.set_status(RunStatus::Finished, "done", 20);
        w.sync();
    }
    // Analysis inside the run file, where older versions kept it (the readers still read it there;
    // new results go to the sidecar RUN.analysis.hdf5).
    AnalysisRow row;
    row.numbers["accuracy"] = 0.5;
    row.texts["attack"] = "fgsm";
    AnalysisBatch a;
    a.tables["attacks"] = {row};
    a.arrays["grid"] = {{2, 2}, {1, 2, 3, 4}, {{"axis0", "x"}}};
    write_analysis_in_place(path, a);
}

// ---------------------------------------------------------------- crafting copies

struct Fail : std::runtime_error {
    using std::runtime_error::runtime_error;
};

void need(bool ok, const std::string& what) {
    if (!ok) throw Fail("crafting the copy: " + what);
}

H5Handle own(hid_t id, H5Handle::Closer closer, const std::string& what) {
    need(id >= 0, what);
    return H5Handle(id, closer);
}

H5Handle scalar_space() {
    return own(H5Screate(H5S_SCALAR), H5Sclose, "scalar space");
}

H5Handle simple_space(const std::vector<hsize_t>& dims, const std::vector<hsize_t>& maxdims = {}) {
    return own(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.empty() ? nullptr : maxdims.data()),
               H5Sclose, "dataspace");
}

H5Handle vlen_string() {
    H5Handle t = own(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    need(H5Tset_size(t.get(), H5T_VARIABLE) >= 0, "string type");
    need(H5Tset_cset(t.get(), H5T_CSET_UTF8) >= 0, "string type");
    return t;
}

H5Handle fixed_string(std::size_t size) {
    H5Handle t = own(H5Tcopy(H5T_C_S1), H5Tclose, "string type");
    need(H5Tset_size(t.get(), size) >= 0, "string type");
    need(H5Tset_strpad(t.get(), H5T_STR_NULLPAD) >= 0, "string type");
    return t;
}

// Writes an attribute of the given kind (see the mutations in the rows below).
void make_attribute(hid_t obj, const std::string& name, const std::string& kind) {
    auto attr = [&](hid_t type, hid_t space) {
        return own(H5Acreate2(obj, name.c_str(), type, space, H5P_DEFAULT, H5P_DEFAULT), H5Aclose,
                   "creating attribute " + name);
    };
    if (kind == "string" || kind == "long-string") {
        const std::string v = kind == "string" ? "1" : std::string(name == "config" ? 17u << 20 : 2u << 20, 'x');
        H5Handle t = vlen_string(), s = scalar_space(), a = attr(t.get(), s.get());
        const char* p = v.c_str();
        need(H5Awrite(a.get(), t.get(), &p) >= 0, "writing " + name);
    } else if (kind == "strings[2]" || kind == "strings[2x2]") {
        const std::vector<hsize_t> dims = kind == "strings[2]" ? std::vector<hsize_t>{2} : std::vector<hsize_t>{2, 2};
        const char* p[4] = {"a", "b", "c", "d"};
        H5Handle t = vlen_string(), s = simple_space(dims), a = attr(t.get(), s.get());
        need(H5Awrite(a.get(), t.get(), p) >= 0, "writing " + name);
    } else if (kind == "int") {
        const long long v = 1;
        H5Handle s = scalar_space(), a = attr(H5T_STD_I64LE, s.get());
        need(H5Awrite(a.get(), H5T_NATIVE_LLONG, &v) >= 0, "writing " + name);
    } else if (kind == "float") {
        const double v = 0.5;
        H5Handle s = scalar_space(), a = attr(H5T_IEEE_F64LE, s.get());
        need(H5Awrite(a.get(), H5T_NATIVE_DOUBLE, &v) >= 0, "writing " + name);
    } else if (kind == "ints[4000]" || kind == "ints[2x2]") {
        const std::vector<hsize_t> dims =
            kind == "ints[4000]" ? std::vector<hsize_t>{4000} : std::vector<hsize_t>{2, 2};
        const std::vector<long long> v(4000, 1);
        H5Handle s = simple_space(dims), a = attr(H5T_STD_I64LE, s.get());
        need(H5Awrite(a.get(), H5T_NATIVE_LLONG, v.data()) >= 0, "writing " + name);
    } else if (kind == "null") {
        H5Handle s = own(H5Screate(H5S_NULL), H5Sclose, "null space");
        attr(H5T_STD_I64LE, s.get());
    } else {
        throw Fail("unknown attribute mutation " + kind);
    }
}

// The type and shape of a dataset before it is replaced.
struct Original {
    H5Handle type;
    std::vector<hsize_t> dims;
};

Original original(hid_t parent, const std::string& name) {
    Original o;
    if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) <= 0) return o;
    H5Handle obj(H5Oopen(parent, name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!obj || H5Iget_type(obj.get()) != H5I_DATASET) return o;
    o.type = own(H5Dget_type(obj.get()), H5Tclose, "type of " + name);
    H5Handle s = own(H5Dget_space(obj.get()), H5Sclose, "space of " + name);
    const int rank = H5Sget_simple_extent_ndims(s.get());
    o.dims.assign(static_cast<std::size_t>(std::max(rank, 0)), 0);
    if (rank > 0) H5Sget_simple_extent_dims(s.get(), o.dims.data(), nullptr);
    return o;
}

// Writes a dataset (or, for "group", a group) of the given kind under the name of `orig`.
void make_dataset(hid_t parent, const std::string& name, const std::string& kind, const Original& orig) {
    auto create = [&](hid_t type, hid_t space, hid_t dcpl = H5P_DEFAULT) {
        return own(H5Dcreate2(parent, name.c_str(), type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT), H5Dclose,
                   "creating dataset " + name);
    };
    auto write = [&](const H5Handle& d, hid_t type, const void* data) {
        need(H5Dwrite(d.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0, "writing " + name);
    };
    if (kind == "group") {
        own(H5Gcreate2(parent, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), H5Gclose, "group " + name);
    } else if (kind == "int" || kind == "dataset") {
        const long long v = 1;
        H5Handle s = scalar_space(), d = create(H5T_STD_I64LE, s.get());
        write(d, H5T_NATIVE_LLONG, &v);
    } else if (kind == "float") {
        const double v = 0.5;
        H5Handle s = scalar_space(), d = create(H5T_IEEE_F64LE, s.get());
        write(d, H5T_NATIVE_DOUBLE, &v);
    } else if (kind == "ints[5]") {
        const long long v[5] = {1, 2, 3, 4, 5};
        H5Handle s = simple_space({5}), d = create(H5T_STD_I64LE, s.get());
        write(d, H5T_NATIVE_LLONG, v);
    } else if (kind == "floats[2x2]") {
        const double v[4] = {1, 2, 3, 4};
        H5Handle s = simple_space({2, 2}), d = create(H5T_IEEE_F64LE, s.get());
        write(d, H5T_NATIVE_DOUBLE, v);
    } else if (kind == "string" || kind == "huge-string") {
        const std::size_t size = kind == "string" ? 32 : 100000;
        const std::string v(size, 'x');
        H5Handle t = fixed_string(size), s = scalar_space(), d = create(t.get(), s.get());
        write(d, t.get(), v.data());
    } else if (kind == "strings[4000]") {
        const std::string v(4000 * 32, 'x');
        H5Handle t = fixed_string(32), s = simple_space({4000}), d = create(t.get(), s.get());
        write(d, t.get(), v.data());
    } else if (kind == "vlen-string") {
        const char* p = "finished";
        H5Handle t = vlen_string(), s = scalar_space(), d = create(t.get(), s.get());
        write(d, t.get(), &p);
    } else if (kind == "null") {
        H5Handle s = own(H5Screate(H5S_NULL), H5Sclose, "null space");
        create(H5T_IEEE_F64LE, s.get());
    } else if (kind == "wrong-rows") {  // one more column than the reader expects
        need(orig.type && !orig.dims.empty(), name + " has no rows to get wrong");
        std::vector<hsize_t> dims = orig.dims;
        ++dims.back();
        hsize_t n = 1;
        for (hsize_t d : dims)
            n *= d;
        const std::vector<double> v(n, 1);
        H5Handle s = simple_space(dims), d = create(orig.type.get(), s.get());
        write(d, H5T_NATIVE_DOUBLE, v.data());
    } else if (kind == "huge" || kind == "huge-compressed" || kind == "huge-contiguous") {
        // The original type and row shape, 2^40 rows, no data written.
        const hid_t type = orig.type ? orig.type.get() : H5T_IEEE_F64LE;
        std::vector<hsize_t> dims = orig.dims.empty() ? std::vector<hsize_t>{1} : orig.dims;
        dims[0] = kHuge;
        std::vector<hsize_t> maxdims = dims, chunk = dims;
        H5Handle dcpl = own(H5Pcreate(H5P_DATASET_CREATE), H5Pclose, "creation properties");
        if (kind == "huge-contiguous") {
            need(H5Pset_layout(dcpl.get(), H5D_CONTIGUOUS) >= 0, "layout");
            need(H5Pset_alloc_time(dcpl.get(), H5D_ALLOC_TIME_LATE) >= 0, "allocation time");
        } else {
            maxdims[0] = H5S_UNLIMITED;
            chunk[0] = 1024;
            need(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0, "chunking");
            if (kind == "huge-compressed") need(H5Pset_deflate(dcpl.get(), 6) >= 0, "deflate");
        }
        H5Handle s = simple_space(dims, maxdims);
        create(type, s.get(), dcpl.get());
    } else {
        throw Fail("unknown dataset mutation " + kind);
    }
}

// Rewrites one object of a copy: "PARENT@NAME" is an attribute, anything else a dataset or group.
void mutate(const std::string& path, const std::string& object, const std::string& kind) {
    H5Handle fapl = own(H5Pcreate(H5P_FILE_ACCESS), H5Pclose, "file access");
    need(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0, "file format");
    H5Handle file = own(H5Fopen(path.c_str(), H5F_ACC_RDWR, fapl.get()), H5Fclose, "opening " + path);
    const auto at = object.find('@');
    const bool is_attribute = at != std::string::npos;
    const std::string target = is_attribute ? object.substr(0, at) : object;
    const std::string name = is_attribute ? object.substr(at + 1) : target.substr(target.rfind('/') + 1);
    std::string parent_path = is_attribute ? target : target.substr(0, target.rfind('/'));
    if (parent_path.empty()) parent_path = "/";
    H5Handle parent = own(H5Oopen(file.get(), parent_path.c_str(), H5P_DEFAULT), H5Oclose, "opening " + parent_path);
    if (is_attribute) {
        if (H5Aexists(parent.get(), name.c_str()) > 0)
            need(H5Adelete(parent.get(), name.c_str()) >= 0, "deleting attribute " + object);
        if (kind != "missing") make_attribute(parent.get(), name, kind);
    } else {
        const Original orig = original(parent.get(), name);
        if (H5Lexists(parent.get(), name.c_str(), H5P_DEFAULT) > 0)
            need(H5Ldelete(parent.get(), name.c_str(), H5P_DEFAULT) >= 0, "deleting " + object);
        if (kind != "missing") make_dataset(parent.get(), name, kind, orig);
    }
    need(H5Fflush(file.get(), H5F_SCOPE_GLOBAL) >= 0, "flushing " + path);
}

// ---------------------------------------------------------------- the rows

enum class Reader { Run, Instrumentation, Weights, Analysis };

void read_with(Reader reader, const std::string& path) {
    switch (reader) {
        case Reader::Run:
            read_run(path);
            break;
        case Reader::Instrumentation:
            read_instrumentation(path, true);
            break;
        case Reader::Weights:
            read_weights(path);
            break;
        case Reader::Analysis:
            read_analysis(path);
            break;
    }
}

enum class Kind {
    StringAttr,      // a scalar string attribute
    IntAttr,         // a scalar integer attribute
    StringListAttr,  // a list of strings
    FloatListAttr,   // a list of numbers
    IntListAttr,     // a list of integers
    FixedString,     // a scalar fixed-length string dataset
    IntScalar,       // a scalar integer dataset
    Series,          // a 1-D series of numbers
    NumberColumn,    // a number column of an analysis table (optional: missing is fine)
    TextColumn,      // a text column of an analysis table
    Table,           // a table with rows of a known shape
    Weight,          // an array of the model state
    Array,           // an analysis array
    ArrayAttr,       // a string attribute of an analysis array (optional)
    Group,           // a group the reader needs
    OptionalGroup,   // a group the reader reads when present
};

// Mutations that must make each kind of object fail.
QStringList mutations(Kind kind) {
    switch (kind) {
        case Kind::StringAttr:
            return {"missing", "int", "float", "strings[2]", "strings[2x2]", "null", "long-string"};
        case Kind::IntAttr:
            return {"missing", "string", "float", "strings[2]", "ints[4000]", "ints[2x2]", "null"};
        case Kind::StringListAttr:
            return {"missing", "int", "ints[4000]", "strings[2x2]", "null", "long-string"};
        case Kind::FloatListAttr:
            return {"missing", "string", "strings[2]", "ints[2x2]", "null"};
        case Kind::IntListAttr:
            return {"missing", "string", "float", "strings[2]", "ints[2x2]", "null"};
        case Kind::FixedString:
            return {"missing", "group", "int", "vlen-string", "strings[4000]", "huge-string", "huge"};
        case Kind::IntScalar:
            return {"missing", "group", "string", "float", "ints[5]", "huge"};
        case Kind::Series:
            return {"missing", "group", "string",          "vlen-string",    "floats[2x2]",
                    "null",    "huge",  "huge-compressed", "huge-contiguous"};
        case Kind::NumberColumn:
            return {"group", "floats[2x2]", "null", "huge", "huge-compressed", "huge-contiguous"};
        case Kind::TextColumn:
            return {"group", "int", "vlen-string", "huge-string", "huge", "huge-compressed"};
        case Kind::Table:
            return {"missing", "group", "string", "ints[5]", "wrong-rows", "null", "huge", "huge-compressed"};
        case Kind::Weight:
        case Kind::Array:
            return {"group", "string", "vlen-string", "null", "huge", "huge-compressed", "huge-contiguous"};
        case Kind::ArrayAttr:
            return {"int", "strings[2]", "long-string"};
        case Kind::Group:
            return {"missing", "dataset"};
        case Kind::OptionalGroup:
            return {"dataset"};
    }
    return {};
}

struct Object {
    std::string path;
    Kind kind;
    Reader reader;
};

std::vector<Object> objects() {
    std::vector<Object> out;
    auto add = [&](const std::string& path, Kind kind, Reader reader) { out.push_back({path, kind, reader}); };
    const Reader run = Reader::Run, inst = Reader::Instrumentation;
    for (const char* a : {"format", "run_id", "name", "preset", "config", "code_version", "created_utc",
                          "torch_version", "hdf5_version", "device", "host"})
        add(std::string("/@") + a, Kind::StringAttr, run);
    for (const char* a :
         {"schema_version", "start_unix_ms", "pid", "segment", "resumed_from_step", "resumed_epoch_rows"})
        add(std::string("/@") + a, Kind::IntAttr, run);
    for (const char* d : {"/status", "/status_message", "/finished_utc"})
        add(d, Kind::FixedString, run);
    for (const char* d : {"/status_step", "/heartbeat_unix_ms", "/weights_step"})
        add(d, Kind::IntScalar, run);
    for (const char* a : {"dataset", "source"})
        add(std::string("/data@") + a, Kind::StringAttr, run);
    add("/data@class_names", Kind::StringListAttr, run);
    for (const char* a : {"mean", "std"})
        add(std::string("/data@") + a, Kind::FloatListAttr, run);
    for (const char* a : {"train_count", "val_count", "test_count", "channels", "height", "width"})
        add(std::string("/data@") + a, Kind::IntAttr, run);
    for (const char* a : {"layer_kinds", "layer_descriptions"})
        add(std::string("/model@") + a, Kind::StringListAttr, run);
    add("/model@parameter_count", Kind::IntAttr, run);
    for (const char* d :
         {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
          "learning_rate", "epoch_seconds", "wall_seconds", "images_per_second", "generalisation_gap"})
        add(std::string("/metrics/epoch/") + d, Kind::Series, run);
    for (const char* d : {"global_step", "epoch", "loss", "accuracy", "learning_rate", "wall_seconds"})
        add(std::string("/metrics/step/") + d, Kind::Series, run);
    for (const char* g : {"/data", "/model", "/metrics", "/metrics/epoch", "/metrics/step", "/weights"})
        add(g, Kind::Group, run);

    // Instrumentation: the settings and layers are read with every run, the rows on request.
    for (const char* a : {"every", "histogram_bins"})
        add(std::string("/instrument@") + a, Kind::IntAttr, run);
    add("/instrument@ewma_alpha", Kind::FloatListAttr, run);
    add("/instrument@layers", Kind::IntListAttr, run);
    add("/instrument", Kind::OptionalGroup, run);
    const std::string layer = "/instrument/layer_3";
    add(layer, Kind::Group, run);
    for (const char* a : {"kind", "description"})
        add(layer + "@" + a, Kind::StringAttr, run);
    for (const char* a : {"units", "keep"})
        add(layer + "@" + a, Kind::IntAttr, run);
    add(layer + "@neurons", Kind::IntListAttr, run);
    add(layer + "/steps", Kind::Group, inst);
    add(layer + "/epochs", Kind::Group, inst);
    add(layer + "/steps/global_step", Kind::Series, inst);
    for (const char* side : {"input", "output"})
        for (const char* stat : {"mean", "max", "std", "var", "sparsity"})
            for (const char* suffix : {"", "_ewma"})
                add(layer + "/steps/" + side + "_" + stat + suffix, Kind::Series, inst);
    for (const char* stat : {"mean_p", "expected_drop", "realised_drop", "frac_p_low", "frac_p_high"})
        for (const char* suffix : {"", "_ewma"})
            add(layer + "/steps/keep_" + stat + suffix, Kind::Series, inst);
    for (const char* d : {"epoch", "hist_zero", "hist_under", "hist_over"})
        add(layer + "/epochs/" + d, Kind::Series, inst);
    for (const char* d :
         {"neuron_mean", "neuron_std", "neuron_rate", "hist_edges", "hist_counts", "keep_hist", "neuron_hists"})
        add(layer + "/epochs/" + d, Kind::Table, inst);

    for (const char* w : {"/weights/layers.0.weight", "/weights/layers.1.num_batches_tracked"})
        add(w, Kind::Weight, Reader::Weights);

    add("/analysis", Kind::OptionalGroup, Reader::Analysis);
    add("/analysis/attacks", Kind::OptionalGroup, Reader::Analysis);
    add("/analysis/arrays", Kind::OptionalGroup, Reader::Analysis);
    add("/analysis/attacks/accuracy", Kind::NumberColumn, Reader::Analysis);
    add("/analysis/attacks/attack", Kind::TextColumn, Reader::Analysis);
    add("/analysis/arrays/grid", Kind::Array, Reader::Analysis);
    add("/analysis/arrays/grid@axis0", Kind::ArrayAttr, Reader::Analysis);
    return out;
}

// How the message names an object: "attribute 'channels' of /data", or the path of a dataset or group.
QString label(const QString& object) {
    const int at = object.indexOf('@');
    if (at < 0) return object;
    return "attribute '" + object.mid(at + 1) + "' of " + object.left(at);
}

// What else the message says about a mutation.
QString detail(const QString& mutation, Kind kind) {
    if (mutation == "missing") return "missing";
    if (mutation.contains("[4000]")) return "4000";
    if (mutation == "long-string") return "more than the limit";
    if (mutation == "huge-string") return kind == Kind::FixedString ? "more than the limit" : "expected";
    if (mutation.startsWith("huge") && mutation != "huge-string") {
        // Where the shape is right, the size is what gives it away.
        const bool shaped = kind == Kind::Series || kind == Kind::NumberColumn || kind == Kind::TextColumn ||
                            kind == Kind::Table || kind == Kind::Weight || kind == Kind::Array;
        return shaped ? "more than the file" : QString::number(static_cast<qulonglong>(kHuge));
    }
    return "expected";
}

// The RunFileError message of a read, or a failure.
QString error_of(const std::function<void()>& read) {
    try {
        read();
    } catch (const RunFileError& e) {
        return QString::fromUtf8(e.what());
    } catch (const std::exception& e) {
        return "NOT A RunFileError: " + QString::fromUtf8(e.what());
    }
    return {};
}

// Element `index` of the 1-D float64 dataset `name` set to `value` (a copy of the valid run).
void set_element(const std::string& path, const std::string& name, hsize_t index, double value) {
    H5Handle f = own(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose, "opening " + path);
    H5Handle d = own(H5Dopen2(f.get(), name.c_str(), H5P_DEFAULT), H5Dclose, "opening " + name);
    H5Handle fs = own(H5Dget_space(d.get()), H5Sclose, "space of " + name);
    const hsize_t one = 1;
    need(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &index, nullptr, &one, nullptr) >= 0, "selecting");
    H5Handle ms = simple_space({1});
    need(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, ms.get(), fs.get(), H5P_DEFAULT, &value) >= 0, "writing " + name);
}

struct CliResult {
    int code = -1;
    bool crashed = false;
    QString err;
};

QString cli_program() {
    const QString env = qEnvironmentVariable("NORMOUT_CLI");
    if (!env.isEmpty()) return env;
    return QCoreApplication::applicationDirPath() + "/../app/normout";
}

CliResult run_cli(const QStringList& args, const QString& home) {
    QProcess p;
    QProcessEnvironment e = QProcessEnvironment::systemEnvironment();
    e.insert("HOME", home);  // no user settings or data directory
    e.insert("XDG_DATA_HOME", home + "/share");
    e.remove("NORMOUT_DATA");
    p.setProcessEnvironment(e);
    p.start(cli_program(), args);
    CliResult r;
    if (!p.waitForFinished(120000)) {
        p.kill();
        p.waitForFinished();
        r.crashed = true;
        return r;
    }
    r.crashed = p.exitStatus() != QProcess::NormalExit;
    r.code = p.exitCode();
    r.err = QString::fromUtf8(p.readAllStandardError());
    return r;
}

}  // namespace

class TestRunFileHostile : public QObject {
    Q_OBJECT

    QTemporaryDir dir_;
    std::string valid_;

    // A crafted copy of the valid run (named after the row, so that messages can be told apart).
    std::string crafted(const QString& object, const QString& mutation) {
        const std::string path = dir_.path().toStdString() + "/crafted.h5";
        fs::remove(path);
        fs::copy_file(valid_, path);
        mutate(path, object.toStdString(), mutation.toStdString());
        return path;
    }

  private Q_SLOTS:
    void initTestCase() {
        silence_hdf5_errors();
        QVERIFY(dir_.isValid());
        valid_ = dir_.path().toStdString() + "/valid.h5";
        write_valid_run(valid_);
    }

    // The untouched run reads in full: every row below fails because of its one change.
    void validRunReads() {
        const RunInfo info = read_run(valid_);
        QCOMPARE(QString::fromStdString(info.status), QString("finished"));
        QCOMPARE(info.epochs.size(), std::size_t(2));
        QCOMPARE(info.steps.size(), std::size_t(20));
        QCOMPARE(info.header.class_names.size(), std::size_t(2));
        QCOMPARE(info.weights_step, int64_t(20));
        const InstrumentData d = read_instrumentation(valid_, true);
        QCOMPARE(d.layers.size(), std::size_t(1));
        QCOMPARE(d.layers[0].neurons, (std::vector<int>{0, 2}));
        QCOMPARE(d.steps.at(3).size(), std::size_t(20));
        QCOMPARE(d.epochs.at(3).size(), std::size_t(2));
        QCOMPARE(d.epochs.at(3)[1].neuron_hists.size(), std::size_t(2));
        QCOMPARE(d.epochs.at(3)[1].keep_hist.size(), std::size_t(kKeepHistogramBins));
        const auto weights = read_weights(valid_);
        QCOMPARE(weights.size(), std::size_t(2));
        const AnalysisData a = read_analysis(valid_);
        QCOMPARE(a.tables.at("attacks").rows.size(), std::size_t(1));
        QCOMPARE(QString::fromStdString(a.tables.at("attacks").rows[0].texts.at("attack")), QString("fgsm"));
        QCOMPARE(a.arrays.at("grid").values.size(), std::size_t(4));
        QCOMPARE(QString::fromStdString(a.arrays.at("grid").attributes.at("axis0")), QString("x"));
        // A copy with one object rewritten to a valid value reads (the crafting itself breaks nothing).
        const std::string same = crafted("/status_step", "int");
        QCOMPARE(read_run(same).status_step, int64_t(1));
    }

    // Rows a writer extended but never filled (a full disk, a kill) hold the fill value NaN in
    // their index column: the rows before them read, the rest are left out. A stored index that
    // is finite but not a whole number in range is damage, refused with the dataset's name.
    void unwrittenRowsAreLeftOutDamagedIndicesRefused() {
        std::string path = dir_.path().toStdString() + "/unwritten.h5";
        fs::remove(path);
        fs::copy_file(valid_, path);
        set_element(path, "/metrics/step/global_step", 15, NAN);
        set_element(path, "/metrics/epoch/epoch", 1, NAN);
        set_element(path, "/instrument/layer_3/steps/global_step", 12, NAN);
        set_element(path, "/instrument/layer_3/epochs/epoch", 1, NAN);
        const RunInfo info = read_run(path);
        QCOMPARE(info.steps.size(), std::size_t(15));
        QCOMPARE(info.steps.back().global_step, int64_t(15));
        QCOMPARE(info.epochs.size(), std::size_t(1));
        const InstrumentData d = read_instrumentation(path, true);
        QCOMPARE(d.steps.at(3).size(), std::size_t(12));
        QCOMPARE(d.epochs.at(3).size(), std::size_t(1));
        for (const auto& [name, value] :
             std::vector<std::pair<std::string, double>>{{"/metrics/step/global_step", 1e248},
                                                         {"/metrics/step/epoch", -1},
                                                         {"/metrics/epoch/epoch", 2.5},
                                                         {"/instrument/layer_3/steps/global_step", INFINITY}}) {
            fs::remove(path);
            fs::copy_file(valid_, path);
            set_element(path, name, name == "/metrics/epoch/epoch" ? 1 : 3, value);  // 2 epochs, 20 steps
            const QString error = error_of([&] {
                read_run(path);
                read_instrumentation(path, true);
            });
            QVERIFY2(error.contains(QString::fromStdString(name.substr(name.find('/', 1)))) &&
                         error.contains("not a whole number"),
                     qPrintable(QString::fromStdString(name) + ": " + error));
        }
    }

    void lyingObjectIsNamed_data() {
        QTest::addColumn<QString>("object");
        QTest::addColumn<QString>("mutation");
        QTest::addColumn<int>("reader");
        QTest::addColumn<QString>("detail");
        for (const Object& o : objects())
            for (const QString& m : mutations(o.kind))
                QTest::addRow("%s %s", o.path.c_str(), qPrintable(m))
                    << QString::fromStdString(o.path) << m << static_cast<int>(o.reader) << detail(m, o.kind);
    }

    void lyingObjectIsNamed() {
        QFETCH(QString, object);
        QFETCH(QString, mutation);
        QFETCH(int, reader);
        QFETCH(QString, detail);
        std::string path;
        try {
            path = crafted(object, mutation);
        } catch (const Fail& e) {
            QFAIL(e.what());
        }
        const QString msg = error_of([&] { read_with(static_cast<Reader>(reader), path); });
        if (qEnvironmentVariableIsSet("HOSTILE_PRINT")) qInfo("%s", qPrintable(msg));  // to review the messages
        QVERIFY2(!msg.isEmpty(), "the lying file was read without an error");
        QVERIFY2(!msg.startsWith("NOT A RunFileError"), qPrintable(msg));
        QVERIFY2(msg.startsWith(QString::fromStdString(path) + ": "), qPrintable("no file name in: " + msg));
        QVERIFY2(msg.contains(label(object)), qPrintable(label(object) + " not in: " + msg));
        QVERIFY2(msg.contains(detail), qPrintable(detail + " not in: " + msg));
        // What read_run reads, the other public readers read first: they fail the same way.
        if (static_cast<Reader>(reader) == Reader::Run)
            for (Reader other : {Reader::Instrumentation, Reader::Weights, Reader::Analysis}) {
                const QString again = error_of([&] { read_with(other, path); });
                QVERIFY2(again.contains(label(object)), qPrintable(label(object) + " not in: " + again));
            }
    }

    // Extra series (penalties, robust accuracy, schedules) are named by an attribute of their group:
    // they read back by name, and an attribute that names a path outside the group, or a series
    // that is not there, is refused naming the group; files without the attribute have none.
    void extraSeriesAreNamedAndChecked() {
        const std::string path = dir_.path().toStdString() + "/extras.h5";
        fs::remove(path);
        {
            RunHeader h = sample_header();
            h.step_extra = {"robust_accuracy"};
            h.epoch_extra = {"robust_accuracy", "layer3_active"};
            RunWriter w(path, h);
            StepRecord s{1, 1, 2.0, 0.5, 0.01, 0.5};
            s.extra = {0.25};
            w.append_steps({s});
            EpochRecord e;
            e.epoch = 1;
            e.extra = {0.25, 1.0};
            w.append_epochs({e});
            w.set_status(RunStatus::Finished, "done", 1);
            w.sync();
        }
        const RunInfo info = read_run(path);
        QCOMPARE(info.header.epoch_extra, (std::vector<std::string>{"robust_accuracy", "layer3_active"}));
        QCOMPARE(info.steps.at(0).extra, (std::vector<double>{0.25}));
        QCOMPARE(info.epochs.at(0).extra, (std::vector<double>{0.25, 1.0}));
        QVERIFY(read_run(valid_).header.step_extra.empty());  // written without extras
        for (const std::string& name : {std::string("../weights"), std::string("missing_series")}) {
            const std::string bad = dir_.path().toStdString() + "/extras-bad.h5";
            fs::remove(bad);
            fs::copy_file(path, bad);
            {
                H5Handle f(H5Fopen(bad.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
                QVERIFY(f.get() >= 0);
                H5Handle g = h5::open_group(f.get(), "metrics/epoch");
                h5::write_strings_attribute(g.get(), "extra_series", {"robust_accuracy", name});
            }
            const QString error = error_of([&] { read_run(bad); });
            QVERIFY2(error.startsWith(QString::fromStdString(bad)) && error.contains("/metrics/epoch"),
                     qPrintable(error));
        }
    }

    // A string of exactly the limit reads; one byte more does not.
    void stringLimitsAreExact() {
        for (const std::size_t size : {h5::kMaxStringBytes, h5::kMaxStringBytes + 1}) {
            const std::string path = crafted("/status_step", "int");  // a valid copy
            {
                H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
                QVERIFY(f);
                h5::write_string_attribute(f.get(), "name", std::string(size, 'n'));
            }
            const QString msg = error_of([&] { read_run(path); });
            if (size == h5::kMaxStringBytes) {
                QVERIFY2(msg.isEmpty(), qPrintable(msg));
                QCOMPARE(read_run(path).header.name.size(), size);
            } else {
                QVERIFY2(msg.contains("attribute 'name' of /") && msg.contains("more than the limit"), qPrintable(msg));
            }
        }
    }

    // A single value may be stored as a 1-D array of one element (h5py writes lists so).
    void oneElementArraysAreSingleValues() {
        const std::string path = crafted("/status_step", "int");
        {
            H5Handle f(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), H5Fclose);
            QVERIFY(f);
            QVERIFY(H5Adelete(f.get(), "schema_version") >= 0);
            const hsize_t one = 1;
            H5Handle s(H5Screate_simple(1, &one, nullptr), H5Sclose);
            H5Handle a(H5Acreate2(f.get(), "schema_version", H5T_STD_I32LE, s.get(), H5P_DEFAULT, H5P_DEFAULT),
                       H5Aclose);
            const int v = kRunSchemaVersion;
            QVERIFY(H5Awrite(a.get(), H5T_NATIVE_INT, &v) >= 0);
        }
        QCOMPARE(read_run(path).schema_version, kRunSchemaVersion);
    }

    void cliNamesTheObject_data() {
        QTest::addColumn<QString>("object");
        QTest::addColumn<QString>("mutation");
        QTest::addRow("format as a list") << "/@format"
                                          << "strings[2]";
        QTest::addRow("schema_version as a list") << "/@schema_version"
                                                  << "ints[4000]";
        QTest::addRow("status with 4000 elements") << "/status"
                                                   << "strings[4000]";
        QTest::addRow("weights_step with many elements") << "/weights_step"
                                                         << "ints[5]";
        QTest::addRow("series of 2^40") << "/metrics/step/loss"
                                        << "huge";
        QTest::addRow("class names as a matrix") << "/data@class_names"
                                                 << "strings[2x2]";
        QTest::addRow("missing group") << "/metrics/epoch"
                                       << "missing";
        QTest::addRow("analysis column of 2^40") << "/analysis/attacks/accuracy"
                                                 << "huge-compressed";
    }

    void cliNamesTheObject() {
        QFETCH(QString, object);
        QFETCH(QString, mutation);
        if (!QFile::exists(cli_program())) QSKIP("no normout binary (NORMOUT_CLI)");
        const CliResult ok = run_cli({"info", QString::fromStdString(valid_)}, dir_.path());
        QVERIFY2(!ok.crashed && ok.code == 0, qPrintable(ok.err));
        const std::string path = crafted(object, mutation);
        const CliResult r = run_cli({"info", QString::fromStdString(path)}, dir_.path());
        QVERIFY2(!r.crashed, qPrintable("normout crashed: " + r.err));
        QCOMPARE(r.code, 1);
        QVERIFY2(r.err.contains(QString::fromStdString(path)), qPrintable(r.err));
        QVERIFY2(r.err.contains(label(object)), qPrintable(label(object) + " not in: " + r.err));
    }
};

QTEST_GUILESS_MAIN(TestRunFileHostile)
#include "test_runfile_hostile.moc"
