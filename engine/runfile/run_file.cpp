#include "engine/runfile/run_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <limits>
#include <random>
#include <regex>

#include "engine/runfile/run_file_instrument.h"
#include "engine/util/durable_file.h"

namespace normout {

namespace {

namespace fs = std::filesystem;

const char* kFormat = "normout-run";

struct EpochField {
    const char* name;
    double EpochRecord::*member;
};
const EpochField kEpochSeries[] = {
    {"train_loss", &EpochRecord::train_loss},
    {"train_accuracy", &EpochRecord::train_accuracy},
    {"val_loss", &EpochRecord::val_loss},
    {"val_accuracy", &EpochRecord::val_accuracy},
    {"test_loss", &EpochRecord::test_loss},
    {"test_accuracy", &EpochRecord::test_accuracy},
    {"learning_rate", &EpochRecord::learning_rate},
    {"epoch_seconds", &EpochRecord::epoch_seconds},
    {"wall_seconds", &EpochRecord::wall_seconds},
    {"images_per_second", &EpochRecord::images_per_second},
    {"generalisation_gap", &EpochRecord::generalisation_gap},
};
struct StepField {
    const char* name;
    double StepRecord::*member;
};
const StepField kStepSeries[] = {
    {"loss", &StepRecord::loss},
    {"accuracy", &StepRecord::accuracy},
    {"learning_rate", &StepRecord::learning_rate},
    {"wall_seconds", &StepRecord::wall_seconds},
};

std::string with_path(const std::string& path, const std::string& what) {
    return path + ": " + what;
}

H5Handle open_group(hid_t parent, const char* name) {
    return h5::open_group(parent, name);
}

constexpr long long kIntMin = std::numeric_limits<int>::min(), kIntMax = std::numeric_limits<int>::max();

// Extra series: their names in the group's attribute "extra_series" (absent in older files).
constexpr std::size_t kMaxExtraSeries = 256;

bool valid_series_name(const std::string& name) {
    if (name.empty() || name.size() > 64) return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
    return true;
}

void create_extra_series(hid_t group, const std::vector<std::string>& names, hsize_t chunk) {
    if (names.size() > kMaxExtraSeries) throw RunFileError("too many extra series");
    for (const auto& name : names) {
        if (!valid_series_name(name)) throw RunFileError("invalid series name '" + name + "'");
        h5::create_series(group, name, chunk);
    }
    h5::write_strings_attribute(group, "extra_series", names);
}

template <class Row>
void append_extra(hid_t group, const std::vector<std::string>& names, const std::vector<Row>& rows) {
    std::vector<double> v(rows.size());
    for (std::size_t c = 0; c < names.size(); ++c) {
        for (std::size_t i = 0; i < rows.size(); ++i)
            v[i] = c < rows[i].extra.size() ? rows[i].extra[c] : std::nan("");
        h5::append_series(group, names[c], v);
    }
}

// The extra series of a group as columns; names checked, since a file may be hostile.
std::vector<std::string> read_extra_names(hid_t group, const char* where) {
    if (!h5::has_attribute(group, "extra_series")) return {};
    std::vector<std::string> names = h5::read_strings_attribute(group, "extra_series");
    if (names.size() > kMaxExtraSeries)
        throw RunFileError(std::string(where) + ": attribute extra_series lists too many series");
    for (const auto& n : names)
        if (!valid_series_name(n))
            throw RunFileError(std::string(where) + ": attribute extra_series names an invalid series");
    return names;
}
constexpr long long kInt64Max = std::numeric_limits<long long>::max();

}  // namespace

std::string to_string(RunStatus s) {
    switch (s) {
        case RunStatus::Running:
            return "running";
        case RunStatus::Finished:
            return "finished";
        case RunStatus::Stopped:
            return "stopped";
        case RunStatus::Interrupted:
            return "interrupted";
        case RunStatus::Diverged:
            return "diverged";
        case RunStatus::Failed:
            return "failed";
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

int64_t unix_time_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

std::string host_name() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

std::string new_run_id() {
    std::random_device rd;
    const char* digits = "0123456789abcdef";
    std::string id = "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx";
    for (char& c : id) {
        if (c == 'x')
            c = digits[rd() % 16];
        else if (c == 'y')
            c = digits[8 + rd() % 4];
    }
    return id;
}

bool is_segment_path(const std::string& path) {
    static const std::regex re(R"(.*\.resume-[0-9]+\.h5$)");
    return std::regex_match(fs::path(path).filename().string(), re);
}

std::string segment_path(const std::string& run_path, int segment) {
    if (segment == 0) return run_path;
    const fs::path p(run_path);
    const std::string stem = p.extension() == ".h5" ? p.stem().string() : p.filename().string();
    return (p.parent_path() / (stem + ".resume-" + std::to_string(segment) + ".h5")).string();
}

// ---------------------------------------------------------------- writer

RunWriter::RunWriter(const std::string& path, const RunHeader& h)
    : path_(path), histogram_bins_(h.histogram_bins), step_extra_(h.step_extra), epoch_extra_(h.epoch_extra) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    if (fs::exists(path)) throw RunFileError(with_path(path, "already exists"));
    const std::string tmp = path + ".tmp-" + std::to_string(::getpid());
    try {
        H5Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS), "property list");
        // HDF5 1.10's format: needed for SWMR and for efficient appends, and never a newer one
        // that HDF5 1.10 readers cannot open (LATEST would follow the library building it).
        h5::ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "file format");
        file_ = h5::file(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get()), "cannot create the file");
        const hid_t f = file_.get();
        h5::write_string_attribute(f, "format", kFormat);
        h5::write_int_attribute(f, "schema_version", kRunSchemaVersion);
        h5::write_string_attribute(f, "run_id", h.run_id);
        h5::write_string_attribute(f, "name", h.name);
        h5::write_string_attribute(f, "preset", h.preset);
        h5::write_string_attribute(f, "config", h.config_json);
        h5::write_string_attribute(f, "code_version", h.code_version);
        h5::write_string_attribute(f, "created_utc", h.created_utc);
        h5::write_int_attribute(f, "start_unix_ms", h.start_unix_ms);
        h5::write_string_attribute(f, "torch_version", h.torch_version);
        h5::write_string_attribute(f, "hdf5_version", h.hdf5_version);
        h5::write_string_attribute(f, "device", h.device);
        h5::write_string_attribute(f, "host", h.host);
        h5::write_int_attribute(f, "pid", h.pid);
        h5::write_int_attribute(f, "segment", h.segment);
        h5::write_int_attribute(f, "resumed_from_step", h.resumed_from_step);
        h5::write_int_attribute(f, "resumed_epoch_rows", h.resumed_epoch_rows);
        // Rewritable in place (attributes cannot change under SWMR).
        h5::create_fixed_string(f, "status", 32, to_string(RunStatus::Running));
        h5::create_fixed_string(f, "status_message", 1024, "");
        h5::create_fixed_string(f, "finished_utc", 32, "");
        h5::create_int_scalar(f, "status_step", h.resumed_from_step);
        h5::create_int_scalar(f, "heartbeat_unix_ms", unix_time_ms());
        {
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

            H5Handle model =
                h5::group(H5Gcreate2(f, "model", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /model");
            h5::write_strings_attribute(model.get(), "layer_kinds", h.layer_kinds);
            h5::write_strings_attribute(model.get(), "layer_descriptions", h.layer_descriptions);
            h5::write_int_attribute(model.get(), "parameter_count", h.parameter_count);

            H5Handle lcpl = h5::plist(H5Pcreate(H5P_LINK_CREATE), "property list");
            h5::ok(H5Pset_create_intermediate_group(lcpl.get(), 1), "property list");
            H5Handle epoch = h5::group(H5Gcreate2(f, "metrics/epoch", lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                                       "creating /metrics/epoch");
            h5::create_series(epoch.get(), "epoch", 64);
            for (const auto& s : kEpochSeries)
                h5::create_series(epoch.get(), s.name, 64);
            create_extra_series(epoch.get(), h.epoch_extra, 64);
            H5Handle step = h5::group(H5Gcreate2(f, "metrics/step", lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                                      "creating /metrics/step");
            h5::create_series(step.get(), "global_step", 1024);
            h5::create_series(step.get(), "epoch", 1024);
            for (const auto& s : kStepSeries)
                h5::create_series(step.get(), s.name, 1024);
            create_extra_series(step.get(), h.step_extra, 1024);

            H5Handle weights =
                h5::group(H5Gcreate2(f, "weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /weights");
            for (const auto& a : h.weights) {
                std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
                H5Handle s =
                    h5::space(dims.empty() ? H5Screate(H5S_SCALAR)
                                           : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                              "dataspace");
                h5::dataset(H5Dcreate2(weights.get(), a.name.c_str(), a.is_integer ? H5T_STD_I64LE : H5T_IEEE_F32LE,
                                       s.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                            "creating weight " + a.name);
            }
            h5::create_int_scalar(f, "weights_step", -1);
            instrument_io::create(f, h);
        }
        h5::ok(H5Fstart_swmr_write(f), "cannot switch to SWMR mode");
        epoch_group_ = open_group(f, "metrics/epoch");
        step_group_ = open_group(f, "metrics/step");
        weights_group_ = open_group(f, "weights");
        void* handle = nullptr;
        h5::ok(H5Fget_vfd_handle(f, H5P_DEFAULT, &handle), "file handle");
        fd_ = *static_cast<int*>(handle);
        flush();
        ::fsync(fd_);
        // Only a complete, SWMR-ready file ever carries the run's name.
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            throw RunFileError(std::string("cannot rename the new file into place: ") + std::strerror(errno));
        try {
            fsync_parent_folder(path);
        } catch (const std::runtime_error& e) {
            throw RunFileError(e.what());
        }
    } catch (const RunFileError& e) {
        epoch_group_.reset();
        step_group_.reset();
        weights_group_.reset();
        file_.reset();
        std::error_code ec;
        fs::remove(tmp, ec);
        throw RunFileError(with_path(path, e.what()));
    }
}

RunWriter::~RunWriter() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    epoch_group_.reset();
    step_group_.reset();
    weights_group_.reset();
    file_.reset();
}

void RunWriter::append_epochs(const std::vector<EpochRecord>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        std::vector<double> v(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
            v[i] = rows[i].epoch;
        h5::append_series(epoch_group_.get(), "epoch", v);
        for (const auto& s : kEpochSeries) {
            for (std::size_t i = 0; i < rows.size(); ++i)
                v[i] = rows[i].*(s.member);
            h5::append_series(epoch_group_.get(), s.name, v);
        }
        append_extra(epoch_group_.get(), epoch_extra_, rows);
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::append_steps(const std::vector<StepRecord>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        std::vector<double> v(rows.size());
        for (std::size_t i = 0; i < rows.size(); ++i)
            v[i] = static_cast<double>(rows[i].global_step);
        h5::append_series(step_group_.get(), "global_step", v);
        for (std::size_t i = 0; i < rows.size(); ++i)
            v[i] = rows[i].epoch;
        h5::append_series(step_group_.get(), "epoch", v);
        for (const auto& s : kStepSeries) {
            for (std::size_t i = 0; i < rows.size(); ++i)
                v[i] = rows[i].*(s.member);
            h5::append_series(step_group_.get(), s.name, v);
        }
        append_extra(step_group_.get(), step_extra_, rows);
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::append_layer_steps(const std::vector<LayerStepStats>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        instrument_io::append_steps(file_.get(), rows);
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::append_layer_epochs(const std::vector<LayerEpochSnapshot>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        instrument_io::append_epochs(file_.get(), histogram_bins_, rows);
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::write_weights(const std::vector<NamedArray>& state, int64_t global_step) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        for (const auto& a : state) {
            H5Handle d = h5::dataset(H5Dopen2(weights_group_.get(), a.name.c_str(), H5P_DEFAULT),
                                     "the model has a tensor '" + a.name + "' that the file does not");
            if (a.is_integer)
                h5::ok(H5Dwrite(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.integers.data()),
                       "writing weight " + a.name);
            else
                h5::ok(H5Dwrite(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                       "writing weight " + a.name);
        }
        flush();  // the data first, then the marker that says it is complete
        h5::write_int_scalar(file_.get(), "weights_step", global_step);
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::set_status(RunStatus status, const std::string& message, int64_t global_step) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        h5::write_fixed_string(file_.get(), "status_message", message);
        h5::write_int_scalar(file_.get(), "status_step", global_step);
        if (status != RunStatus::Running) h5::write_fixed_string(file_.get(), "finished_utc", utc_now_iso8601());
        h5::write_fixed_string(file_.get(), "status", to_string(status));
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::heartbeat() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        h5::write_int_scalar(file_.get(), "heartbeat_unix_ms", unix_time_ms());
    } catch (const RunFileError& e) {
        throw RunFileError(with_path(path_, e.what()));
    }
}

void RunWriter::flush() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    if (H5Fflush(file_.get(), H5F_SCOPE_GLOBAL) < 0)
        throw RunFileError(with_path(path_, std::string("flush failed (") + std::strerror(errno) + ")"));
}

void RunWriter::sync() {
    flush();
    if (fd_ >= 0 && ::fsync(fd_) != 0)
        throw RunFileError(with_path(path_, std::string("fsync failed: ") + std::strerror(errno)));
}

// ---------------------------------------------------------------- reader

namespace {

struct Segment {
    RunHeader header;
    std::string status, status_message, finished_utc;
    int64_t status_step = 0, heartbeat = 0, weights_step = -1;
    std::vector<EpochRecord> epochs;
    std::vector<StepRecord> steps;
    std::vector<std::string> weight_names;
    InstrumentData instrument;
};

H5Handle open_for_reading(const std::string& path) {
    if (!fs::exists(path)) throw RunFileError("file not found");
    if (H5Fis_hdf5(path.c_str()) <= 0) throw RunFileError("not an HDF5 file (or damaged beyond reading)");
    H5Handle f = h5::open_swmr_read(path);
    if (!f) {
        H5Handle plain(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
        if (!plain)
            throw RunFileError(
                "cannot open the file: it is damaged, or still marked open by a writer that was not "
                "in SWMR mode (h5clear -s repairs the mark)");
        return plain;
    }
    return f;
}

Segment read_segment(const std::string& path) {
    Segment s;
    H5Handle file = open_for_reading(path);
    const hid_t f = file.get();
    if (!h5::has_attribute(f, "format"))
        throw RunFileError("an HDF5 file, but not a NormOut run file (attribute 'format' of / missing)");
    if (h5::read_string_attribute(f, "format") != kFormat)
        throw RunFileError(std::string("an HDF5 file, but not a NormOut run file (attribute 'format' of / is not \"") +
                           kFormat + "\")");
    const long long version = h5::read_int_attribute(f, "schema_version");
    if (version != kRunSchemaVersion)
        throw RunFileError("run file schema version " + std::to_string(version) +
                           " is not supported (this build reads version " + std::to_string(kRunSchemaVersion) + ")");
    RunHeader& h = s.header;
    h.run_id = h5::read_string_attribute(f, "run_id");
    h.name = h5::read_string_attribute(f, "name");
    h.preset = h5::read_string_attribute(f, "preset");
    h.config_json = h5::read_string_attribute(f, "config", h5::kMaxConfigBytes);
    h.code_version = h5::read_string_attribute(f, "code_version");
    h.created_utc = h5::read_string_attribute(f, "created_utc");
    h.start_unix_ms = h5::read_int_attribute(f, "start_unix_ms");
    h.torch_version = h5::read_string_attribute(f, "torch_version");
    h.hdf5_version = h5::read_string_attribute(f, "hdf5_version");
    h.device = h5::read_string_attribute(f, "device");
    h.host = h5::read_string_attribute(f, "host");
    h.pid = h5::read_int_attribute(f, "pid");
    h.segment = static_cast<int>(h5::read_int_attribute(f, "segment", 0, kIntMax));
    h.resumed_from_step = h5::read_int_attribute(f, "resumed_from_step", 0, kInt64Max);
    h.resumed_epoch_rows = h5::read_int_attribute(f, "resumed_epoch_rows", 0, kInt64Max);
    s.status = h5::read_fixed_string(f, "status");
    s.status_message = h5::read_fixed_string(f, "status_message");
    s.finished_utc = h5::read_fixed_string(f, "finished_utc");
    s.status_step = h5::read_int_scalar(f, "status_step");
    s.heartbeat = h5::read_int_scalar(f, "heartbeat_unix_ms");

    H5Handle data = open_group(f, "data");
    h.dataset = h5::read_string_attribute(data.get(), "dataset");
    h.data_source = h5::read_string_attribute(data.get(), "source");
    h.class_names = h5::read_strings_attribute(data.get(), "class_names");
    h.mean = h5::read_floats_attribute(data.get(), "mean");
    h.stddev = h5::read_floats_attribute(data.get(), "std");
    h.train_count = h5::read_int_attribute(data.get(), "train_count");
    h.val_count = h5::read_int_attribute(data.get(), "val_count");
    h.test_count = h5::read_int_attribute(data.get(), "test_count");
    h.channels = static_cast<int>(h5::read_int_attribute(data.get(), "channels", kIntMin, kIntMax));
    h.height = static_cast<int>(h5::read_int_attribute(data.get(), "height", kIntMin, kIntMax));
    h.width = static_cast<int>(h5::read_int_attribute(data.get(), "width", kIntMin, kIntMax));

    H5Handle model = open_group(f, "model");
    h.layer_kinds = h5::read_strings_attribute(model.get(), "layer_kinds");
    h.layer_descriptions = h5::read_strings_attribute(model.get(), "layer_descriptions");
    h.parameter_count = h5::read_int_attribute(model.get(), "parameter_count");

    // Series of a group are appended one after another: a live reader may see some longer than
    // others, so rows count up to the shortest.
    H5Handle epoch = open_group(f, "metrics/epoch");
    const auto epochs = h5::read_series(epoch.get(), "epoch");
    std::size_t n = epochs.size();
    std::vector<std::vector<double>> cols;
    for (const auto& e : kEpochSeries) {
        cols.push_back(h5::read_series(epoch.get(), e.name));
        n = std::min(n, cols.back().size());
    }
    h.epoch_extra = read_extra_names(epoch.get(), "/metrics/epoch");
    std::vector<std::vector<double>> extra_cols;
    for (const auto& name : h.epoch_extra) {
        extra_cols.push_back(h5::read_series(epoch.get(), name));
        n = std::min(n, extra_cols.back().size());
    }
    n = h5::written_rows(epochs, n);
    s.epochs.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        s.epochs[i].epoch = h5::epoch_number(epochs[i], "/metrics/epoch/epoch");
        for (std::size_t c = 0; c < cols.size(); ++c)
            s.epochs[i].*(kEpochSeries[c].member) = cols[c][i];
        for (const auto& col : extra_cols)
            s.epochs[i].extra.push_back(col[i]);
    }
    H5Handle step = open_group(f, "metrics/step");
    const auto gs = h5::read_series(step.get(), "global_step");
    const auto ep = h5::read_series(step.get(), "epoch");
    n = std::min(gs.size(), ep.size());
    cols.clear();
    for (const auto& e : kStepSeries) {
        cols.push_back(h5::read_series(step.get(), e.name));
        n = std::min(n, cols.back().size());
    }
    h.step_extra = read_extra_names(step.get(), "/metrics/step");
    extra_cols.clear();
    for (const auto& name : h.step_extra) {
        extra_cols.push_back(h5::read_series(step.get(), name));
        n = std::min(n, extra_cols.back().size());
    }
    n = h5::written_rows(ep, h5::written_rows(gs, n));
    s.steps.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        s.steps[i].global_step = h5::step_number(gs[i], "/metrics/step/global_step");
        s.steps[i].epoch = h5::epoch_number(ep[i], "/metrics/step/epoch");
        for (std::size_t c = 0; c < cols.size(); ++c)
            s.steps[i].*(kStepSeries[c].member) = cols[c][i];
        for (const auto& col : extra_cols)
            s.steps[i].extra.push_back(col[i]);
    }

    instrument_io::read(f, s.instrument, false, false);
    s.weights_step = h5::read_int_scalar(f, "weights_step");
    H5Handle w = open_group(f, "weights");
    s.weight_names = h5::child_names(w.get());
    return s;
}

bool writer_alive(const RunHeader& h, int64_t heartbeat) {
    if (unix_time_ms() - heartbeat > kHeartbeatTimeoutMs) return false;
    if (h.host == host_name() && h.pid > 0) return ::kill(static_cast<pid_t>(h.pid), 0) == 0 || errno == EPERM;
    return true;
}

}  // namespace

RunInfo read_run(const std::string& path) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    RunInfo info;
    info.path = path;
    std::string current = path;
    try {
        Segment first = read_segment(path);
        info.schema_version = kRunSchemaVersion;
        info.header = first.header;
        std::vector<Segment> segments;
        segments.push_back(std::move(first));
        for (int k = 1;; ++k) {
            current = segment_path(path, k);
            if (!fs::exists(current)) break;
            segments.push_back(read_segment(current));
        }
        current = path;
        for (std::size_t k = 0; k < segments.size(); ++k) {
            Segment& s = segments[k];
            if (k > 0) {
                // A continuation supersedes what earlier segments recorded after its checkpoint.
                info.epochs.resize(
                    std::min<std::size_t>(info.epochs.size(), static_cast<std::size_t>(s.header.resumed_epoch_rows)));
                while (!info.steps.empty() && info.steps.back().global_step > s.header.resumed_from_step)
                    info.steps.pop_back();
            }
            info.epochs.insert(info.epochs.end(), s.epochs.begin(), s.epochs.end());
            info.steps.insert(info.steps.end(), s.steps.begin(), s.steps.end());
            const std::string seg_path = segment_path(path, static_cast<int>(k));
            if (s.weights_step >= 0) {
                info.weights_path = seg_path;
                info.weights_step = s.weights_step;
                info.weight_names = s.weight_names;
            }
            info.segments.push_back({seg_path, s.status, s.header.resumed_from_step, s.header.resumed_epoch_rows});
        }
        const Segment& last = segments.back();
        info.stored_status = last.status;
        info.status = last.status;
        if (last.status == "running" && !writer_alive(last.header, last.heartbeat)) info.status = "interrupted";
        info.status_message = last.status_message;
        info.status_step = last.status_step;
        info.finished_utc = last.finished_utc;
        info.heartbeat_unix_ms = last.heartbeat;
        info.instrumented = segments.front().instrument.layers;
    } catch (const RunFileError& e) {
        throw RunFileError(current + ": " + e.what());
    }
    return info;
}

InstrumentData read_instrumentation(const std::string& path, bool with_epochs) {
    const RunInfo info = read_run(path);
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    InstrumentData out;
    std::string current = path;
    try {
        for (std::size_t k = 0; k < info.segments.size(); ++k) {
            const RunSegment& seg = info.segments[k];
            current = seg.path;
            H5Handle file = open_for_reading(seg.path);
            InstrumentData part;
            instrument_io::read(file.get(), part, true, with_epochs);
            if (k == 0) {
                out.layers = part.layers;
                out.histogram_bins = part.histogram_bins;
                out.every = part.every;
                out.ewma_alpha = part.ewma_alpha;
            } else {  // a continuation supersedes what came after its checkpoint
                for (auto& [layer, rows] : out.steps)
                    while (!rows.empty() && rows.back().global_step > seg.resumed_from_step)
                        rows.pop_back();
                for (auto& [layer, rows] : out.epochs)
                    while (!rows.empty() && rows.back().epoch > seg.resumed_epoch_rows)
                        rows.pop_back();
            }
            for (auto& [layer, rows] : part.steps) {
                auto& dst = out.steps[layer];
                dst.insert(dst.end(), rows.begin(), rows.end());
            }
            for (auto& [layer, rows] : part.epochs) {
                auto& dst = out.epochs[layer];
                dst.insert(dst.end(), rows.begin(), rows.end());
            }
        }
    } catch (const RunFileError& e) {
        throw RunFileError(current + ": " + e.what());
    }
    return out;
}

std::vector<NamedArray> read_weights(const std::string& path) {
    const RunInfo info = read_run(path);
    if (info.weights_path.empty())
        throw RunFileError(path + ": the run holds no weights yet (status " + info.status + ")");
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    std::vector<NamedArray> out;
    try {
        H5Handle file = open_for_reading(info.weights_path);
        H5Handle w = open_group(file.get(), "weights");
        for (const auto& name : info.weight_names) {
            const std::string label = h5::dataset_label(w.get(), name);
            H5Handle d = h5::open_dataset(w.get(), name);
            const h5::Stored s = h5::stored_dataset(d.get());
            if (!s.numeric() || s.null_space) throw h5::mismatch(label, "an array of numbers", s);
            h5::check_dataset_storage(d.get(), s, label);
            NamedArray a;
            a.name = name;
            for (hsize_t d0 : s.dims)
                a.shape.push_back(static_cast<int64_t>(d0));
            a.is_integer = s.type_class == H5T_INTEGER;
            try {
                if (a.is_integer)
                    a.integers.resize(static_cast<std::size_t>(s.elements));
                else
                    a.values.resize(static_cast<std::size_t>(s.elements));
            } catch (const std::exception&) {
                throw RunFileError(label + ": not enough memory for its " + std::to_string(s.elements) + " elements");
            }
            if (a.is_integer)
                h5::ok(H5Dread(d.get(), H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.integers.data()),
                       label + ": cannot read");
            else
                h5::ok(H5Dread(d.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                       label + ": cannot read");
            out.push_back(std::move(a));
        }
    } catch (const RunFileError& e) {
        throw RunFileError(info.weights_path + ": " + e.what());
    }
    return out;
}

}  // namespace normout
