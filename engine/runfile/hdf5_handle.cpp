#include "engine/runfile/hdf5_handle.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <limits>
#include <mutex>
#include <new>
#include <sstream>
#include <stdexcept>

namespace normout {

void silence_hdf5_errors() {
    static std::once_flag once;
    std::call_once(once, [] {
        // No library shutdown at exit: after a write failure (a full disk) HDF5 keeps the file
        // it could not close and crashes closing it again at exit. Everything the lab writes is
        // flushed and closed explicitly before.
        H5dont_atexit();
    });
    // Debian builds HDF5 thread-safe: every thread has its own error stack and printing setting.
    thread_local bool silenced = false;
    if (!silenced) {
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
        silenced = true;
    }
}

std::recursive_mutex& hdf5_mutex() {
    static std::recursive_mutex m;
    return m;
}

namespace h5 {

namespace {
// The innermost description on HDF5's error stack (e.g. the system's reason for a failed write).
std::string last_error() {
    std::string detail;
    H5Ewalk2(
        H5E_DEFAULT, H5E_WALK_DOWNWARD,
        [](unsigned, const H5E_error2_t* e, void* data) -> herr_t {
            if (e->desc && *e->desc) *static_cast<std::string*>(data) = e->desc;
            return 0;
        },
        &detail);
    H5Eclear2(H5E_DEFAULT);
    // System errors come as "... errno = 28, error message = 'No space left on device', ...".
    const std::string key = "error message = '";
    if (const auto at = detail.find(key); at != std::string::npos) {
        const auto end = detail.find('\'', at + key.size());
        return detail.substr(at + key.size(), end == std::string::npos ? std::string::npos : end - at - key.size());
    }
    return detail.substr(0, detail.find('\n'));
}

std::string with_detail(const std::string& what) {
    const std::string detail = last_error();
    return detail.empty() ? what : what + " (" + detail + ")";
}
}  // namespace

H5Handle check(hid_t id, H5Handle::Closer closer, const std::string& what) {
    if (id < 0) throw RunFileError(with_detail(what));
    return H5Handle(id, closer);
}

void ok(herr_t status, const std::string& what) {
    if (status < 0) throw RunFileError(with_detail(what));
}

namespace {
H5Handle vlen_string_type() {
    H5Handle t = type(H5Tcopy(H5T_C_S1), "string type");
    ok(H5Tset_size(t.get(), H5T_VARIABLE), "string type");
    ok(H5Tset_cset(t.get(), H5T_CSET_UTF8), "string type");
    return t;
}

H5Handle open_or_create_attribute(hid_t obj, const std::string& name, hid_t type_id, hid_t space_id) {
    if (H5Aexists(obj, name.c_str()) > 0) ok(H5Adelete(obj, name.c_str()), "replacing attribute " + name);
    return attribute(H5Acreate2(obj, name.c_str(), type_id, space_id, H5P_DEFAULT, H5P_DEFAULT),
                     "creating attribute " + name);
}
}  // namespace

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value) {
    H5Handle t = vlen_string_type();
    H5Handle s = space(H5Screate(H5S_SCALAR), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, t.get(), s.get());
    const char* p = value.c_str();
    ok(H5Awrite(a.get(), t.get(), &p), "writing attribute " + name);
}

void write_int_attribute(hid_t obj, const std::string& name, long long value) {
    H5Handle s = space(H5Screate(H5S_SCALAR), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, H5T_STD_I64LE, s.get());
    ok(H5Awrite(a.get(), H5T_NATIVE_LLONG, &value), "writing attribute " + name);
}

void write_floats_attribute(hid_t obj, const std::string& name, const std::vector<float>& values) {
    const hsize_t n = values.size();
    H5Handle s = space(H5Screate_simple(1, &n, nullptr), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, H5T_IEEE_F32LE, s.get());
    if (!values.empty()) ok(H5Awrite(a.get(), H5T_NATIVE_FLOAT, values.data()), "writing attribute " + name);
}

void write_strings_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values) {
    H5Handle t = vlen_string_type();
    const hsize_t n = values.size();
    H5Handle s = space(H5Screate_simple(1, &n, nullptr), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, t.get(), s.get());
    std::vector<const char*> ptrs;
    for (const auto& v : values)
        ptrs.push_back(v.c_str());
    if (!ptrs.empty()) ok(H5Awrite(a.get(), t.get(), ptrs.data()), "writing attribute " + name);
}

bool has_attribute(hid_t obj, const std::string& name) {
    return H5Aexists(obj, name.c_str()) > 0;
}

// ---------------------------------------------------------------- checked reading

namespace {

hsize_t saturating_mul(hsize_t a, hsize_t b) {
    if (a != 0 && b > std::numeric_limits<hsize_t>::max() / a) return std::numeric_limits<hsize_t>::max();
    return a * b;
}

// Storage for `n` elements, or a RunFileError naming the object when there is no memory for it.
template <class T>
std::vector<T> allocate(hsize_t n, const std::string& label) {
    try {
        if (n > std::numeric_limits<std::size_t>::max() / sizeof(T)) throw std::bad_alloc();
        return std::vector<T>(static_cast<std::size_t>(n));
    } catch (const std::bad_alloc&) {
        throw RunFileError(label + ": not enough memory for its " + std::to_string(n) + " elements");
    } catch (const std::length_error&) {
        throw RunFileError(label + ": not enough memory for its " + std::to_string(n) + " elements");
    }
}

Stored describe_storage(hid_t type_id, hid_t space_id) {
    Stored s;
    s.type_class = H5Tget_class(type_id);
    s.variable_string = s.type_class == H5T_STRING && H5Tis_variable_str(type_id) > 0;
    s.type_size = H5Tget_size(type_id);
    const H5S_class_t space_class = H5Sget_simple_extent_type(space_id);
    s.null_space = space_class == H5S_NULL;
    if (space_class == H5S_SIMPLE) {
        const int rank = H5Sget_simple_extent_ndims(space_id);
        if (rank > 0) {
            s.dims.assign(static_cast<std::size_t>(rank), 0);
            H5Sget_simple_extent_dims(space_id, s.dims.data(), nullptr);
        }
    }
    if (s.null_space) {
        s.elements = 0;
    } else {
        s.elements = 1;
        for (hsize_t d : s.dims)
            s.elements = saturating_mul(s.elements, d);
    }
    return s;
}

std::string type_noun(const Stored& s, bool plural) {
    const char* pl = plural ? "s" : "";
    switch (s.type_class) {
        case H5T_INTEGER:
            return std::string("integer") + pl;
        case H5T_FLOAT:
            return std::string("float") + pl;
        case H5T_STRING:
            return s.variable_string
                       ? std::string("variable-length string") + pl
                       : std::string("fixed-length string") + pl + " of " + std::to_string(s.type_size) + " bytes";
        case H5T_COMPOUND:
            return std::string("compound value") + pl;
        case H5T_ENUM:
            return std::string("enum value") + pl + " (e.g. booleans)";
        case H5T_BITFIELD:
            return std::string("bitfield") + pl;
        case H5T_OPAQUE:
            return std::string("opaque value") + pl;
        case H5T_REFERENCE:
            return std::string("reference") + pl;
        case H5T_VLEN:
            return std::string("variable-length sequence") + pl;
        case H5T_ARRAY:
            return std::string("array-typed value") + pl;
        case H5T_TIME:
            return std::string("time value") + pl;
        default:
            return std::string("value") + pl + " of an unknown type";
    }
}

H5Handle open_attribute(hid_t obj, const std::string& name, const std::string& label) {
    if (H5Aexists(obj, name.c_str()) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw RunFileError(label + ": missing");
    }
    return attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), label + ": cannot open");
}

// A single value: a scalar or a 1-D array of one element.
bool single(const Stored& s) {
    return !s.null_space && s.elements == 1 && s.dims.size() <= 1;
}

// A list: a scalar or a 1-D array.
bool list(const Stored& s) {
    return !s.null_space && s.dims.size() <= 1;
}

void check_list_size(const Stored& s, hid_t obj, hsize_t max_elements, const std::string& label) {
    if (s.elements > max_elements)
        throw RunFileError(label + ": " + std::to_string(s.elements) + " elements, more than the limit of " +
                           std::to_string(max_elements));
    const hsize_t bytes = saturating_mul(s.elements, std::max<hsize_t>(s.type_size, 1));
    const hsize_t file_bytes = file_size_of(obj);
    if (bytes > file_bytes)
        throw RunFileError(label + ": declares " + std::to_string(s.elements) + " elements (" + std::to_string(bytes) +
                           " bytes), more than the file's " + std::to_string(file_bytes) + " bytes can hold");
}

void check_string_length(std::size_t length, std::size_t max_bytes, const std::string& label) {
    if (length > max_bytes)
        throw RunFileError(label + ": a string of " + std::to_string(length) + " bytes, more than the limit of " +
                           std::to_string(max_bytes));
}

// A memory type for variable-length strings of the file type's character set.
H5Handle vlen_string_type_like(hid_t file_type) {
    H5Handle t = type(H5Tcopy(H5T_C_S1), "string type");
    ok(H5Tset_size(t.get(), H5T_VARIABLE), "string type");
    const H5T_cset_t cset = H5Tget_cset(file_type);
    ok(H5Tset_cset(t.get(), cset == H5T_CSET_ERROR ? H5T_CSET_UTF8 : cset), "string type");
    return t;
}

// Reads all elements of a string attribute or dataset (`read` does the H5Aread/H5Dread).
template <class Read>
std::vector<std::string> read_strings(hid_t file_type, const Stored& s, std::size_t max_bytes, const std::string& label,
                                      Read read) {
    std::vector<std::string> out;
    if (s.elements == 0) return out;
    if (s.variable_string) {
        H5Handle t = vlen_string_type_like(file_type);
        std::vector<char*> ptrs = allocate<char*>(s.elements, label);
        ok(read(t.get(), ptrs.data()), label + ": cannot read");
        std::string error;
        for (char* p : ptrs) {
            if (error.empty()) {
                const std::size_t n = p ? std::strlen(p) : 0;
                if (n > max_bytes)
                    error = label + ": a string of " + std::to_string(n) + " bytes, more than the limit of " +
                            std::to_string(max_bytes);
                else
                    out.emplace_back(p ? p : "", n);
            }
            H5free_memory(p);
        }
        if (!error.empty()) throw RunFileError(error);
        return out;
    }
    check_string_length(s.type_size, max_bytes, label);
    H5Handle t = type(H5Tcopy(file_type), label + ": string type");
    std::vector<char> buf = allocate<char>(saturating_mul(s.elements, s.type_size), label);
    ok(read(t.get(), buf.data()), label + ": cannot read");
    for (hsize_t i = 0; i < s.elements; ++i) {
        const char* p = buf.data() + i * s.type_size;
        out.emplace_back(p, strnlen(p, s.type_size));
    }
    return out;
}

template <class T>
std::vector<T> read_attribute_values(hid_t a, hid_t mem_type, const Stored& s, const std::string& label) {
    std::vector<T> v = allocate<T>(s.elements, label);
    if (!v.empty()) ok(H5Aread(a, mem_type, v.data()), label + ": cannot read");
    return v;
}

}  // namespace

std::string Stored::describe() const {
    if (null_space) return "an empty (null) value of type " + type_noun(*this, false);
    if (dims.empty()) return "a scalar " + type_noun(*this, false);
    if (dims.size() == 1) return "a 1-D array of " + std::to_string(elements) + " " + type_noun(*this, elements != 1);
    std::string shape;
    for (hsize_t d : dims)
        shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    return "a " + std::to_string(dims.size()) + "-D array (" + shape + ", " + std::to_string(elements) +
           " elements) of " + type_noun(*this, true);
}

Stored stored_attribute(hid_t a) {
    H5Handle t = type(H5Aget_type(a), "attribute type");
    H5Handle s = space(H5Aget_space(a), "attribute space");
    return describe_storage(t.get(), s.get());
}

Stored stored_dataset(hid_t d) {
    H5Handle t = type(H5Dget_type(d), "dataset type");
    H5Handle s = space(H5Dget_space(d), "dataset space");
    return describe_storage(t.get(), s.get());
}

RunFileError mismatch(const std::string& label, const std::string& expected, const Stored& s) {
    return RunFileError(label + ": expected " + expected + ", found " + s.describe());
}

hsize_t file_size_of(hid_t obj) {
    hsize_t size = 0;
    // The size on disk now (a live file grows while it is read) ...
    const ssize_t n = H5Fget_name(obj, nullptr, 0);
    if (n > 0) {
        std::string name(static_cast<std::size_t>(n) + 1, '\0');
        if (H5Fget_name(obj, name.data(), name.size()) > 0) {
            name.resize(static_cast<std::size_t>(n));
            std::error_code ec;
            const auto bytes = std::filesystem::file_size(name, ec);
            if (!ec) size = static_cast<hsize_t>(bytes);
        }
    }
    // ... or as HDF5 saw it when opening.
    const hid_t file_id = H5Iget_file_id(obj);
    if (file_id >= 0) {
        hsize_t seen = 0;
        if (H5Fget_filesize(file_id, &seen) >= 0) size = std::max(size, seen);
        H5Fclose(file_id);
    }
    H5Eclear2(H5E_DEFAULT);
    return size;
}

void check_dataset_storage(hid_t d, const Stored& s, const std::string& label) {
    H5Handle dcpl = plist(H5Dget_create_plist(d), label + ": creation properties");
    if (H5Pget_layout(dcpl.get()) == H5D_VIRTUAL)
        throw RunFileError(label + ": a virtual dataset (its data lies in other files), not part of a run file");
    if (H5Pget_external_count(dcpl.get()) > 0)
        throw RunFileError(label + ": its data lies in external files, not part of a run file");
    const hsize_t bytes = saturating_mul(s.elements, std::max<hsize_t>(s.type_size, 1));
    const hsize_t file_bytes = file_size_of(d);
    if (H5Pget_nfilters(dcpl.get()) > 0) {
        if (s.elements > kMaxFilteredElements || bytes / kMaxCompressionRatio > file_bytes)
            throw RunFileError(label + ": declares " + std::to_string(s.elements) + " compressed elements (" +
                               std::to_string(bytes) + " bytes), more than the file's " + std::to_string(file_bytes) +
                               " bytes can hold");
    } else if (bytes > file_bytes) {
        throw RunFileError(label + ": declares " + std::to_string(s.elements) + " elements (" + std::to_string(bytes) +
                           " bytes), more than the file's " + std::to_string(file_bytes) + " bytes can hold");
    }
}

std::string object_path(hid_t obj) {
    const ssize_t n = H5Iget_name(obj, nullptr, 0);
    if (n <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return "?";
    }
    std::string name(static_cast<std::size_t>(n) + 1, '\0');
    H5Iget_name(obj, name.data(), name.size());
    name.resize(static_cast<std::size_t>(n));
    return name;
}

namespace {
std::string join_path(hid_t parent, const std::string& name) {
    const std::string p = object_path(parent);
    return p.empty() || p.back() == '/' ? p + name : p + "/" + name;
}
}  // namespace

std::string attribute_label(hid_t obj, const std::string& name) {
    return "attribute '" + name + "' of " + object_path(obj);
}

std::string dataset_label(hid_t parent, const std::string& name) {
    return "dataset " + join_path(parent, name);
}

std::string group_label(hid_t parent, const std::string& name) {
    return "group " + join_path(parent, name);
}

namespace {
// Opens a group or dataset by name, checking that it exists and is of the kind asked for (the
// handle closes with H5Oclose, which closes either).
H5Handle open_object(hid_t parent, const std::string& name, H5I_type_t kind, const std::string& label) {
    // Each group on the way first: H5Lexists fails (rather than saying no) when one is missing.
    for (std::size_t slash = name.find('/'); slash != std::string::npos; slash = name.find('/', slash + 1)) {
        const std::string step = name.substr(0, slash);
        if (step.empty()) continue;
        if (H5Lexists(parent, step.c_str(), H5P_DEFAULT) <= 0) {
            H5Eclear2(H5E_DEFAULT);
            throw RunFileError(label + ": missing (no " + join_path(parent, step) + ")");
        }
        H5Handle o(H5Oopen(parent, step.c_str(), H5P_DEFAULT), H5Oclose);
        if (!o || H5Iget_type(o.get()) != H5I_GROUP)
            throw RunFileError(with_detail(label + ": expected a group at " + join_path(parent, step) +
                                           ", found another kind of object"));
    }
    if (H5Lexists(parent, name.c_str(), H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        throw RunFileError(label + ": missing");
    }
    H5Handle o(H5Oopen(parent, name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!o) throw RunFileError(with_detail(label + ": cannot open"));
    const H5I_type_t found = H5Iget_type(o.get());
    if (found != kind) {
        const char* what = found == H5I_GROUP      ? "a group"
                           : found == H5I_DATASET  ? "a dataset"
                           : found == H5I_DATATYPE ? "a named datatype"
                                                   : "another kind of object";
        throw RunFileError(label + ": expected " + (kind == H5I_GROUP ? "a group" : "a dataset") + ", found " + what);
    }
    return o;
}
}  // namespace

H5Handle open_swmr_read(const std::string& path) {
    H5Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
    if (!fapl || H5Pset_metadata_read_attempts(fapl.get(), 28) < 0) return H5Handle(H5I_INVALID_HID, H5Fclose);
    return H5Handle(H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl.get()), H5Fclose);
}

H5Handle open_group(hid_t parent, const std::string& name) {
    return open_object(parent, name, H5I_GROUP, group_label(parent, name));
}

H5Handle open_dataset(hid_t parent, const std::string& name) {
    return open_object(parent, name, H5I_DATASET, dataset_label(parent, name));
}

std::vector<std::string> child_names(hid_t group) {
    H5G_info_t gi;
    ok(H5Gget_info(group, &gi), "listing " + object_path(group));
    std::vector<std::string> names;
    for (hsize_t i = 0; i < gi.nlinks; ++i) {
        const ssize_t n = H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (n < 0) throw RunFileError(with_detail("cannot list " + object_path(group)));
        std::string name(static_cast<std::size_t>(n) + 1, '\0');
        if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
            throw RunFileError(with_detail("cannot list " + object_path(group)));
        name.resize(static_cast<std::size_t>(n));
        names.push_back(std::move(name));
    }
    return names;
}

std::vector<std::string> attribute_names(hid_t obj) {
    H5O_info_t info;
    ok(H5Oget_info(obj, &info), "listing the attributes of " + object_path(obj));
    std::vector<std::string> names;
    for (hsize_t i = 0; i < info.num_attrs; ++i) {
        const ssize_t n = H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
        if (n < 0) throw RunFileError(with_detail("cannot list the attributes of " + object_path(obj)));
        std::string name(static_cast<std::size_t>(n) + 1, '\0');
        if (H5Aget_name_by_idx(obj, ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT) < 0)
            throw RunFileError(with_detail("cannot list the attributes of " + object_path(obj)));
        name.resize(static_cast<std::size_t>(n));
        names.push_back(std::move(name));
    }
    return names;
}

std::string read_string_attribute(hid_t obj, const std::string& name, std::size_t max_bytes) {
    const std::string label = attribute_label(obj, name);
    H5Handle a = open_attribute(obj, name, label);
    const Stored s = stored_attribute(a.get());
    if (s.type_class != H5T_STRING || !single(s)) throw mismatch(label, "a scalar string", s);
    if (!s.variable_string) check_string_length(s.type_size, max_bytes, label);
    H5Handle ft = type(H5Aget_type(a.get()), label + ": type");
    const auto v =
        read_strings(ft.get(), s, max_bytes, label, [&](hid_t mem, void* buf) { return H5Aread(a.get(), mem, buf); });
    return v.empty() ? std::string() : v.front();
}

long long read_int_attribute(hid_t obj, const std::string& name, long long min, long long max) {
    const std::string label = attribute_label(obj, name);
    H5Handle a = open_attribute(obj, name, label);
    const Stored s = stored_attribute(a.get());
    if (s.type_class != H5T_INTEGER || !single(s)) throw mismatch(label, "a scalar integer", s);
    long long v = 0;
    ok(H5Aread(a.get(), H5T_NATIVE_LLONG, &v), label + ": cannot read");
    if (v < min || v > max)
        throw RunFileError(label + ": " + std::to_string(v) + " is out of range [" + std::to_string(min) + ", " +
                           std::to_string(max) + "]");
    return v;
}

long long whole_number(double v, long long min, long long max, const std::string& what) {
    if (!std::isfinite(v) || v != std::trunc(v) || v < static_cast<double>(min) || v > static_cast<double>(max)) {
        std::ostringstream os;
        os << what << ": " << v << " is not a whole number in [" << min << ", " << max << "]";
        throw RunFileError(os.str());
    }
    return static_cast<long long>(v);
}

std::vector<float> read_floats_attribute(hid_t obj, const std::string& name, hsize_t max_elements) {
    const std::string label = attribute_label(obj, name);
    H5Handle a = open_attribute(obj, name, label);
    const Stored s = stored_attribute(a.get());
    if (!s.numeric() || !list(s)) throw mismatch(label, "a 1-D array of numbers", s);
    check_list_size(s, a.get(), max_elements, label);
    return read_attribute_values<float>(a.get(), H5T_NATIVE_FLOAT, s, label);
}

std::vector<std::string> read_strings_attribute(hid_t obj, const std::string& name, hsize_t max_elements,
                                                std::size_t max_bytes) {
    const std::string label = attribute_label(obj, name);
    H5Handle a = open_attribute(obj, name, label);
    const Stored s = stored_attribute(a.get());
    if (s.type_class != H5T_STRING || !list(s)) throw mismatch(label, "a 1-D array of strings", s);
    check_list_size(s, a.get(), max_elements, label);
    if (!s.variable_string) check_string_length(s.type_size, max_bytes, label);
    H5Handle ft = type(H5Aget_type(a.get()), label + ": type");
    return read_strings(ft.get(), s, max_bytes, label,
                        [&](hid_t mem, void* buf) { return H5Aread(a.get(), mem, buf); });
}

void create_fixed_string(hid_t parent, const std::string& name, std::size_t size, const std::string& value) {
    H5Handle t = type(H5Tcopy(H5T_C_S1), "string type");
    ok(H5Tset_size(t.get(), size), "string type");
    ok(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "string type");
    H5Handle s = space(H5Screate(H5S_SCALAR), "dataspace");
    H5Handle d = dataset(H5Dcreate2(parent, name.c_str(), t.get(), s.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                         "creating dataset " + name);
    std::string buf(size, '\0');
    std::copy_n(value.begin(), std::min(size, value.size()), buf.begin());
    ok(H5Dwrite(d.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "writing " + name);
}

void write_fixed_string(hid_t parent, const std::string& name, const std::string& value) {
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name);
    H5Handle t = type(H5Dget_type(d.get()), "dataset type");
    const std::size_t size = H5Tget_size(t.get());
    std::string buf(size, '\0');
    std::copy_n(value.begin(), std::min(size, value.size()), buf.begin());
    ok(H5Dwrite(d.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "writing " + name);
}

std::string read_fixed_string(hid_t parent, const std::string& name, std::size_t max_bytes) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (s.type_class != H5T_STRING || s.variable_string || !single(s))
        throw mismatch(label, "a scalar fixed-length string", s);
    check_string_length(s.type_size, max_bytes, label);
    check_dataset_storage(d.get(), s, label);
    H5Handle ft = type(H5Dget_type(d.get()), label + ": type");
    const auto v = read_strings(ft.get(), s, max_bytes, label, [&](hid_t mem, void* buf) {
        return H5Dread(d.get(), mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf);
    });
    return v.empty() ? std::string() : v.front();
}

void create_series(hid_t parent, const std::string& name, hsize_t chunk) {
    const hsize_t zero = 0, unlimited = H5S_UNLIMITED;
    H5Handle s = space(H5Screate_simple(1, &zero, &unlimited), "dataspace");
    H5Handle p = plist(H5Pcreate(H5P_DATASET_CREATE), "property list");
    ok(H5Pset_chunk(p.get(), 1, &chunk), "chunking");
    const double fill = std::numeric_limits<double>::quiet_NaN();
    ok(H5Pset_fill_value(p.get(), H5T_NATIVE_DOUBLE, &fill), "fill value");
    dataset(H5Dcreate2(parent, name.c_str(), H5T_IEEE_F64LE, s.get(), H5P_DEFAULT, p.get(), H5P_DEFAULT),
            "creating series " + name);
}

void append_series(hid_t parent, const std::string& name, const std::vector<double>& values) {
    if (values.empty()) return;
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening series " + name);
    H5Handle s = space(H5Dget_space(d.get()), "series space");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s.get(), &n, nullptr);
    const hsize_t k = values.size(), total = n + k;
    ok(H5Dset_extent(d.get(), &total), "extending series " + name);
    H5Handle fs = space(H5Dget_space(d.get()), "series space");
    ok(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &n, nullptr, &k, nullptr), "selecting rows");
    H5Handle ms = space(H5Screate_simple(1, &k, nullptr), "memory space");
    ok(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, ms.get(), fs.get(), H5P_DEFAULT, values.data()),
       "appending to series " + name);
}

hsize_t series_length(hid_t parent, const std::string& name) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (s.null_space || s.dims.size() != 1) throw mismatch(label, "a 1-D series", s);
    return s.dims[0];
}

void create_table(hid_t parent, const std::string& name, const std::vector<hsize_t>& row_shape, bool single,
                  hsize_t chunk_rows) {
    std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED}, chunk{chunk_rows};
    for (hsize_t d : row_shape) {
        dims.push_back(d);
        maxdims.push_back(d);
        chunk.push_back(std::max<hsize_t>(d, 1));
    }
    H5Handle s = space(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), maxdims.data()), "dataspace");
    H5Handle p = plist(H5Pcreate(H5P_DATASET_CREATE), "property list");
    ok(H5Pset_chunk(p.get(), static_cast<int>(chunk.size()), chunk.data()), "chunking");
    dataset(H5Dcreate2(parent, name.c_str(), single ? H5T_IEEE_F32LE : H5T_IEEE_F64LE, s.get(), H5P_DEFAULT, p.get(),
                       H5P_DEFAULT),
            "creating table " + name);
}

void append_table(hid_t parent, const std::string& name, const std::vector<double>& values, hsize_t rows) {
    if (rows == 0) return;
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening table " + name);
    H5Handle s = space(H5Dget_space(d.get()), "table space");
    const int rank = H5Sget_simple_extent_ndims(s.get());
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    H5Sget_simple_extent_dims(s.get(), dims.data(), nullptr);
    hsize_t row = 1;
    for (int i = 1; i < rank; ++i)
        row *= dims[static_cast<std::size_t>(i)];
    if (values.size() != rows * row) throw RunFileError("table " + name + ": row size mismatch");
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = dims[0];
    count[0] = rows;
    std::vector<hsize_t> total = dims;
    total[0] += rows;
    ok(H5Dset_extent(d.get(), total.data()), "extending table " + name);
    H5Handle fs = space(H5Dget_space(d.get()), "table space");
    ok(H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr), "selecting rows");
    H5Handle ms = space(H5Screate_simple(rank, count.data(), nullptr), "memory space");
    ok(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, ms.get(), fs.get(), H5P_DEFAULT, values.data()),
       "appending to table " + name);
}

namespace {
// All elements of a numeric dataset as doubles, after the checks.
std::vector<double> read_doubles(hid_t d, const Stored& s, const std::string& label) {
    check_dataset_storage(d, s, label);
    std::vector<double> v = allocate<double>(s.elements, label);
    if (!v.empty()) ok(H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), label + ": cannot read");
    return v;
}

std::string table_shape(const std::vector<hsize_t>& row_shape) {
    std::string shape = "rows";
    for (hsize_t d : row_shape)
        shape += ", " + std::to_string(d);
    return "(" + shape + ")";
}
}  // namespace

std::vector<double> read_table(hid_t parent, const std::string& name, std::vector<hsize_t>& shape) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (!s.numeric() || s.null_space || s.dims.empty()) throw mismatch(label, "a table of numbers", s);
    std::vector<double> v = read_doubles(d.get(), s, label);
    shape = s.dims;
    return v;
}

std::vector<double> read_table(hid_t parent, const std::string& name, const std::vector<hsize_t>& row_shape,
                               hsize_t& rows) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    const bool shaped = !s.null_space && s.dims.size() == row_shape.size() + 1 &&
                        std::equal(row_shape.begin(), row_shape.end(), s.dims.begin() + 1);
    if (!s.numeric() || !shaped)
        throw mismatch(
            label,
            "a " + std::to_string(row_shape.size() + 1) + "-D table of numbers of shape " + table_shape(row_shape), s);
    std::vector<double> v = read_doubles(d.get(), s, label);
    rows = s.dims[0];
    return v;
}

std::vector<double> read_numbers(hid_t parent, const std::string& name, std::vector<hsize_t>& shape) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (!s.numeric() || s.null_space) throw mismatch(label, "an array of numbers", s);
    std::vector<double> v = read_doubles(d.get(), s, label);
    shape = s.dims;
    return v;
}

void write_ints_attribute(hid_t obj, const std::string& name, const std::vector<long long>& values) {
    const hsize_t n = values.size();
    H5Handle s = space(H5Screate_simple(1, &n, nullptr), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, H5T_STD_I64LE, s.get());
    if (!values.empty()) ok(H5Awrite(a.get(), H5T_NATIVE_LLONG, values.data()), "writing attribute " + name);
}

std::vector<long long> read_ints_attribute(hid_t obj, const std::string& name, hsize_t max_elements) {
    const std::string label = attribute_label(obj, name);
    H5Handle a = open_attribute(obj, name, label);
    const Stored s = stored_attribute(a.get());
    if (s.type_class != H5T_INTEGER || !list(s)) throw mismatch(label, "a 1-D array of integers", s);
    check_list_size(s, a.get(), max_elements, label);
    return read_attribute_values<long long>(a.get(), H5T_NATIVE_LLONG, s, label);
}

void create_int_scalar(hid_t parent, const std::string& name, long long value) {
    H5Handle s = space(H5Screate(H5S_SCALAR), "dataspace");
    H5Handle d =
        dataset(H5Dcreate2(parent, name.c_str(), H5T_STD_I64LE, s.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "creating dataset " + name);
    ok(H5Dwrite(d.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "writing " + name);
}

void write_int_scalar(hid_t parent, const std::string& name, long long value) {
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "opening dataset " + name);
    ok(H5Dwrite(d.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &value), "writing " + name);
}

long long read_int_scalar(hid_t parent, const std::string& name) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (s.type_class != H5T_INTEGER || !single(s)) throw mismatch(label, "a scalar integer", s);
    check_dataset_storage(d.get(), s, label);
    long long v = 0;
    ok(H5Dread(d.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), label + ": cannot read");
    return v;
}

std::vector<double> read_series(hid_t parent, const std::string& name) {
    const std::string label = dataset_label(parent, name);
    H5Handle d = open_dataset(parent, name);
    const Stored s = stored_dataset(d.get());
    if (!s.numeric() || s.null_space || s.dims.size() != 1) throw mismatch(label, "a 1-D series of numbers", s);
    return read_doubles(d.get(), s, label);
}

}  // namespace h5
}  // namespace normout
