#include "engine/run_file.h"

#include <chrono>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <random>

namespace normout {

namespace {

const char* kFormat = "normout-run";

// Series of /metrics/epoch, in EpochRecord order.
struct SeriesField {
    const char* name;
    double EpochRecord::*member;
};
const SeriesField kSeries[] = {
    {"train_loss", &EpochRecord::train_loss},         {"train_accuracy", &EpochRecord::train_accuracy},
    {"val_loss", &EpochRecord::val_loss},             {"val_accuracy", &EpochRecord::val_accuracy},
    {"test_loss", &EpochRecord::test_loss},           {"test_accuracy", &EpochRecord::test_accuracy},
    {"learning_rate", &EpochRecord::learning_rate},   {"epoch_seconds", &EpochRecord::epoch_seconds},
    {"wall_seconds", &EpochRecord::wall_seconds},     {"images_per_second", &EpochRecord::images_per_second},
};

std::string with_path(const std::string& path, const std::string& what) { return path + ": " + what; }

}  // namespace

std::string to_string(RunStatus s) {
    switch (s) {
        case RunStatus::Running: return "running";
        case RunStatus::Finished: return "finished";
        case RunStatus::Stopped: return "stopped";
        case RunStatus::Diverged: return "diverged";
        case RunStatus::Failed: return "failed";
    }
    return "unknown";
}

std::string utc_now_iso8601() {
    const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string new_run_id() {
    std::random_device rd;
    std::uniform_int_distribution<int> hex(0, 15);
    const char* digits = "0123456789abcdef";
    std::string id = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
    for (char& c : id) {
        if (c == 'x') c = digits[hex(rd)];
        else if (c == 'y') c = digits[8 + hex(rd) % 4];
    }
    return id;
}

RunWriter::RunWriter(const std::string& path, const RunHeader& h) : path_(path) {
    silence_hdf5_errors();
    try {
        // The newest file format: required for SWMR readers and efficient appends.
        H5Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS), "property list");
        h5::ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "file format");
        file_ = h5::file(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create the file");
        const hid_t f = file_.get();
        h5::write_string_attribute(f, "format", kFormat);
        h5::write_int_attribute(f, "schema_version", kRunSchemaVersion);
        h5::write_string_attribute(f, "run_id", h.run_id);
        h5::write_string_attribute(f, "name", h.name);
        h5::write_string_attribute(f, "preset", h.preset);
        h5::write_string_attribute(f, "config", h.config_json);
        h5::write_string_attribute(f, "code_version", h.code_version);
        h5::write_string_attribute(f, "created_utc", h.created_utc);
        h5::write_string_attribute(f, "torch_version", h.torch_version);
        h5::write_string_attribute(f, "hdf5_version", h.hdf5_version);
        h5::write_string_attribute(f, "device", h.device);
        h5::create_fixed_string(f, "status", 32, to_string(RunStatus::Running));
        h5::create_fixed_string(f, "status_message", 1024, "");
        h5::create_fixed_string(f, "finished_utc", 32, "");

        H5Handle data = h5::group(H5Gcreate2(f, "data", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /data");
        h5::write_string_attribute(data.get(), "dataset", h.dataset);
        h5::write_string_attribute(data.get(), "source", h.data_source);
        h5::write_strings_attribute(data.get(), "class_names", h.class_names);
        h5::write_floats_attribute(data.get(), "mean", h.mean);
        h5::write_floats_attribute(data.get(), "std", h.stddev);
        h5::write_int_attribute(data.get(), "train_count", h.train_count);
        h5::write_int_attribute(data.get(), "val_count", h.val_count);
        h5::write_int_attribute(data.get(), "test_count", h.test_count);
        h5::write_int_attribute(data.get(), "channels", h.channels);
        h5::write_int_attribute(data.get(), "height", h.height);
        h5::write_int_attribute(data.get(), "width", h.width);

        H5Handle model = h5::group(H5Gcreate2(f, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /model");
        h5::write_strings_attribute(model.get(), "layer_kinds", h.layer_kinds);
        h5::write_strings_attribute(model.get(), "layer_descriptions", h.layer_descriptions);
        h5::write_int_attribute(model.get(), "parameter_count", h.parameter_count);

        H5Handle lcpl = h5::plist(H5Pcreate(H5P_LINK_CREATE), "property list");
        h5::ok(H5Pset_create_intermediate_group(lcpl.get(), 1), "property list");
        H5Handle epoch = h5::group(H5Gcreate2(f, "metrics/epoch", lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                                   "creating /metrics/epoch");
        h5::create_series(epoch.get(), "epoch", 64);
        for (const auto& s : kSeries) h5::create_series(epoch.get(), s.name, 64);
        flush();
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path, e.what()));
    }
}

RunWriter::~RunWriter() = default;

void RunWriter::append_epoch(const EpochRecord& r) {
    try {
        H5Handle g = h5::group(H5Gopen2(file_.get(), "metrics/epoch", H5P_DEFAULT), "opening /metrics/epoch");
        h5::append_series(g.get(), "epoch", {static_cast<double>(r.epoch)});
        for (const auto& s : kSeries) h5::append_series(g.get(), s.name, {r.*(s.member)});
        flush();
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::write_weights(const std::vector<NamedArray>& state) {
    try {
        const hid_t f = file_.get();
        if (H5Lexists(f, "weights", H5P_DEFAULT) > 0) h5::ok(H5Ldelete(f, "weights", H5P_DEFAULT), "replacing /weights");
        H5Handle g = h5::group(H5Gcreate2(f, "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /weights");
        for (const auto& a : state) {
            std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
            H5Handle s = h5::space(dims.empty() ? H5Screate(H5S_SCALAR)
                                                : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                                   "dataspace");
            const hid_t file_type = a.is_integer ? H5T_STD_I64LE : H5T_IEEE_F32LE;
            H5Handle d = h5::dataset(H5Dcreate2(g.get(), a.name.c_str(), file_type, s.get(), H5P_DEFAULT,
                                                H5P_DEFAULT, H5P_DEFAULT),
                                     "creating weight " + a.name);
            if (a.is_integer)
                h5::ok(H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.integers.data()),
                       "writing weight " + a.name);
            else
                h5::ok(H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                       "writing weight " + a.name);
        }
        flush();
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::set_status(RunStatus status, const std::string& message) {
    try {
        h5::write_fixed_string(file_.get(), "status", to_string(status));
        h5::write_fixed_string(file_.get(), "status_message", message);
        if (status != RunStatus::Running) h5::write_fixed_string(file_.get(), "finished_utc", utc_now_iso8601());
        flush();
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::flush() {
    if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0) throw RunFileError(with_path(path_, "flush failed"));
}

RunInfo read_run(const std::string& path) {
    silence_hdf5_errors();
    if (!std::filesystem::exists(path)) throw RunFileError(path + ": file not found");
    if (H5Fis_hdf5(path.c_str()) <= 0)
        throw RunFileError(path + ": not an HDF5 file (or damaged beyond reading)");
    RunInfo info;
    info.path = path;
    try {
        H5Handle file = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the file");
        const hid_t f = file.get();
        if (!h5::has_attribute(f, "format") || h5::read_string_attribute(f, "format") != kFormat)
            throw RunFileError("an HDF5 file, but not a NormOut run file");
        info.schema_version = static_cast<int>(h5::read_int_attribute(f, "schema_version"));
        if (info.schema_version != kRunSchemaVersion)
            throw RunFileError("run file schema version " + std::to_string(info.schema_version) +
                               " is not supported (this build reads version " + std::to_string(kRunSchemaVersion) + ")");
        RunHeader& h = info.header;
        h.run_id = h5::read_string_attribute(f, "run_id");
        h.name = h5::read_string_attribute(f, "name");
        h.preset = h5::read_string_attribute(f, "preset");
        h.config_json = h5::read_string_attribute(f, "config");
        h.code_version = h5::read_string_attribute(f, "code_version");
        h.created_utc = h5::read_string_attribute(f, "created_utc");
        h.torch_version = h5::read_string_attribute(f, "torch_version");
        h.hdf5_version = h5::read_string_attribute(f, "hdf5_version");
        h.device = h5::read_string_attribute(f, "device");
        info.status = h5::read_fixed_string(f, "status");
        info.status_message = h5::read_fixed_string(f, "status_message");
        info.finished_utc = h5::read_fixed_string(f, "finished_utc");

        H5Handle data = h5::group(H5Gopen2(f, "data", H5P_DEFAULT), "missing group /data");
        h.dataset = h5::read_string_attribute(data.get(), "dataset");
        h.data_source = h5::read_string_attribute(data.get(), "source");
        h.class_names = h5::read_strings_attribute(data.get(), "class_names");
        h.mean = h5::read_floats_attribute(data.get(), "mean");
        h.stddev = h5::read_floats_attribute(data.get(), "std");
        h.train_count = h5::read_int_attribute(data.get(), "train_count");
        h.val_count = h5::read_int_attribute(data.get(), "val_count");
        h.test_count = h5::read_int_attribute(data.get(), "test_count");
        h.channels = static_cast<int>(h5::read_int_attribute(data.get(), "channels"));
        h.height = static_cast<int>(h5::read_int_attribute(data.get(), "height"));
        h.width = static_cast<int>(h5::read_int_attribute(data.get(), "width"));

        H5Handle model = h5::group(H5Gopen2(f, "model", H5P_DEFAULT), "missing group /model");
        h.layer_kinds = h5::read_strings_attribute(model.get(), "layer_kinds");
        h.layer_descriptions = h5::read_strings_attribute(model.get(), "layer_descriptions");
        h.parameter_count = h5::read_int_attribute(model.get(), "parameter_count");

        H5Handle epoch = h5::group(H5Gopen2(f, "metrics/epoch", H5P_DEFAULT), "missing group /metrics/epoch");
        const auto epochs = h5::read_series(epoch.get(), "epoch");
        info.epochs.resize(epochs.size());
        for (std::size_t i = 0; i < epochs.size(); ++i) info.epochs[i].epoch = static_cast<int>(epochs[i]);
        for (const auto& s : kSeries) {
            const auto v = h5::read_series(epoch.get(), s.name);
            // Rows are appended series by series: a reader may see a row in some series only.
            const std::size_t n = std::min(v.size(), info.epochs.size());
            info.epochs.resize(n);
            for (std::size_t i = 0; i < n; ++i) info.epochs[i].*(s.member) = v[i];
        }

        if (H5Lexists(f, "weights", H5P_DEFAULT) > 0) {
            H5Handle w = h5::group(H5Gopen2(f, "weights", H5P_DEFAULT), "opening /weights");
            H5G_info_t gi;
            h5::ok(H5Gget_info(w.get(), &gi), "listing /weights");
            for (hsize_t i = 0; i < gi.nlinks; ++i) {
                char name[512];
                if (H5Lget_name_by_idx(w.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) < 0)
                    throw RunFileError("cannot list /weights");
                info.weight_names.emplace_back(name);
            }
        }
    } catch (const RunFileError& e) {
        throw RunFileError(path + ": " + e.what());
    }
    return info;
}

std::vector<NamedArray> read_weights(const std::string& path) {
    const RunInfo info = read_run(path);
    if (info.weight_names.empty()) throw RunFileError(path + ": the run holds no weights (status " + info.status + ")");
    std::vector<NamedArray> out;
    try {
        H5Handle file = h5::file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the file");
        H5Handle w = h5::group(H5Gopen2(file.get(), "weights", H5P_DEFAULT), "opening /weights");
        for (const auto& name : info.weight_names) {
            H5Handle d = h5::dataset(H5Dopen2(w.get(), name.c_str(), H5P_DEFAULT), "opening weight " + name);
            H5Handle s = h5::space(H5Dget_space(d.get()), "weight space");
            H5Handle t = h5::type(H5Dget_type(d.get()), "weight type");
            const int rank = H5Sget_simple_extent_ndims(s.get());
            std::vector<hsize_t> dims(static_cast<std::size_t>(std::max(rank, 0)));
            if (rank > 0) H5Sget_simple_extent_dims(s.get(), dims.data(), nullptr);
            NamedArray a;
            a.name = name;
            std::size_t count = 1;
            for (hsize_t d0 : dims) {
                a.shape.push_back(static_cast<int64_t>(d0));
                count *= d0;
            }
            a.is_integer = H5Tget_class(t.get()) == H5T_INTEGER;
            if (a.is_integer) {
                a.integers.resize(count);
                h5::ok(H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.integers.data()),
                       "reading weight " + name);
            } else {
                a.values.resize(count);
                h5::ok(H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                       "reading weight " + name);
            }
            out.push_back(std::move(a));
        }
    } catch (const RunFileError& e) {
        throw RunFileError(path + ": " + e.what());
    }
    return out;
}

}  // namespace normout
