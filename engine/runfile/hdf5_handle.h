#pragma once
// RAII for HDF5 identifiers and small helpers for attributes and 1-D series. HDF5's own error
// printing is silenced; failures throw RunFileError with the file name.
#include <hdf5.h>

#include <algorithm>
#include <cstdint>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace normout {

class RunFileError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

class H5Handle {
  public:
    using Closer = herr_t (*)(hid_t);
    H5Handle() = default;
    H5Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
    ~H5Handle() { reset(); }
    H5Handle(H5Handle&& o) noexcept : id_(std::exchange(o.id_, H5I_INVALID_HID)), closer_(o.closer_) {}
    H5Handle& operator=(H5Handle&& o) noexcept {
        if (this != &o) {
            reset();
            id_ = std::exchange(o.id_, H5I_INVALID_HID);
            closer_ = o.closer_;
        }
        return *this;
    }
    H5Handle(const H5Handle&) = delete;
    H5Handle& operator=(const H5Handle&) = delete;

    hid_t get() const { return id_; }
    explicit operator bool() const { return id_ >= 0; }
    void reset() {
        if (id_ >= 0 && closer_) closer_(id_);
        id_ = H5I_INVALID_HID;
    }

  private:
    hid_t id_ = H5I_INVALID_HID;
    Closer closer_ = nullptr;
};

// Turns off HDF5's automatic error-stack printing for the calling thread, and the library's
// shutdown at exit (call before any other HDF5 function of a thread).
void silence_hdf5_errors();

// Debian's HDF5 is not built thread-safe: every HDF5 call of the process holds this lock.
std::recursive_mutex& hdf5_mutex();

namespace h5 {
H5Handle check(hid_t id, H5Handle::Closer closer, const std::string& what);
inline H5Handle file(hid_t id, const std::string& what) {
    return check(id, H5Fclose, what);
}
inline H5Handle group(hid_t id, const std::string& what) {
    return check(id, H5Gclose, what);
}
inline H5Handle dataset(hid_t id, const std::string& what) {
    return check(id, H5Dclose, what);
}
inline H5Handle space(hid_t id, const std::string& what) {
    return check(id, H5Sclose, what);
}
inline H5Handle attribute(hid_t id, const std::string& what) {
    return check(id, H5Aclose, what);
}
inline H5Handle plist(hid_t id, const std::string& what) {
    return check(id, H5Pclose, what);
}
inline H5Handle type(hid_t id, const std::string& what) {
    return check(id, H5Tclose, what);
}
void ok(herr_t status, const std::string& what);

// Bounds on what the readers accept. Run files travel between people: a file that lies about
// what it holds gets a RunFileError naming the object, never an allocation or a read of what it
// claims.
constexpr std::size_t kMaxStringBytes = std::size_t{1} << 20;        // one string attribute (names, paths, ...)
constexpr std::size_t kMaxConfigBytes = std::size_t{16} << 20;       // the configuration (JSON)
constexpr std::size_t kMaxFixedStringBytes = std::size_t{64} << 10;  // one element of a fixed-length string
constexpr hsize_t kMaxListElements = hsize_t{1} << 20;               // list attributes (class names, layers, ...)
// A dataset stored without compression cannot hold more bytes than its file has (regions never
// written read as the fill value, so a declared size proves nothing). A compressed one is bounded
// by deflate's best ratio and by a number of elements.
constexpr hsize_t kMaxCompressionRatio = 1032;
constexpr hsize_t kMaxFilteredElements = hsize_t{1} << 31;

// Names of objects for messages: "attribute 'channels' of /data", "dataset /metrics/step/loss",
// "group /metrics/epoch".
std::string object_path(hid_t obj);
std::string attribute_label(hid_t obj, const std::string& name);
std::string dataset_label(hid_t parent, const std::string& name);
std::string group_label(hid_t parent, const std::string& name);

// What an attribute or dataset holds, read from its type and dataspace before any data.
struct Stored {
    H5T_class_t type_class = H5T_NO_CLASS;
    bool variable_string = false;
    std::size_t type_size = 0;  // bytes of one element in the file
    bool null_space = false;    // H5S_NULL: no elements at all
    std::vector<hsize_t> dims;  // empty for a scalar
    hsize_t elements = 0;       // saturates at the largest hsize_t
    bool numeric() const { return type_class == H5T_INTEGER || type_class == H5T_FLOAT; }
    // E.g. "a scalar integer", "a 1-D array of 4000 fixed-length strings of 32 bytes".
    std::string describe() const;
};
Stored stored_attribute(hid_t attribute);
Stored stored_dataset(hid_t dataset);
// "LABEL: expected WHAT, found <s.describe()>".
RunFileError mismatch(const std::string& label, const std::string& expected, const Stored& s);
// Throws unless the dataset's declared contents can be in its file: no external or virtual
// storage, and no more bytes than the file has (compressed: see kMaxCompressionRatio).
void check_dataset_storage(hid_t dataset, const Stored& s, const std::string& label);
// The size of the file holding an object, in bytes.
hsize_t file_size_of(hid_t obj);

// Opening with messages that name the object: "group /data: missing", "group /data: expected a
// group, found a dataset".
// Opens a file for SWMR reading (live files, files of killed writers and closed ones alike).
// A metadata read that fails its checksum is retried (a live writer may be mid-write), sleeping
// 1, 2, 4, ... ns in between; HDF5's default of 100 attempts would keep a reader of a damaged
// file waiting for ages, so this allows 28 (at most about 0.27 s of waiting). Invalid on failure.
H5Handle open_swmr_read(const std::string& path);

H5Handle open_group(hid_t parent, const std::string& name);
H5Handle open_dataset(hid_t parent, const std::string& name);
// Names of a group's links and of an object's attributes, whatever their length.
std::vector<std::string> child_names(hid_t group);
std::vector<std::string> attribute_names(hid_t obj);

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void write_int_attribute(hid_t obj, const std::string& name, long long value);
void write_floats_attribute(hid_t obj, const std::string& name, const std::vector<float>& values);
void write_strings_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values);
bool has_attribute(hid_t obj, const std::string& name);

// The readers check class, rank, number of elements and sizes before reading and throw
// RunFileError naming the object ("attribute 'format' of /: expected a scalar string, found a 1-D
// array of 2 variable-length strings"). A single value may be a scalar or a 1-D array of one.
std::string read_string_attribute(hid_t obj, const std::string& name, std::size_t max_bytes = kMaxStringBytes);
long long read_int_attribute(hid_t obj, const std::string& name, long long min = std::numeric_limits<long long>::min(),
                             long long max = std::numeric_limits<long long>::max());
// A count kept in a float64 series (an epoch, a global step): finite, whole and within
// [min, max], else RunFileError naming `what` (a cast of 1e248 or NaN to int is undefined).
long long whole_number(double v, long long min, long long max, const std::string& what);
// Rows [0, n) of a series whose index column `col` is written: a NaN there is the fill value of a
// row that was extended but never written (a writer stopped by a full disk or a kill), and it
// and everything after it are left out rather than refused.
inline std::size_t written_rows(const std::vector<double>& col, std::size_t n) {
    for (std::size_t i = 0; i < n && i < col.size(); ++i)
        if (col[i] != col[i]) return i;
    return std::min(n, col.size());
}
inline int epoch_number(double v, const std::string& what) {
    return static_cast<int>(whole_number(v, 0, std::numeric_limits<int>::max(), what));
}
inline int64_t step_number(double v, const std::string& what) {
    return whole_number(v, 0, int64_t{1} << 53, what);  // doubles count exactly up to 2^53
}
// Numbers (float or integer in the file), a scalar or a 1-D list.
std::vector<float> read_floats_attribute(hid_t obj, const std::string& name, hsize_t max_elements = kMaxListElements);
// Strings (variable- or fixed-length), a scalar or a 1-D list.
std::vector<std::string> read_strings_attribute(hid_t obj, const std::string& name,
                                                hsize_t max_elements = kMaxListElements,
                                                std::size_t max_bytes = kMaxStringBytes);

// Fixed-size string dataset (rewritable in place, unlike attributes under SWMR).
void create_fixed_string(hid_t parent, const std::string& name, std::size_t size, const std::string& value);
void write_fixed_string(hid_t parent, const std::string& name, const std::string& value);
std::string read_fixed_string(hid_t parent, const std::string& name, std::size_t max_bytes = kMaxFixedStringBytes);

// Chunked, unlimited 1-D series of doubles.
void create_series(hid_t parent, const std::string& name, hsize_t chunk);
void append_series(hid_t parent, const std::string& name, const std::vector<double>& values);
// The length of a series (a reader may see series of one group at different lengths).
hsize_t series_length(hid_t parent, const std::string& name);

// Chunked datasets that grow along their first dimension: rows of `row_shape` (float64 or
// float32 in the file).
void create_table(hid_t parent, const std::string& name, const std::vector<hsize_t>& row_shape, bool single,
                  hsize_t chunk_rows);
void append_table(hid_t parent, const std::string& name, const std::vector<double>& values, hsize_t rows);
// All rows as doubles (row-major) and the shape.
std::vector<double> read_table(hid_t parent, const std::string& name, std::vector<hsize_t>& shape);
// All rows as doubles (row-major); the rows must have `row_shape`. Sets `rows`.
std::vector<double> read_table(hid_t parent, const std::string& name, const std::vector<hsize_t>& row_shape,
                               hsize_t& rows);
// A numeric dataset of any shape as doubles (row-major) and its shape (empty for a scalar).
std::vector<double> read_numbers(hid_t parent, const std::string& name, std::vector<hsize_t>& shape);

void write_ints_attribute(hid_t obj, const std::string& name, const std::vector<long long>& values);
// Integers, a scalar or a 1-D list.
std::vector<long long> read_ints_attribute(hid_t obj, const std::string& name, hsize_t max_elements = kMaxListElements);

void create_int_scalar(hid_t parent, const std::string& name, long long value);
void write_int_scalar(hid_t parent, const std::string& name, long long value);
long long read_int_scalar(hid_t parent, const std::string& name);
std::vector<double> read_series(hid_t parent, const std::string& name);
}  // namespace h5

}  // namespace normout
