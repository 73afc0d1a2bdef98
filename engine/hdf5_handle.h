#pragma once
// RAII for HDF5 identifiers and small helpers for attributes and 1-D series. HDF5's own error
// printing is silenced; failures throw RunFileError with the file name.
#include <hdf5.h>

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

void write_string_attribute(hid_t obj, const std::string& name, const std::string& value);
void write_int_attribute(hid_t obj, const std::string& name, long long value);
void write_floats_attribute(hid_t obj, const std::string& name, const std::vector<float>& values);
void write_strings_attribute(hid_t obj, const std::string& name, const std::vector<std::string>& values);
bool has_attribute(hid_t obj, const std::string& name);
std::string read_string_attribute(hid_t obj, const std::string& name);
long long read_int_attribute(hid_t obj, const std::string& name);
std::vector<float> read_floats_attribute(hid_t obj, const std::string& name);
std::vector<std::string> read_strings_attribute(hid_t obj, const std::string& name);

// Fixed-size string dataset (rewritable in place, unlike attributes under SWMR).
void create_fixed_string(hid_t parent, const std::string& name, std::size_t size, const std::string& value);
void write_fixed_string(hid_t parent, const std::string& name, const std::string& value);
std::string read_fixed_string(hid_t parent, const std::string& name);

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

void write_ints_attribute(hid_t obj, const std::string& name, const std::vector<long long>& values);
std::vector<long long> read_ints_attribute(hid_t obj, const std::string& name);

void create_int_scalar(hid_t parent, const std::string& name, long long value);
void write_int_scalar(hid_t parent, const std::string& name, long long value);
long long read_int_scalar(hid_t parent, const std::string& name);
std::vector<double> read_series(hid_t parent, const std::string& name);
}  // namespace h5

}  // namespace normout
