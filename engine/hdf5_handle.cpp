#include "engine/hdf5_handle.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <mutex>

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

std::string read_string_attribute(hid_t obj, const std::string& name) {
    H5Handle a = attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute '" + name + "'");
    H5Handle ft = type(H5Aget_type(a.get()), "attribute type");
    if (H5Tget_class(ft.get()) != H5T_STRING) throw RunFileError("attribute '" + name + "' is not a string");
    if (H5Tis_variable_str(ft.get()) > 0) {
        H5Handle t = vlen_string_type();
        char* p = nullptr;
        ok(H5Aread(a.get(), t.get(), &p), "reading attribute " + name);
        std::string v = p ? p : "";
        H5free_memory(p);
        return v;
    }
    const std::size_t size = H5Tget_size(ft.get());
    std::string v(size, '\0');
    ok(H5Aread(a.get(), ft.get(), v.data()), "reading attribute " + name);
    v.resize(std::strlen(v.c_str()));
    return v;
}

long long read_int_attribute(hid_t obj, const std::string& name) {
    H5Handle a = attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute '" + name + "'");
    long long v = 0;
    ok(H5Aread(a.get(), H5T_NATIVE_LLONG, &v), "reading attribute " + name);
    return v;
}

std::vector<float> read_floats_attribute(hid_t obj, const std::string& name) {
    H5Handle a = attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute '" + name + "'");
    H5Handle s = space(H5Aget_space(a.get()), "attribute space");
    const hssize_t n = H5Sget_simple_extent_npoints(s.get());
    std::vector<float> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
    if (!v.empty()) ok(H5Aread(a.get(), H5T_NATIVE_FLOAT, v.data()), "reading attribute " + name);
    return v;
}

std::vector<std::string> read_strings_attribute(hid_t obj, const std::string& name) {
    H5Handle a = attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute '" + name + "'");
    H5Handle s = space(H5Aget_space(a.get()), "attribute space");
    const hssize_t n = H5Sget_simple_extent_npoints(s.get());
    std::vector<char*> ptrs(static_cast<std::size_t>(std::max<hssize_t>(n, 0)), nullptr);
    H5Handle t = vlen_string_type();
    if (!ptrs.empty()) ok(H5Aread(a.get(), t.get(), ptrs.data()), "reading attribute " + name);
    std::vector<std::string> out;
    for (char* p : ptrs) {
        out.emplace_back(p ? p : "");
        H5free_memory(p);
    }
    return out;
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

std::string read_fixed_string(hid_t parent, const std::string& name) {
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing dataset '" + name + "'");
    H5Handle t = type(H5Dget_type(d.get()), "dataset type");
    if (H5Tget_class(t.get()) != H5T_STRING || H5Tis_variable_str(t.get()) > 0)
        throw RunFileError("dataset '" + name + "' is not a fixed-size string");
    std::string buf(H5Tget_size(t.get()), '\0');
    ok(H5Dread(d.get(), t.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "reading " + name);
    buf.resize(std::strlen(buf.c_str()));
    return buf;
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
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing series '" + name + "'");
    H5Handle s = space(H5Dget_space(d.get()), "series space");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s.get(), &n, nullptr);
    return n;
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

std::vector<double> read_table(hid_t parent, const std::string& name, std::vector<hsize_t>& shape) {
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing table '" + name + "'");
    H5Handle s = space(H5Dget_space(d.get()), "table space");
    const int rank = H5Sget_simple_extent_ndims(s.get());
    if (rank < 1) throw RunFileError("table '" + name + "' has no rows dimension");
    shape.assign(static_cast<std::size_t>(rank), 0);
    H5Sget_simple_extent_dims(s.get(), shape.data(), nullptr);
    std::size_t n = 1;
    for (hsize_t x : shape)
        n *= x;
    std::vector<double> v(n);
    if (n) ok(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "reading " + name);
    return v;
}

void write_ints_attribute(hid_t obj, const std::string& name, const std::vector<long long>& values) {
    const hsize_t n = values.size();
    H5Handle s = space(H5Screate_simple(1, &n, nullptr), "dataspace");
    H5Handle a = open_or_create_attribute(obj, name, H5T_STD_I64LE, s.get());
    if (!values.empty()) ok(H5Awrite(a.get(), H5T_NATIVE_LLONG, values.data()), "writing attribute " + name);
}

std::vector<long long> read_ints_attribute(hid_t obj, const std::string& name) {
    H5Handle a = attribute(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "missing attribute '" + name + "'");
    H5Handle s = space(H5Aget_space(a.get()), "attribute space");
    const hssize_t n = H5Sget_simple_extent_npoints(s.get());
    std::vector<long long> v(static_cast<std::size_t>(std::max<hssize_t>(n, 0)));
    if (!v.empty()) ok(H5Aread(a.get(), H5T_NATIVE_LLONG, v.data()), "reading attribute " + name);
    return v;
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
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing dataset '" + name + "'");
    long long v = 0;
    ok(H5Dread(d.get(), H5T_NATIVE_LLONG, H5S_ALL, H5S_ALL, H5P_DEFAULT, &v), "reading " + name);
    return v;
}

std::vector<double> read_series(hid_t parent, const std::string& name) {
    H5Handle d = dataset(H5Dopen2(parent, name.c_str(), H5P_DEFAULT), "missing series '" + name + "'");
    H5Handle s = space(H5Dget_space(d.get()), "series space");
    if (H5Sget_simple_extent_ndims(s.get()) != 1) throw RunFileError("series '" + name + "' is not 1-D");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s.get(), &n, nullptr);
    std::vector<double> v(n);
    if (n) ok(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), "reading " + name);
    return v;
}

}  // namespace h5
}  // namespace normout
