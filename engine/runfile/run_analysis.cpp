#include "engine/runfile/run_analysis.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>
#include <utility>

#include "engine/runfile/run_file.h"
#include "engine/util/durable_file.h"
#include "engine/util/user_dirs.h"

namespace normout {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t kTextSize = 256;
constexpr const char* kSidecarFormat = "normout-analysis";
constexpr const char* kUnsavedFormat = "normout-analysis-unsaved";
constexpr const char* kMergedAttribute = "merged_unsaved";  // of /analysis in the sidecar
constexpr std::uintmax_t kMaxUnsavedBytes = std::uintmax_t{256} << 20;

// ---------------------------------------------------------------- tables in HDF5

H5Handle text_type() {
    H5Handle t = h5::type(H5Tcopy(H5T_C_S1), "string type");
    h5::ok(H5Tset_size(t.get(), kTextSize), "string type");
    h5::ok(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "string type");
    return t;
}

bool is_text(hid_t group, const std::string& column) {
    H5Handle d = h5::open_dataset(group, column);
    H5Handle t = h5::type(H5Dget_type(d.get()), h5::dataset_label(group, column) + ": type");
    return H5Tget_class(t.get()) == H5T_STRING;
}

std::vector<std::string> children(hid_t group) {
    return h5::child_names(group);
}

void create_text_column(hid_t group, const std::string& name) {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED, chunk = 64;
    H5Handle s = h5::space(H5Screate_simple(1, &zero, &unlimited), "dataspace");
    H5Handle p = h5::plist(H5Pcreate(H5P_DATASET_CREATE), "property list");
    h5::ok(H5Pset_chunk(p.get(), 1, &chunk), "chunking");
    H5Handle t = text_type();
    h5::dataset(H5Dcreate2(group, name.c_str(), t.get(), s.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
                "creating column " + name);
}

void append_texts(hid_t group, const std::string& name, const std::vector<std::string>& values) {
    H5Handle d = h5::dataset(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "opening column " + name);
    H5Handle s = h5::space(H5Dget_space(d.get()), "column space");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s.get(), &n, nullptr);
    const hsize_t k = values.size(), total = n + k;
    h5::ok(H5Dset_extent(d.get(), &total), "extending column " + name);
    H5Handle fs = h5::space(H5Dget_space(d.get()), "column space");
    h5::ok(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &n, nullptr, &k, nullptr), "selecting rows");
    H5Handle ms = h5::space(H5Screate_simple(1, &k, nullptr), "memory space");
    std::vector<char> buf(k * kTextSize, '\0');
    for (std::size_t i = 0; i < values.size(); ++i)
        std::memcpy(buf.data() + i * kTextSize, values[i].data(), std::min(values[i].size(), kTextSize - 1));
    H5Handle t = text_type();
    h5::ok(H5Dwrite(d.get(), t.get(), ms.get(), fs.get(), H5P_DEFAULT, buf.data()), "appending to column " + name);
}

std::vector<std::string> read_texts(hid_t group, const std::string& name) {
    const std::string label = h5::dataset_label(group, name);
    H5Handle d = h5::open_dataset(group, name);
    const h5::Stored s = h5::stored_dataset(d.get());
    if (s.type_class != H5T_STRING || s.variable_string || s.null_space || s.dims.size() != 1 ||
        s.type_size > h5::kMaxFixedStringBytes)
        throw h5::mismatch(label, "a 1-D column of fixed-length strings", s);
    h5::check_dataset_storage(d.get(), s, label);
    const hsize_t n = s.dims[0];
    const std::size_t size = s.type_size;
    std::vector<char> buf;
    try {
        buf.assign(static_cast<std::size_t>(n) * size, '\0');
    } catch (const std::exception&) {
        throw RunFileError(label + ": not enough memory for its " + std::to_string(n) + " elements");
    }
    H5Handle ft = h5::type(H5Dget_type(d.get()), label + ": type");
    if (n) h5::ok(H5Dread(d.get(), ft.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), label + ": cannot read");
    std::vector<std::string> out;
    for (hsize_t i = 0; i < n; ++i)
        out.emplace_back(buf.data() + i * size, strnlen(buf.data() + i * size, size));
    return out;
}

hsize_t column_length(hid_t group, const std::string& name) {
    return h5::series_length(group, name);
}

void append_rows(hid_t root, const std::string& table, const std::vector<AnalysisRow>& rows) {
    if (rows.empty()) return;
    if (H5Lexists(root, table.c_str(), H5P_DEFAULT) <= 0)
        h5::group(H5Gcreate2(root, table.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating table " + table);
    H5Handle g = h5::group(H5Gopen2(root, table.c_str(), H5P_DEFAULT), "opening table " + table);
    std::set<std::string> numbers, texts;
    for (const auto& name : children(g.get()))
        (is_text(g.get(), name) ? texts : numbers).insert(name);
    hsize_t length = 0;
    for (const auto& name : numbers)
        length = std::max(length, column_length(g.get(), name));
    for (const auto& name : texts)
        length = std::max(length, column_length(g.get(), name));
    // New columns start with as many empty rows as the table has.
    for (const auto& r : rows) {
        for (const auto& [name, v] : r.numbers)
            if (!numbers.count(name)) {
                if (texts.count(name)) throw RunFileError("column " + name + " of " + table + " holds text");
                h5::create_series(g.get(), name, 64);
                h5::append_series(g.get(), name, std::vector<double>(length, NAN));
                numbers.insert(name);
            }
        for (const auto& [name, v] : r.texts)
            if (!texts.count(name)) {
                if (numbers.count(name)) throw RunFileError("column " + name + " of " + table + " holds numbers");
                create_text_column(g.get(), name);
                if (length) append_texts(g.get(), name, std::vector<std::string>(length));
                texts.insert(name);
            }
    }
    for (const auto& name : numbers) {
        std::vector<double> v;
        for (const auto& r : rows) {
            const auto it = r.numbers.find(name);
            v.push_back(it == r.numbers.end() ? NAN : it->second);
        }
        h5::append_series(g.get(), name, v);
    }
    for (const auto& name : texts) {
        std::vector<std::string> v;
        for (const auto& r : rows) {
            const auto it = r.texts.find(name);
            v.push_back(it == r.texts.end() ? std::string() : it->second);
        }
        append_texts(g.get(), name, v);
    }
}

void put_array(hid_t root, const std::string& name, const AnalysisArray& a) {
    if (H5Lexists(root, "arrays", H5P_DEFAULT) <= 0)
        h5::group(H5Gcreate2(root, "arrays", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating arrays");
    H5Handle g = h5::group(H5Gopen2(root, "arrays", H5P_DEFAULT), "opening arrays");
    if (H5Lexists(g.get(), name.c_str(), H5P_DEFAULT) > 0)
        h5::ok(H5Ldelete(g.get(), name.c_str(), H5P_DEFAULT), "replacing array " + name);
    std::vector<hsize_t> dims(a.shape.begin(), a.shape.end());
    std::size_t n = 1;
    for (hsize_t d : dims)
        n *= d;
    if (n != a.values.size()) throw RunFileError("array " + name + ": shape does not match its values");
    H5Handle s = h5::space(
        dims.empty() ? H5Screate(H5S_SCALAR) : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
        "dataspace");
    H5Handle d =
        h5::dataset(H5Dcreate2(g.get(), name.c_str(), H5T_IEEE_F64LE, s.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "creating array " + name);
    if (n)
        h5::ok(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()), "writing " + name);
    for (const auto& [key, value] : a.attributes)
        h5::write_string_attribute(d.get(), key, value);
}

// Adds the tables and arrays of an /analysis group to `out` (rows after those already there,
// arrays replacing those of the same name).
void read_analysis_group(hid_t root, AnalysisData& out) {
    for (const auto& table : children(root)) {
        if (table == "arrays") {
            H5Handle g = h5::open_group(root, "arrays");
            for (const auto& name : children(g.get())) {
                std::vector<hsize_t> shape;
                AnalysisArray a;
                a.values = h5::read_numbers(g.get(), name, shape);
                a.shape.assign(shape.begin(), shape.end());
                H5Handle d = h5::open_dataset(g.get(), name);
                for (const auto& attr : h5::attribute_names(d.get()))
                    a.attributes[attr] = h5::read_string_attribute(d.get(), attr);
                out.arrays[name] = std::move(a);
            }
            continue;
        }
        H5Handle g = h5::open_group(root, table);
        std::map<std::string, std::vector<double>> numbers;
        std::map<std::string, std::vector<std::string>> texts;
        std::size_t rows = SIZE_MAX;
        for (const auto& col : children(g.get())) {
            if (is_text(g.get(), col)) {
                texts[col] = read_texts(g.get(), col);
                rows = std::min(rows, texts[col].size());
            } else {
                numbers[col] = h5::read_series(g.get(), col);
                rows = std::min(rows, numbers[col].size());
            }
        }
        if (rows == SIZE_MAX) rows = 0;
        auto& dst = out.tables[table].rows;
        for (std::size_t r = 0; r < rows; ++r) {
            AnalysisRow row;
            for (const auto& [col, v] : numbers)
                row.numbers[col] = v[r];
            for (const auto& [col, v] : texts)
                row.texts[col] = v[r];
            dst.push_back(std::move(row));
        }
    }
}

// Sidecars are never written in place (a writer renames a finished copy over them), so HDF5's
// file locks protect nothing there; without them a reader works on file systems without
// flock(2) and next to anyone holding the file.
H5Handle sidecar_access() {
    H5Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS), "property list");
    // Superblock version 3: readable by HDF5 >= 1.10 and by SWMR readers (h5py swmr=True), as
    // the run files are; never a newer format that HDF5 1.10 cannot open.
    h5::ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_V110, H5F_LIBVER_V110), "file format");
    h5::ok(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "property list");
#if H5_VERSION_GE(1, 10, 7)
    h5::ok(H5Pset_file_locking(fapl.get(), 0, 1), "file locking");
#endif
    return fapl;
}

// ---------------------------------------------------------------- names and small helpers

std::string run_stem(const std::string& run_path) {
    const fs::path p(run_path);
    return p.extension() == ".h5" ? p.stem().string() : p.filename().string();
}

fs::path run_folder(const std::string& run_path) {
    const fs::path parent = fs::path(run_path).parent_path();
    return parent.empty() ? fs::path(".") : parent;
}

std::string lock_path(const std::string& run_path) {
    return (fs::path(run_path).parent_path() / (run_stem(run_path) + ".analysis.lock")).string();
}

// RUN.analysis-unsaved-<time>-<pid>-<n>.json next to the run; <run id>.RUN.analysis-unsaved-...
// in the user's folder.
std::string unsaved_marker(const std::string& run_path) {
    return run_stem(run_path) + ".analysis-unsaved-";
}

fs::path user_unsaved_folder() {
    return fs::path(user_data_dir()) / "unsaved-analysis";
}

std::string system_message(int err) {
    return std::strerror(err);
}

std::string compact_utc_now() {
    const std::time_t t = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

bool process_alive(long pid) {
    if (pid <= 0) return false;
    return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

bool ends_with(const std::string& s, const std::string& tail) {
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

bool starts_with(const std::string& s, const std::string& head) {
    return s.compare(0, head.size(), head) == 0;
}

// Unsaved files of a run that exist now, oldest first (their names start with the time).
std::vector<fs::path> unsaved_files(const std::string& run_path, const std::string& run_id) {
    std::vector<std::pair<std::string, fs::path>> found;  // (time part, path)
    const std::string marker = unsaved_marker(run_path);
    std::error_code ec;
    for (fs::directory_iterator it(run_folder(run_path), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        if (starts_with(name, marker) && ends_with(name, ".json"))
            found.emplace_back(name.substr(marker.size()), it->path());
    }
    const fs::path user = user_unsaved_folder();
    const std::string prefix = (run_id.empty() ? std::string("?") : run_id) + "." + marker;
    ec.clear();
    if (fs::is_directory(user, ec))
        for (fs::directory_iterator it(user, ec), end; !ec && it != end; it.increment(ec)) {
            const std::string name = it->path().filename().string();
            if ((run_id.empty() ? name.find("." + marker) != std::string::npos : starts_with(name, prefix)) &&
                ends_with(name, ".json"))
                found.emplace_back(name.substr(name.find(marker) + marker.size()), it->path());
        }
    std::sort(found.begin(), found.end());
    std::vector<fs::path> out;
    for (auto& [key, path] : found)
        out.push_back(std::move(path));
    return out;
}

// ---------------------------------------------------------------- unsaved results as JSON

json number_json(double v) {
    if (std::isfinite(v)) return v;
    return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
}

double json_number(const json& v) {
    if (v.is_number()) return v.get<double>();
    if (v.is_string()) {
        const std::string s = v.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
    }
    throw std::runtime_error("a number (or \"nan\", \"inf\", \"-inf\") expected, found " + v.dump().substr(0, 40));
}

json batch_json(const AnalysisBatch& batch) {
    json tables = json::object();
    for (const auto& [table, rows] : batch.tables) {
        json list = json::array();
        for (const auto& r : rows) {
            json numbers = json::object(), texts = json::object();
            for (const auto& [k, v] : r.numbers)
                numbers[k] = number_json(v);
            for (const auto& [k, v] : r.texts)
                texts[k] = v;
            list.push_back({{"numbers", numbers}, {"texts", texts}});
        }
        tables[table] = list;
    }
    json arrays = json::object();
    for (const auto& [name, a] : batch.arrays) {
        json values = json::array();
        for (double v : a.values)
            values.push_back(number_json(v));
        arrays[name] = {{"shape", a.shape}, {"values", values}, {"attributes", a.attributes}};
    }
    return {{"tables", tables}, {"arrays", arrays}};
}

struct UnsavedFile {
    std::string run_id, reason, created_utc;
    AnalysisBatch batch;
};

UnsavedFile read_unsaved(const fs::path& path) {
    const std::string label = path.string();
    try {
        std::error_code ec;
        const auto size = fs::file_size(path, ec);
        if (ec) throw std::runtime_error("cannot read it: " + ec.message());
        if (size > kMaxUnsavedBytes) throw std::runtime_error("larger than 256 MiB");
        std::ifstream in(path, std::ios::binary);
        if (!in) throw std::runtime_error("cannot open it: " + system_message(errno));
        const json j = json::parse(in);
        if (!j.is_object() || j.value("format", "") != kUnsavedFormat)
            throw std::runtime_error(std::string("not a '") + kUnsavedFormat + "' file");
        UnsavedFile u;
        u.run_id = j.value("run_id", "");
        u.reason = j.value("reason", "");
        u.created_utc = j.value("created_utc", "");
        const json& analysis = j.at("analysis");
        for (const auto& [table, rows] : analysis.at("tables").items()) {
            auto& dst = u.batch.tables[table];
            for (const auto& r : rows) {
                AnalysisRow row;
                for (const auto& [k, v] : r.at("numbers").items())
                    row.numbers[k] = json_number(v);
                for (const auto& [k, v] : r.at("texts").items())
                    row.texts[k] = v.get<std::string>();
                dst.push_back(std::move(row));
            }
        }
        for (const auto& [name, a] : analysis.at("arrays").items()) {
            AnalysisArray array;
            std::size_t n = 1;
            for (const auto& d : a.at("shape")) {
                const auto k = d.get<int64_t>();
                if (k < 0 || (k > 0 && n > (std::size_t{1} << 40) / static_cast<std::size_t>(k)))
                    throw std::runtime_error("array " + name + ": a bad shape");
                array.shape.push_back(k);
                n *= static_cast<std::size_t>(k);
            }
            for (const auto& v : a.at("values"))
                array.values.push_back(json_number(v));
            if (array.values.size() != n)
                throw std::runtime_error("array " + name + ": shape does not match its values");
            for (const auto& [k, v] : a.at("attributes").items())
                array.attributes[k] = v.get<std::string>();
            u.batch.arrays[name] = std::move(array);
        }
        return u;
    } catch (const std::exception& e) {
        throw RunFileError(label + ": unsaved analysis results that cannot be read (" + e.what() +
                           "); move the file away to read the run without them");
    }
}

std::atomic<int> unsaved_counter{0};

// Writes the batch to a new JSON file (temporary name, fsync, rename, fsync of the folder) and
// returns its path.
std::string write_unsaved_in(const fs::path& folder, const std::string& name, const json& j) {
    const fs::path path = folder / name;
    const std::string tmp = path.string() + ".tmp-" + host_name() + "-" + std::to_string(::getpid());
    try {
        // Texts clipped to 255 bytes may end inside a UTF-8 character: replaced, never refused.
        write_file_durably(tmp, j.dump(1, ' ', false, json::error_handler_t::replace));
        if (std::rename(tmp.c_str(), path.c_str()) != 0)
            throw std::runtime_error("rename to " + path.string() + ": " + system_message(errno));
        fsync_parent_folder(path.string());
    } catch (...) {
        std::error_code ec;
        fs::remove(tmp, ec);
        throw;
    }
    return path.string();
}

// Keeps a batch that could not be stored; returns the file, or throws with every reason.
std::string keep_unsaved(const std::string& run_path, const std::string& run_id, const AnalysisBatch& batch,
                         const std::string& reason) {
    const json j = {{"format", kUnsavedFormat},
                    {"version", 1},
                    {"run", run_path},
                    {"run_id", run_id},
                    {"sidecar", analysis_path(run_path)},
                    {"reason", reason},
                    {"created_utc", utc_now_iso8601()},
                    {"host", host_name()},
                    {"pid", static_cast<long long>(::getpid())},
                    {"analysis", batch_json(batch)}};
    const std::string name = unsaved_marker(run_path) + compact_utc_now() + "-" + std::to_string(::getpid()) + "-" +
                             std::to_string(unsaved_counter++) + ".json";
    std::string errors;
    try {
        return write_unsaved_in(fs::path(run_path).parent_path(), name, j);
    } catch (const std::exception& e) {
        errors = e.what();
    }
    try {
        const fs::path user = user_unsaved_folder();
        fs::create_directories(user);
        return write_unsaved_in(user, (run_id.empty() ? std::string("unknown-run") : run_id) + "." + name, j);
    } catch (const std::exception& e) {
        errors += "; " + std::string(e.what());
    }
    throw std::runtime_error(errors);
}

// ---------------------------------------------------------------- the writers' lock

// An exclusive flock(2) on RUN.analysis.lock: writers of one run's analysis take turns. The
// holder's pid and host are in the file, for the message of a writer that gives up waiting.
class WriterLock {
  public:
    WriterLock(const std::string& path, int wait_seconds) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd_ < 0 && (errno == EACCES || errno == EPERM)) fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw RunFileError(path + ": cannot create the writers' lock file: " + system_message(errno));
        const auto start = std::chrono::steady_clock::now();
        auto pause = std::chrono::milliseconds(20);
        for (;;) {
            if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) break;
            const int err = errno;
            if (err == EINTR) continue;
            if (err == ENOLCK || err == EOPNOTSUPP || err == ENOSYS || err == EINVAL) return;  // no locks here
            if (err != EWOULDBLOCK) {
                ::close(fd_);
                fd_ = -1;
                throw RunFileError(path + ": cannot lock: " + system_message(err));
            }
            const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            if (waited >= wait_seconds) {
                const std::string holder = read_holder();
                ::close(fd_);
                fd_ = -1;
                throw RunFileError(path + ": another process" + (holder.empty() ? "" : " (" + holder + ")") +
                                   " has been storing analysis results of this run for more than " +
                                   std::to_string(wait_seconds) + " s; gave up waiting for it");
            }
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(250));
        }
        const std::string me = "pid " + std::to_string(::getpid()) + " on " + host_name();
        if (::ftruncate(fd_, 0) == 0 && ::pwrite(fd_, me.data(), me.size(), 0) < 0) {
            // Only for messages.
        }
    }
    ~WriterLock() {
        if (fd_ >= 0) ::close(fd_);  // releases the lock
    }
    WriterLock(const WriterLock&) = delete;
    WriterLock& operator=(const WriterLock&) = delete;

  private:
    std::string read_holder() const {
        char buf[256] = {};
        const ssize_t n = ::pread(fd_, buf, sizeof buf - 1, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
    std::string path_;
    int fd_ = -1;
};

int lock_wait_seconds() {
    // For tests and slow file systems.
    if (const char* s = std::getenv("NORMOUT_ANALYSIS_LOCK_WAIT")) {
        char* end = nullptr;
        const long v = std::strtol(s, &end, 10);
        if (end != s && *end == '\0' && v >= 0 && v <= 86400) return static_cast<int>(v);
    }
    return kAnalysisLockWaitSeconds;
}

// Temporary files of writers that died (SIGKILL, power loss): RUN.analysis.hdf5.tmp-<host>-<pid>
// and RUN.analysis-unsaved-....json.tmp-<host>-<pid>. A live writer's are left alone.
void remove_stale_copies(const std::string& run_path) {
    const std::string prefix = run_stem(run_path) + ".analysis";
    const std::string host = host_name();
    std::error_code ec;
    for (fs::directory_iterator it(run_folder(run_path), ec), end; !ec && it != end; it.increment(ec)) {
        const std::string name = it->path().filename().string();
        const auto tmp = name.rfind(".tmp-");
        if (!starts_with(name, prefix) || tmp == std::string::npos) continue;
        const std::string rest = name.substr(tmp + 5);
        const auto dash = rest.rfind('-');
        if (dash == std::string::npos) continue;
        const std::string from = rest.substr(0, dash);
        char* end_ptr = nullptr;
        const long pid = std::strtol(rest.c_str() + dash + 1, &end_ptr, 10);
        if (end_ptr == rest.c_str() + dash + 1 || *end_ptr != '\0') continue;
        bool stale;
        if (from == host) {
            stale = !process_alive(pid);
        } else {  // another machine's writer (a shared folder): stale after an hour
            std::error_code e2;
            const auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), e2);
            stale = !e2 && age > std::chrono::hours(1);
        }
        if (stale) {
            std::error_code e3;
            fs::remove(it->path(), e3);
        }
    }
}

AnalysisData read_all(const std::string& run_path, bool skip_unreadable_unsaved);

}  // namespace

bool AnalysisBatch::empty() const {
    for (const auto& [table, rows] : tables)
        if (!rows.empty()) return false;
    return arrays.empty();
}

std::string analysis_path(const std::string& run_path) {
    return (fs::path(run_path).parent_path() / (run_stem(run_path) + ".analysis.hdf5")).string();
}

std::vector<std::string> analysis_files(const std::string& run_path) {
    std::vector<std::string> out;
    std::error_code ec;
    if (fs::exists(analysis_path(run_path), ec)) out.push_back(analysis_path(run_path));
    for (const auto& p : unsaved_files(run_path, ""))
        out.push_back(p.string());
    return out;
}

// ---------------------------------------------------------------- writer

struct AnalysisWriter::Impl {
    std::string run_path, run_id, sidecar, tmp;
    std::unique_ptr<WriterLock> lock;
    hid_t file = H5I_INVALID_HID;  // closed by hand, to see the result
    H5Handle root;
    std::vector<std::string> merged;  // names of unsaved files already in the sidecar
    std::vector<fs::path> to_remove;  // unsaved files to delete once the sidecar holds them
    bool committed = false;

    void close_and_discard() {
        root.reset();
        if (file >= 0) H5Fclose(file);
        file = H5I_INVALID_HID;
        if (!tmp.empty() && !committed) {
            std::error_code ec;
            fs::remove(tmp, ec);
        }
    }
};

AnalysisWriter::AnalysisWriter(const std::string& run_path, bool by_its_writer) : impl_(nullptr) {
    auto impl = std::make_unique<Impl>();
    const RunInfo info = read_run(run_path);  // also checks that it is a run
    if (info.status == "running" && !by_its_writer)
        throw RunFileError(run_path + ": the run is still being written; analyse it when it has ended");
    impl->run_path = run_path;
    impl->run_id = info.header.run_id;
    impl->sidecar = analysis_path(run_path);
    impl->lock = std::make_unique<WriterLock>(lock_path(run_path), lock_wait_seconds());
    remove_stale_copies(run_path);

    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    impl->tmp = impl->sidecar + ".tmp-" + host_name() + "-" + std::to_string(::getpid());
    std::string stage;
    try {
        H5Handle fapl = sidecar_access();
        std::error_code ec;
        bool reuse = fs::exists(impl->sidecar, ec);
        if (reuse) {
            // A sidecar left by an earlier run of the same name (overwritten with --force) is not
            // this run's: start afresh.
            stage = impl->sidecar;
            H5Handle f = h5::file(H5Fopen(impl->sidecar.c_str(), H5F_ACC_RDONLY, fapl.get()),
                                  "cannot open it (damaged? move it away to store new results)");
            const std::string id =
                h5::has_attribute(f.get(), "run_id") ? h5::read_string_attribute(f.get(), "run_id") : impl->run_id;
            reuse = id == impl->run_id;
        }
        fs::remove(impl->tmp, ec);
        if (reuse) {
            stage = "copying " + impl->sidecar + " to " + impl->tmp;
            fs::copy_file(impl->sidecar, impl->tmp, fs::copy_options::overwrite_existing);
            stage = impl->tmp;
            impl->file = H5Fopen(impl->tmp.c_str(), H5F_ACC_RDWR, fapl.get());
            h5::ok(static_cast<herr_t>(impl->file < 0 ? -1 : 0), "cannot open for writing");
        } else {
            stage = impl->tmp;
            impl->file = H5Fcreate(impl->tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get());
            h5::ok(static_cast<herr_t>(impl->file < 0 ? -1 : 0), "cannot create the file");
            h5::write_string_attribute(impl->file, "format", kSidecarFormat);
            h5::write_string_attribute(impl->file, "run_id", impl->run_id);
            h5::write_string_attribute(impl->file, "run", fs::path(run_path).filename().string());
        }
        if (H5Lexists(impl->file, "analysis", H5P_DEFAULT) <= 0)
            h5::group(H5Gcreate2(impl->file, "analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /analysis");
        impl->root = h5::group(H5Gopen2(impl->file, "analysis", H5P_DEFAULT), "opening /analysis");
        std::vector<std::string> merged;
        if (h5::has_attribute(impl->root.get(), kMergedAttribute))
            merged = h5::read_strings_attribute(impl->root.get(), kMergedAttribute);
        impl_ = impl.get();
        stage.clear();  // the writes name the file themselves

        // Results that an earlier writer could not store join the sidecar now (after its rows,
        // before the new ones); a file that cannot be read stays where it is.
        const std::set<std::string> done(merged.begin(), merged.end());
        for (const auto& p : unsaved_files(run_path, impl->run_id)) {
            const std::string name = p.filename().string();
            if (done.count(name)) {
                // Moved in before; its writer was killed before it removed the file.
                impl->merged.push_back(name);
                impl->to_remove.push_back(p);
                continue;
            }
            UnsavedFile u;
            try {
                u = read_unsaved(p);
            } catch (const RunFileError&) {
                continue;
            }
            if (u.run_id != impl->run_id) continue;  // another run's (the name was reused)
            write(u.batch);
            impl->merged.push_back(name);  // names of files that are gone need no remembering
            impl->to_remove.push_back(p);
        }
    } catch (const std::exception& e) {
        impl_ = nullptr;
        impl->close_and_discard();
        throw RunFileError(stage.empty() ? std::string(e.what()) : stage + ": " + e.what());
    }
    impl_ = impl.release();
}

AnalysisWriter::~AnalysisWriter() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    impl_->close_and_discard();
    delete impl_;  // releases the writers' lock
}

const std::string& AnalysisWriter::path() const {
    return impl_->sidecar;
}

void AnalysisWriter::write(const AnalysisBatch& batch) {
    for (const auto& [table, rows] : batch.tables)
        append(table, rows);
    for (const auto& [name, array] : batch.arrays)
        write_array(name, array);
}

void AnalysisWriter::append(const std::string& table, const std::vector<AnalysisRow>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        append_rows(impl_->root.get(), table, rows);
    } catch (const RunFileError& e) {
        throw RunFileError(impl_->tmp + ": " + e.what());
    }
}

void AnalysisWriter::write_array(const std::string& name, const AnalysisArray& a) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        put_array(impl_->root.get(), name, a);
    } catch (const RunFileError& e) {
        throw RunFileError(impl_->tmp + ": " + e.what());
    }
}

void AnalysisWriter::commit() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    if (impl_->committed) return;
    std::string stage = impl_->tmp;
    try {
        if (!impl_->root || impl_->file < 0) throw RunFileError("closed after an earlier failure");
        if (h5::has_attribute(impl_->root.get(), kMergedAttribute))
            h5::ok(H5Adelete(impl_->root.get(), kMergedAttribute), "updating " + std::string(kMergedAttribute));
        if (!impl_->merged.empty()) h5::write_strings_attribute(impl_->root.get(), kMergedAttribute, impl_->merged);
        h5::ok(H5Fflush(impl_->file, H5F_SCOPE_GLOBAL), "flush failed");
        impl_->root.reset();
        const hid_t f = std::exchange(impl_->file, H5I_INVALID_HID);
        h5::ok(H5Fclose(f), "closing failed");
        {
            // Only a file that opens goes in place of the sidecar.
            H5Handle fapl = sidecar_access();
            h5::file(H5Fopen(impl_->tmp.c_str(), H5F_ACC_RDONLY, fapl.get()), "does not open after writing");
        }
        stage = "syncing " + impl_->tmp;
        fsync_file(impl_->tmp);
        stage = "renaming " + impl_->tmp + " to " + impl_->sidecar;
        if (std::rename(impl_->tmp.c_str(), impl_->sidecar.c_str()) != 0)
            throw std::runtime_error(system_message(errno));
        impl_->committed = true;
    } catch (const std::exception& e) {
        if (!impl_->committed) impl_->close_and_discard();
        throw RunFileError(stage + ": " + e.what());
    }
    try {
        fsync_parent_folder(impl_->sidecar);  // the rename survives a power loss
    } catch (const std::exception&) {
        // In place already; only its durability is the system's.
    }
    for (const auto& p : impl_->to_remove) {
        std::error_code ec;
        fs::remove(p, ec);
    }
}

// ---------------------------------------------------------------- storing without losing

std::string store_analysis(const std::string& run_path, const std::function<AnalysisBatch(const AnalysisData&)>& make,
                           bool by_its_writer) {
    AnalysisBatch batch;
    bool made = false, in_make = false;
    std::string cause;
    try {
        AnalysisWriter writer(run_path, by_its_writer);
        const AnalysisData stored = read_all(run_path, true);  // under the lock: numbering stays unique
        in_make = true;
        batch = make(stored);
        in_make = false;
        made = true;
        writer.write(batch);
        writer.commit();
        return writer.path();
    } catch (const std::exception& e) {
        if (in_make) throw;  // nothing was computed that could be kept
        cause = e.what();
    }
    std::string run_id;
    AnalysisData stored;
    try {
        const RunInfo info = read_run(run_path);
        run_id = info.header.run_id;
        stored = read_all(run_path, true);
    } catch (const std::exception&) {
        // Number from what could be read.
    }
    if (!made) batch = make(stored);
    const std::string sidecar = analysis_path(run_path);
    try {
        const std::string kept = keep_unsaved(run_path, run_id, batch, cause);
        throw AnalysisNotStored("could not store the analysis results of " + run_path + " in " + sidecar + ": " +
                                    cause + ". They are kept in " + kept +
                                    "; normout and the lab read them with the run, and the next analysis stored "
                                    "for it moves them into " +
                                    sidecar,
                                kept);
    } catch (const AnalysisNotStored&) {
        throw;
    } catch (const std::exception& e) {
        throw AnalysisNotStored("could not store the analysis results of " + run_path + " in " + sidecar + ": " +
                                    cause + "; keeping them in a JSON file failed too (" + e.what() +
                                    "): they are lost",
                                "");
    }
}

void write_analysis_in_place(const std::string& file_path, const AnalysisBatch& batch) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    try {
        H5Handle f = h5::file(H5Fopen(file_path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT), "cannot open for writing");
        if (H5Lexists(f.get(), "analysis", H5P_DEFAULT) <= 0)
            h5::group(H5Gcreate2(f.get(), "analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "creating /analysis");
        H5Handle root = h5::group(H5Gopen2(f.get(), "analysis", H5P_DEFAULT), "opening /analysis");
        for (const auto& [table, rows] : batch.tables)
            append_rows(root.get(), table, rows);
        for (const auto& [name, array] : batch.arrays)
            put_array(root.get(), name, array);
        root.reset();
        h5::ok(H5Fflush(f.get(), H5F_SCOPE_GLOBAL), "flush failed");
    } catch (const RunFileError& e) {
        throw RunFileError(file_path + ": " + e.what());
    }
}

// ---------------------------------------------------------------- reader

namespace {

// `skip_unreadable_unsaved`: for the writers, which must go on storing (and numbering) next to a
// damaged JSON file that the readers name.
AnalysisData read_all(const std::string& run_path, bool skip_unreadable_unsaved) {
    const RunInfo info = read_run(run_path);
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    AnalysisData out;
    // Older files kept their analysis in the run file's segments.
    for (const auto& seg : info.segments) {
        try {
            H5Handle f = h5::open_swmr_read(seg.path);
            if (!f) f = h5::file(H5Fopen(seg.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the file");
            if (H5Lexists(f.get(), "analysis", H5P_DEFAULT) <= 0) continue;
            H5Handle root = h5::open_group(f.get(), "analysis");
            read_analysis_group(root.get(), out);
        } catch (const RunFileError& e) {
            throw RunFileError(seg.path + ": " + e.what());
        }
    }
    std::set<std::string> merged;
    const std::string sidecar = analysis_path(run_path);
    std::error_code ec;
    if (fs::exists(sidecar, ec)) {
        try {
            H5Handle fapl = sidecar_access();
            H5Handle f = h5::file(H5Fopen(sidecar.c_str(), H5F_ACC_RDONLY, fapl.get()), "cannot open the file");
            const std::string id = h5::has_attribute(f.get(), "run_id") ? h5::read_string_attribute(f.get(), "run_id")
                                                                        : info.header.run_id;
            // A sidecar of another run (an earlier run of this name, overwritten) is not read.
            if (id == info.header.run_id && H5Lexists(f.get(), "analysis", H5P_DEFAULT) > 0) {
                H5Handle root = h5::open_group(f.get(), "analysis");
                if (h5::has_attribute(root.get(), kMergedAttribute))
                    for (const auto& name : h5::read_strings_attribute(root.get(), kMergedAttribute))
                        merged.insert(name);
                read_analysis_group(root.get(), out);
            }
        } catch (const RunFileError& e) {
            throw RunFileError(sidecar + ": " + e.what());
        }
    }
    for (const auto& p : unsaved_files(run_path, info.header.run_id)) {
        if (merged.count(p.filename().string())) continue;  // in the sidecar already
        UnsavedFile u;
        try {
            u = read_unsaved(p);
        } catch (const RunFileError&) {
            if (skip_unreadable_unsaved) continue;
            throw;
        }
        if (u.run_id != info.header.run_id) continue;
        for (auto& [table, rows] : u.batch.tables) {
            auto& dst = out.tables[table].rows;
            for (auto& r : rows)
                dst.push_back(std::move(r));
        }
        for (auto& [name, a] : u.batch.arrays)
            out.arrays[name] = std::move(a);
        out.unsaved.push_back({p.string(), u.reason, u.created_utc});
    }
    return out;
}

}  // namespace

AnalysisData read_analysis(const std::string& run_path) {
    return read_all(run_path, false);
}

}  // namespace normout
