// Structure-aware fuzzing of the run-file reader: the input decides which of a run file's
// attributes and datasets exist, with which types, shapes and contents, and read_run() must
// answer every variant with a RunFileError or a result, never a crash. (Raw byte mutations
// would mostly exercise HDF5's own parser, which the lab cannot change.)
#include <hdf5.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "engine/run_file.h"

namespace {

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

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("normout-fuzz-run-" + std::to_string(::getpid()) + ".h5")).string();
    Input in{data, size};
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) return 0;
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
    try {
        normout::read_run(path);
        normout::read_weights(path);
    } catch (const normout::RunFileError&) {
    }
    return 0;
}
