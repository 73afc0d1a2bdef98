// Structure-aware fuzzing of the run-file readers: read_run (all segments), read_weights,
// read_instrumentation (/instrument), unit_histogram_epochs and read_unit_histograms (per-unit
// histograms), read_analysis (/analysis of the segments, the sidecar RUN.analysis.hdf5 and
// unsaved-results JSON files) and build_table (the thesis's tables). The
// input describes the files; the target writes them with HDF5's API and every reader must
// answer with a RunFileError or a result, never a crash. (Raw byte mutations of an HDF5 file
// would mostly exercise HDF5's own parser, which the lab cannot change.)
//
// Two input formats:
//
// * "NRF1" inputs describe a set of files object by object (fuzz/make_seeds.py writes them from a
//   real run recorded by `normout train` and `normout resume`, so mutations start from a valid run):
//
//     input   := "NRF1" flags:u8 record*
//     flags   := bits 0-1 the table for build_table (accuracy, activations, attacks, flatness),
//                bit 2 files in HDF5's latest format (else the earliest), bit 3 per-epoch
//                instrumentation read too, bit 4 L2 attack table (else L-inf)
//     record  := op:u8 body, by op % 8:
//       0 FILE     index:u8                     later records go to file index % 4: RUN.h5,
//                                               RUN.resume-1.h5, RUN.resume-2.h5, RUN.analysis.hdf5
//       1 GROUP    path:str
//       2 ATTR     path:str name:str type space data    (creates the object as a group if missing)
//       3 DATASET  path:str type space layout:u8 data   (layout % 6: contiguous, chunked with an
//                                               unlimited first dimension, chunked + deflate,
//                                               compact, external storage, chunked + shuffle + deflate)
//       4 LINK     kind:u8 path:str target:str [file:u8]   (kind % 3: soft, hard, external to file)
//       5 JSON     where:u8 name:str text:str   unsaved analysis results: where % 2 == 0 next to the
//                                               run (RUN.analysis-unsaved-NAME.json), else in the
//                                               user's folder (NAME.RUN.analysis-unsaved-0.json)
//       6 TRUNCATE index:u8 size:varint         the finished file cut to size bytes
//       7 RAW      index:u8 bytes:str           the file is these bytes instead of HDF5
//     str     := length:varint bytes
//     type    := t:u8 [size-1:varint]; t % 32: 0 variable-length string, 1 fixed string
//                (16, 17: the same in UTF-8), 2 i64, 3 i32, 4 u8, 5 f64, 6 f32, 7 u64, 8 i64
//                big-endian, 9 f64 big-endian, 10 i16, 11 8-bit bitfield, 12 opaque, 13 enum,
//                14 compound {f64}, 15 array f64[2], 18 u32, 19 u16, 20 i8, 21 f32 big-endian,
//                22 u32 big-endian, 23 i32 big-endian, 24 u64 big-endian, 25 i16 big-endian,
//                26 16-bit bitfield, 27 16-bit float, 28 compound {f64, i32}, 29 array i64[3],
//                30 variable-length sequence of f64, 31 object reference (30, 31 never written);
//                bits 5-6: string padding; fixed strings are followed by their size - 1 as a
//                varint
//     space   := s:u8 dims:varint*; s % 8: 0 scalar, 1-6 rank, 7 null (no elements)
//     data    := mode:u8 ...; mode % 4: 0 raw bytes of every element (strings: str each),
//                1 nothing written, 2 pattern:str repeated over all bytes, 3 str per element
//                (padded or cut to the element size)
//
// * anything else is the older generator kept for its regression inputs: the input decides which
//   of a run file's attributes and datasets exist, with which types, shapes and contents.
#include <hdf5.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "engine/runfile/run_analysis.h"
#include "engine/runfile/run_file.h"
#include "engine/runfile/run_file_instrument.h"
#include "engine/runfile/tables.h"
#include "fuzz/fuzz_common.h"

// HDF5 retries a metadata read that fails its checksum in SWMR reading mode, sleeping 1 ns, 2 ns,
// 4 ns, ... in between (H5_nanosleep). With HDF5's default of 100 attempts a reader of a damaged
// file waited for ages (a finding, fixed: the readers now make 28 attempts, ~0.27 s; replayed
// from fuzz/regressions/fuzz_run_file/timeout-swmr-*). This definition interposes HDF5's (the
// library calls it through its PLT) and sleeps as HDF5 does, unless FUZZ_KNOWN is set: then it
// skips those sleeps, which only slow fuzzing down.
extern "C" void H5_nanosleep(uint64_t nanosec) {
    if (fuzz::tolerate_known()) return;
    struct timespec t {
        static_cast<time_t>(nanosec / 1000000000), static_cast<long>(nanosec % 1000000000)
    };
    while (nanosleep(&t, &t) == -1 && errno == EINTR) {
    }
}

namespace {

namespace fs = std::filesystem;

// ------------------------------------------------------------------ the older generator

struct Input {
    const uint8_t* p;
    size_t n;
    uint8_t byte() {
        if (!n) return 0;
        --n;
        return *p++;
    }
    std::string text() {
        const size_t len = std::min<size_t>(byte() % 16, n);
        std::string s(reinterpret_cast<const char*>(p), len);
        p += len;
        n -= len;
        return s;
    }
};

void attribute(hid_t obj, const char* name, Input& in) {
    const uint8_t kind = in.byte() % 5;
    if (kind == 0) return;  // missing
    const hsize_t len = in.byte() % 4;
    hid_t space = kind == 4 ? H5Screate_simple(1, &len, nullptr) : H5Screate(H5S_SCALAR);
    if (kind == 1 || kind == 4) {  // string (scalar or list)
        hid_t t = H5Tcopy(H5T_C_S1);
        H5Tset_size(t, H5T_VARIABLE);
        std::vector<std::string> values(kind == 4 ? len : 1);
        std::vector<const char*> ptrs;
        for (auto& v : values) {
            v = in.text();
            ptrs.push_back(v.c_str());
        }
        hid_t a = H5Acreate2(obj, name, t, space, H5P_DEFAULT, H5P_DEFAULT);
        if (!ptrs.empty()) H5Awrite(a, t, ptrs.data());
        H5Aclose(a);
        H5Tclose(t);
    } else if (kind == 2) {  // integer
        long long v = static_cast<int8_t>(in.byte());
        if (in.byte() % 2) v = 1;  // often the valid schema version
        hid_t a = H5Acreate2(obj, name, H5T_STD_I64LE, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_LLONG, &v);
        H5Aclose(a);
    } else {  // float
        const float v = in.byte();
        hid_t a = H5Acreate2(obj, name, H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT);
        H5Awrite(a, H5T_NATIVE_FLOAT, &v);
        H5Aclose(a);
    }
    H5Sclose(space);
}

void dataset(hid_t parent, const char* name, Input& in) {
    const uint8_t kind = in.byte() % 5;
    if (kind == 0) return;
    hsize_t dims[2] = {static_cast<hsize_t>(in.byte() % 5), static_cast<hsize_t>(in.byte() % 3 + 1)};
    const int rank = kind == 4 ? 2 : (kind == 1 ? 0 : 1);
    hid_t space = rank == 0 ? H5Screate(H5S_SCALAR) : H5Screate_simple(rank, dims, nullptr);
    hid_t type = kind == 1 ? H5Tcopy(H5T_C_S1) : H5Tcopy(kind == 2 ? H5T_NATIVE_LLONG : H5T_NATIVE_DOUBLE);
    if (kind == 1) H5Tset_size(type, 1 + in.byte() % 40);
    hid_t d = H5Dcreate2(parent, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    std::vector<uint8_t> fill(4096);
    for (auto& b : fill)
        b = in.byte();
    H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, fill.data());
    H5Dclose(d);
    H5Tclose(type);
    H5Sclose(space);
}

void write_legacy(const std::string& path, const uint8_t* data, size_t size) {
    Input in{data, size};
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return;
    for (const char* a : {"format", "schema_version", "run_id", "name", "preset", "config", "code_version",
                          "created_utc", "start_unix_ms", "torch_version", "hdf5_version", "device", "host", "pid",
                          "segment", "resumed_from_step", "resumed_epoch_rows"})
        attribute(f, a, in);
    for (const char* d :
         {"status", "status_message", "finished_utc", "status_step", "heartbeat_unix_ms", "weights_step"})
        dataset(f, d, in);
    for (const char* g : {"data", "model", "metrics", "metrics/epoch", "metrics/step", "weights"}) {
        if (in.byte() % 6 == 0) continue;
        hid_t group = H5Gcreate2(f, g, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (group < 0) continue;
        const std::string gs = g;
        if (gs == "data")
            for (const char* a : {"dataset", "source", "class_names", "mean", "std", "train_count", "val_count",
                                  "test_count", "channels", "height", "width"})
                attribute(group, a, in);
        if (gs == "model")
            for (const char* a : {"layer_kinds", "layer_descriptions", "parameter_count"})
                attribute(group, a, in);
        if (gs == "metrics/epoch")
            for (const char* d :
                 {"epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy",
                  "learning_rate", "epoch_seconds", "wall_seconds", "images_per_second"})
                dataset(group, d, in);
        if (gs == "metrics/step")
            for (const char* d : {"global_step", "epoch", "loss", "accuracy", "learning_rate", "wall_seconds"})
                dataset(group, d, in);
        if (gs == "weights")
            for (const char* d : {"layers.0.weight", "input_mean"})
                dataset(group, d, in);
        H5Gclose(group);
    }
    H5Fclose(f);
}

// ------------------------------------------------------------------ "NRF1": files object by object

constexpr uint64_t kMaxWriteBytes = uint64_t(8) << 20;  // larger declared contents stay unwritten
constexpr uint64_t kMaxStrings = uint64_t(1) << 16;     // variable-length strings written at most
constexpr uint64_t kMaxAttributeBytes = uint64_t(16) << 20;
constexpr int kFiles = 4;

// Closes an HDF5 identifier of any kind at the end of a scope.
struct Id {
    hid_t id = H5I_INVALID_HID;
    explicit Id(hid_t i = H5I_INVALID_HID) : id(i) {}
    ~Id() {
        if (id >= 0) H5Idec_ref(id);
    }
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    Id& operator=(Id&& o) noexcept {
        if (this != &o) {
            if (id >= 0) H5Idec_ref(id);
            id = o.id;
            o.id = H5I_INVALID_HID;
        }
        return *this;
    }
    bool ok() const { return id >= 0; }
};

struct Type {
    Id id;
    size_t size = 0;           // bytes of one element (a pointer for variable-length strings)
    bool vlen = false;         // variable-length string
    bool string = false;       // fixed or variable-length string
    bool opaque_data = false;  // no bytes make a valid element (references, sequences): never written
};

bool make_type(fuzz::Cursor& in, Type& t) {
    const uint8_t b = in.byte();
    const int code = b & 31;
    const int pad = (b >> 5) & 3;
    hid_t id = H5I_INVALID_HID;
    switch (code) {
        case 0:
        case 1:
        case 16:
        case 17:
            id = H5Tcopy(H5T_C_S1);
            if (code == 0 || code == 16) {
                H5Tset_size(id, H5T_VARIABLE);
                t.vlen = true;
            } else {
                H5Tset_size(id, 1 + static_cast<size_t>(std::min<uint64_t>(in.varint(), uint64_t(1) << 17)));
            }
            H5Tset_cset(id, code >= 16 ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
            H5Tset_strpad(id, pad == 1 ? H5T_STR_NULLPAD : pad == 2 ? H5T_STR_SPACEPAD : H5T_STR_NULLTERM);
            t.string = true;
            break;
        case 2:
            id = H5Tcopy(H5T_STD_I64LE);
            break;
        case 3:
            id = H5Tcopy(H5T_STD_I32LE);
            break;
        case 4:
            id = H5Tcopy(H5T_STD_U8LE);
            break;
        case 5:
            id = H5Tcopy(H5T_IEEE_F64LE);
            break;
        case 6:
            id = H5Tcopy(H5T_IEEE_F32LE);
            break;
        case 7:
            id = H5Tcopy(H5T_STD_U64LE);
            break;
        case 8:
            id = H5Tcopy(H5T_STD_I64BE);
            break;
        case 9:
            id = H5Tcopy(H5T_IEEE_F64BE);
            break;
        case 10:
            id = H5Tcopy(H5T_STD_I16LE);
            break;
        case 11:
            id = H5Tcopy(H5T_STD_B8LE);
            break;
        case 12:
            id = H5Tcreate(H5T_OPAQUE, 4);
            H5Tset_tag(id, "fuzz");
            break;
        case 13: {
            id = H5Tenum_create(H5T_NATIVE_SCHAR);
            signed char v = 0;
            H5Tenum_insert(id, "a", &v);
            v = 1;
            H5Tenum_insert(id, "b", &v);
            break;
        }
        case 14:
            id = H5Tcreate(H5T_COMPOUND, 8);
            H5Tinsert(id, "x", 0, H5T_IEEE_F64LE);
            break;
        case 15: {
            const hsize_t two = 2;
            id = H5Tarray_create2(H5T_IEEE_F64LE, 1, &two);
            break;
        }
        case 18:
            id = H5Tcopy(H5T_STD_U32LE);
            break;
        case 19:
            id = H5Tcopy(H5T_STD_U16LE);
            break;
        case 20:
            id = H5Tcopy(H5T_STD_I8LE);
            break;
        case 21:
            id = H5Tcopy(H5T_IEEE_F32BE);
            break;
        case 22:
            id = H5Tcopy(H5T_STD_U32BE);
            break;
        case 23:
            id = H5Tcopy(H5T_STD_I32BE);
            break;
        case 24:
            id = H5Tcopy(H5T_STD_U64BE);
            break;
        case 25:
            id = H5Tcopy(H5T_STD_I16BE);
            break;
        case 26:
            id = H5Tcopy(H5T_STD_B16LE);
            break;
        case 27: {  // a float of HDF5's own layout: 16 bits, like IEEE half precision
            id = H5Tcopy(H5T_IEEE_F32LE);
            H5Tset_fields(id, 15, 10, 5, 0, 10);
            H5Tset_precision(id, 16);
            H5Tset_size(id, 2);
            H5Tset_ebias(id, 15);
            break;
        }
        case 28:
            id = H5Tcreate(H5T_COMPOUND, 12);
            H5Tinsert(id, "x", 0, H5T_IEEE_F64LE);
            H5Tinsert(id, "y", 8, H5T_STD_I32LE);
            break;
        case 29: {
            const hsize_t three = 3;
            id = H5Tarray_create2(H5T_STD_I64LE, 1, &three);
            break;
        }
        case 30:  // variable-length sequences of numbers: never written
            id = H5Tvlen_create(H5T_IEEE_F64LE);
            t.opaque_data = true;
            break;
        default:  // object references: never written
            id = H5Tcopy(H5T_STD_REF_OBJ);
            t.opaque_data = true;
            break;
    }
    t.id = Id(id);
    if (!t.id.ok()) return false;
    t.size = t.vlen ? sizeof(char*) : H5Tget_size(id);
    return t.size > 0;
}

struct Space {
    Id id;
    std::vector<hsize_t> dims;
    bool null = false;
    uint64_t elements = 1;  // saturates
};

bool make_space(fuzz::Cursor& in, Space& s) {
    const int kind = in.byte() % 8;
    if (kind == 7) {
        s.null = true;
        s.elements = 0;
        s.id = Id(H5Screate(H5S_NULL));
    } else if (kind == 0) {
        s.id = Id(H5Screate(H5S_SCALAR));
    } else {
        for (int i = 0; i < kind; ++i) {
            const uint64_t d = in.varint();
            s.dims.push_back(d);
            s.elements = (d && s.elements > UINT64_MAX / d) ? UINT64_MAX : s.elements * d;
        }
        s.id = Id(H5Screate_simple(kind, s.dims.data(), nullptr));
    }
    return s.id.ok();
}

// The element data of a write, or false for "leave it unwritten". `strings` keeps the contents
// variable-length string pointers point into.
bool make_data(fuzz::Cursor& in, const Type& t, const Space& s, std::vector<uint8_t>& buf,
               std::vector<std::string>& strings) {
    const int mode = in.byte() % 4;
    if (mode == 1 || s.null || t.opaque_data) return false;
    const bool fits = t.vlen ? s.elements <= kMaxStrings : s.elements <= kMaxWriteBytes / t.size;
    if (t.vlen) {
        const std::string pattern = mode == 2 ? in.str() : std::string();
        if (!fits) return false;
        strings.resize(static_cast<size_t>(s.elements));
        for (auto& v : strings) {
            v = mode == 2 ? pattern : in.str();
            v = v.substr(0, std::min(v.find('\0'), v.size()));  // C strings end at their first NUL
        }
        buf.resize(strings.size() * sizeof(char*));
        for (size_t i = 0; i < strings.size(); ++i) {
            const char* ptr = strings[i].c_str();
            std::memcpy(buf.data() + i * sizeof(char*), &ptr, sizeof(char*));
        }
        return true;
    }
    if (mode == 2) {
        const std::string pattern = in.str();
        if (!fits) return false;
        buf.assign(static_cast<size_t>(s.elements) * t.size, 0);
        if (!pattern.empty())
            for (size_t i = 0; i < buf.size(); ++i)
                buf[i] = static_cast<uint8_t>(pattern[i % pattern.size()]);
        return true;
    }
    if (!fits) return false;
    const size_t n = static_cast<size_t>(s.elements);
    if (mode == 0) {
        buf = in.bytes(n * t.size);
        return true;
    }
    buf.assign(n * t.size, 0);  // mode 3: one string per element
    for (size_t i = 0; i < n; ++i) {
        const std::string v = in.str();
        std::memcpy(buf.data() + i * t.size, v.data(), std::min(v.size(), t.size));
    }
    return true;
}

std::string object_name(const std::string& path) {
    std::string p = path;
    while (!p.empty() && p.front() == '/')
        p.erase(p.begin());
    return p.empty() ? std::string(".") : p;
}

struct FileSet {
    std::string dir;
    std::string paths[kFiles];
    uint8_t flags = 0;
};

hid_t link_props() {
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    H5Pset_create_intermediate_group(lcpl, 1);
    H5Pset_char_encoding(lcpl, H5T_CSET_UTF8);
    return lcpl;
}

// Opens the object at `path`, creating it as a group when nothing is there.
hid_t object_at(hid_t file, const std::string& path, hid_t lcpl) {
    const std::string name = object_name(path);
    if (name == ".") return H5Oopen(file, ".", H5P_DEFAULT);
    const hid_t obj = H5Oopen(file, name.c_str(), H5P_DEFAULT);
    return obj >= 0 ? obj : H5Gcreate2(file, name.c_str(), lcpl, H5P_DEFAULT, H5P_DEFAULT);
}

void add_attribute(hid_t file, fuzz::Cursor& in, hid_t lcpl) {
    const std::string path = in.str();
    const std::string name = in.str();
    Type t;
    Space s;
    if (!make_type(in, t) || !make_space(in, s)) return;
    std::vector<uint8_t> buf;
    std::vector<std::string> strings;
    const bool write = make_data(in, t, s, buf, strings);
    // HDF5 builds an attribute's whole message in memory: no attributes larger than this.
    if (s.elements > kMaxAttributeBytes / t.size) return;
    Id obj(object_at(file, path, lcpl));
    if (!obj.ok() || name.find('\0') != std::string::npos) return;
    Id a(H5Acreate2(obj.id, name.c_str(), t.id.id, s.id.id, H5P_DEFAULT, H5P_DEFAULT));
    if (a.ok() && write) H5Awrite(a.id, t.id.id, buf.data());
}

void add_dataset(hid_t file, fuzz::Cursor& in, hid_t lcpl, const FileSet& set, int& externals) {
    const std::string path = object_name(in.str());
    Type t;
    Space s;
    if (!make_type(in, t) || !make_space(in, s)) return;
    const int layout = in.byte() % 6;
    std::vector<uint8_t> buf;
    std::vector<std::string> strings;
    const bool write = make_data(in, t, s, buf, strings);
    if (path.find('\0') != std::string::npos) return;
    Id dcpl(H5Pcreate(H5P_DATASET_CREATE));
    Id space;
    const bool simple = !s.dims.empty();
    if ((layout == 1 || layout == 2 || layout == 5) && simple) {
        std::vector<hsize_t> chunk(s.dims.size()), max(s.dims);
        for (size_t i = 0; i < s.dims.size(); ++i)
            chunk[i] = std::max<hsize_t>(1, std::min<hsize_t>(s.dims[i], 64));
        // Chunks of at most 1 MiB (HDF5 refuses chunks of 4 GiB and more).
        auto bytes = [&] {
            hsize_t b = t.size;
            for (hsize_t c : chunk)
                b *= c;
            return b;
        };
        while (bytes() > (hsize_t(1) << 20))
            *std::max_element(chunk.begin(), chunk.end()) /= 2;
        max[0] = H5S_UNLIMITED;
        space = Id(H5Screate_simple(static_cast<int>(s.dims.size()), s.dims.data(), max.data()));
        H5Pset_chunk(dcpl.id, static_cast<int>(chunk.size()), chunk.data());
        if (layout == 5) H5Pset_shuffle(dcpl.id);
        if (layout != 1) H5Pset_deflate(dcpl.id, 6);
    } else if (layout == 3 && s.elements <= 16384 / t.size) {
        H5Pset_layout(dcpl.id, H5D_COMPACT);
    } else if (layout == 4) {
        const std::string ext = set.dir + "/external-" + std::to_string(externals++) + ".bin";
        H5Pset_external(dcpl.id, ext.c_str(), 0, H5F_UNLIMITED);
    }
    Id d(H5Dcreate2(file, path.c_str(), t.id.id, space.ok() ? space.id : s.id.id, lcpl, dcpl.id, H5P_DEFAULT));
    if (d.ok() && write) H5Dwrite(d.id, t.id.id, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data());
}

void add_link(hid_t file, fuzz::Cursor& in, hid_t lcpl, const FileSet& set) {
    const int kind = in.byte() % 3;
    const std::string path = object_name(in.str());
    const std::string target = in.str();
    const int other = kind == 2 ? in.byte() % kFiles : 0;
    if (path.find('\0') != std::string::npos || target.find('\0') != std::string::npos) return;
    if (kind == 0)
        H5Lcreate_soft(target.c_str(), file, path.c_str(), lcpl, H5P_DEFAULT);
    else if (kind == 1)
        H5Lcreate_hard(file, object_name(target).c_str(), file, path.c_str(), lcpl, H5P_DEFAULT);
    else
        H5Lcreate_external(set.paths[other].c_str(), target.c_str(), file, path.c_str(), lcpl, H5P_DEFAULT);
}

std::string safe_file_name(std::string name) {
    for (char& c : name)
        if (c == '/' || c == '\0') c = '_';
    if (name.empty() || name == "." || name == "..") name = "x";
    return name.substr(0, 200);
}

// Writes the files an "NRF1" input describes.
void write_files(const uint8_t* data, size_t size, FileSet& set) {
    fuzz::Cursor in{data, size};
    set.flags = in.byte();
    const bool latest = set.flags & 4;
    Id fapl(H5Pcreate(H5P_FILE_ACCESS));
    H5Pset_fapl_core(fapl.id, 1 << 16, 1);  // built in memory, written once at the end
    H5Pset_fclose_degree(fapl.id, H5F_CLOSE_STRONG);
    H5Pset_libver_bounds(fapl.id, latest ? H5F_LIBVER_LATEST : H5F_LIBVER_EARLIEST, H5F_LIBVER_LATEST);
    Id lcpl(link_props());
    Id files[kFiles];
    std::map<int, std::string> raw;
    std::map<int, uint64_t> cut;
    int current = 0, externals = 0;
    auto file = [&](int k) {
        if (!files[k].ok() && !raw.count(k))
            files[k] = Id(H5Fcreate(set.paths[k].c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id));
        return files[k].id;
    };
    file(0);
    while (!in.done()) {
        const int op = in.byte() % 8;
        switch (op) {
            case 0:
                current = in.byte() % kFiles;
                break;
            case 1: {
                const std::string path = object_name(in.str());
                const hid_t f = file(current);
                if (f >= 0 && path.find('\0') == std::string::npos) Id g(object_at(f, path, lcpl.id));
                break;
            }
            // An object of a file that is raw bytes is read from the input and dropped (every
            // HDF5 call on an invalid identifier fails harmlessly).
            case 2:
                add_attribute(file(current), in, lcpl.id);
                break;
            case 3:
                add_dataset(file(current), in, lcpl.id, set, externals);
                break;
            case 4:
                add_link(file(current), in, lcpl.id, set);
                break;
            case 5: {
                const bool user = in.byte() % 2;
                const std::string name = safe_file_name(in.str());
                const std::string text = in.str();
                const std::string stem = fs::path(set.paths[0]).stem().string();
                if (user)
                    fuzz::write_file(std::string(getenv("XDG_DATA_HOME")) + "/normout/unsaved-analysis/" + name + "." +
                                         stem + ".analysis-unsaved-0.json",
                                     text);
                else
                    fuzz::write_file(set.dir + "/" + stem + ".analysis-unsaved-" + name + ".json", text);
                break;
            }
            case 6: {
                const int k = in.byte() % kFiles;
                cut[k] = in.varint();
                break;
            }
            default: {
                const int k = in.byte() % kFiles;
                raw[k] = in.str();
                if (files[k].ok()) files[k] = Id();
                break;
            }
        }
    }
    for (auto& f : files)
        f = Id();
    for (const auto& [k, bytes] : raw)
        fuzz::write_file(set.paths[k], bytes.data(), bytes.size());
    for (const auto& [k, size] : cut) {
        std::error_code ec;
        if (fs::exists(set.paths[k], ec) && fs::file_size(set.paths[k], ec) > size)
            fs::resize_file(set.paths[k], size, ec);
    }
}

// FUZZ_DEBUG=1 prints what each reader answers (for looking at seeds and findings).
void said(const char* reader, const std::string& answer) {
    static const bool debug = getenv("FUZZ_DEBUG") != nullptr;
    static auto last = std::chrono::steady_clock::now();
    const auto now = std::chrono::steady_clock::now();
    if (debug)
        std::fprintf(stderr, "%s (%.3f s): %s\n", reader, std::chrono::duration<double>(now - last).count(),
                     answer.substr(0, 300).c_str());
    last = now;
}

// Every reader of a run, as the lab and the command line call them. Each documents RunFileError
// for a file it cannot read; anything else escaping is a finding.
void read_everything(const std::string& path, uint8_t flags) {
    normout::RunInfo info;
    try {
        info = normout::read_run(path);
        said("read_run", info.status + ", " + std::to_string(info.segments.size()) + " segment(s), " +
                             std::to_string(info.epochs.size()) + " epoch(s), " + std::to_string(info.steps.size()) +
                             " step(s)");
    } catch (const normout::RunFileError& e) {
        said("read_run", e.what());
        return;  // the other readers start with read_run
    }
    try {
        said("read_weights", std::to_string(normout::read_weights(path).size()) + " array(s)");
    } catch (const normout::RunFileError& e) {
        said("read_weights", e.what());
    }
    try {
        const auto d = normout::read_instrumentation(path, flags & 8);
        size_t steps = 0, epochs = 0;
        for (const auto& [layer, rows] : d.steps)
            steps += rows.size();
        for (const auto& [layer, rows] : d.epochs)
            epochs += rows.size();
        said("read_instrumentation", std::to_string(d.layers.size()) + " layer(s), " + std::to_string(steps) +
                                         " step row(s), " + std::to_string(epochs) + " epoch row(s)");
    } catch (const normout::RunFileError& e) {
        said("read_instrumentation", e.what());
    }
    // Per-unit histograms (the lab's neuron inspector) of the first and last instrumented layer.
    for (size_t k = 0; k < info.instrumented.size() && k < 2; ++k) {
        const int layer = info.instrumented[k ? info.instrumented.size() - 1 : 0].index;
        try {
            const auto epochs = normout::unit_histogram_epochs(path, layer);
            said("unit_histogram_epochs", std::to_string(epochs.size()) + " epoch(s)");
            const auto h = normout::read_unit_histograms(path, layer, epochs.empty() ? 1 : epochs.back());
            said("read_unit_histograms", std::to_string(h.units) + " unit(s), " + std::to_string(h.bins) + " bin(s)");
        } catch (const normout::RunFileError& e) {
            said("unit histograms", e.what());
        }
    }
    try {
        const auto a = normout::read_analysis(path);
        std::string tables;
        for (const auto& [name, t] : a.tables)
            tables += " " + name + "(" + std::to_string(t.rows.size()) + ")";
        said("read_analysis", "tables" + tables + ", " + std::to_string(a.arrays.size()) + " array(s), " +
                                  std::to_string(a.unsaved.size()) + " unsaved file(s)");
    } catch (const normout::RunFileError& e) {
        said("read_analysis", e.what());
    }
    try {
        normout::TableOptions options;
        options.norm = flags & 16 ? "l2" : "linf";
        if (!info.instrumented.empty())
            options.layers = {info.instrumented.front().index, info.instrumented.back().index};
        const normout::Table t = normout::build_table({path}, static_cast<normout::TableKind>(flags & 3), options);
        normout::to_markdown(t);
        normout::to_latex(t);
        said("build_table", normout::to_csv(t));
    } catch (const normout::RunFileError& e) {
        said("build_table", e.what());
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    static const std::string dir = fuzz::scratch("run") + "/run";
    fuzz::clear(dir);
    fuzz::clear(std::string(getenv("XDG_DATA_HOME")) + "/normout");
    FileSet set;
    set.dir = dir;
    set.paths[0] = dir + "/run.h5";
    set.paths[1] = normout::segment_path(set.paths[0], 1);
    set.paths[2] = normout::segment_path(set.paths[0], 2);
    set.paths[3] = normout::analysis_path(set.paths[0]);
    if (size >= 4 && std::memcmp(data, "NRF1", 4) == 0) {
        const auto start = std::chrono::steady_clock::now();
        write_files(data + 4, size - 4, set);
        said("writing the files",
             std::to_string(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()) + " s");
        read_everything(set.paths[0], set.flags);
    } else {
        write_legacy(set.paths[0], data, size);
        read_everything(set.paths[0], 0);
    }
    return 0;
}
