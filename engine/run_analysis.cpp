#include "engine/run_analysis.h"

#include <fcntl.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <set>

#include "engine/hdf5_handle.h"
#include "engine/run_file.h"

namespace normout {

namespace {

constexpr std::size_t kTextSize = 256;

H5Handle text_type() {
    H5Handle t = h5::type(H5Tcopy(H5T_C_S1), "string type");
    h5::ok(H5Tset_size(t.get(), kTextSize), "string type");
    h5::ok(H5Tset_strpad(t.get(), H5T_STR_NULLPAD), "string type");
    return t;
}

bool is_text(hid_t group, const std::string& column) {
    H5Handle d = h5::dataset(H5Dopen2(group, column.c_str(), H5P_DEFAULT), "opening column " + column);
    H5Handle t = h5::type(H5Dget_type(d.get()), "column type");
    return H5Tget_class(t.get()) == H5T_STRING;
}

std::vector<std::string> children(hid_t group) {
    H5G_info_t gi;
    h5::ok(H5Gget_info(group, &gi), "listing a group");
    std::vector<std::string> names;
    for (hsize_t i = 0; i < gi.nlinks; ++i) {
        char name[512];
        if (H5Lget_name_by_idx(group, ".", H5_INDEX_NAME, H5_ITER_INC, i, name, sizeof name, H5P_DEFAULT) >= 0)
            names.emplace_back(name);
    }
    return names;
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
    H5Handle d = h5::dataset(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "opening column " + name);
    H5Handle s = h5::space(H5Dget_space(d.get()), "column space");
    hsize_t n = 0;
    H5Sget_simple_extent_dims(s.get(), &n, nullptr);
    H5Handle ft = h5::type(H5Dget_type(d.get()), "column type");
    const std::size_t size = H5Tget_size(ft.get());
    std::vector<char> buf(n * size, '\0');
    if (n) h5::ok(H5Dread(d.get(), ft.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, buf.data()), "reading " + name);
    std::vector<std::string> out;
    for (hsize_t i = 0; i < n; ++i)
        out.emplace_back(buf.data() + i * size, strnlen(buf.data() + i * size, size));
    return out;
}

hsize_t column_length(hid_t group, const std::string& name) {
    return h5::series_length(group, name);
}

}  // namespace

struct AnalysisWriter::Impl {
    std::string path;
    H5Handle file;
    H5Handle root;
};

AnalysisWriter::AnalysisWriter(const std::string& run_path) : impl_(new Impl) {
    const RunInfo info = read_run(run_path);  // also checks that it is a run
    if (info.status == "running") {
        delete impl_;
        throw RunFileError(run_path + ": the run is still being written; analyse it when it has ended");
    }
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    silence_hdf5_errors();
    impl_->path = info.segments.back().path;
    try {
        H5Handle fapl = h5::plist(H5Pcreate(H5P_FILE_ACCESS), "property list");
        h5::ok(H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST), "file format");
        impl_->file = h5::file(H5Fopen(impl_->path.c_str(), H5F_ACC_RDWR, fapl.get()),
                               "cannot open for writing (an interrupted run's file stays marked open: "
                               "resume it, or run h5clear -s on it)");
        if (H5Lexists(impl_->file.get(), "analysis", H5P_DEFAULT) <= 0)
            h5::group(H5Gcreate2(impl_->file.get(), "analysis", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "creating /analysis");
        impl_->root = h5::group(H5Gopen2(impl_->file.get(), "analysis", H5P_DEFAULT), "opening /analysis");
    } catch (const RunFileError& e) {
        const std::string msg = impl_->path + ": " + e.what();
        delete impl_;
        throw RunFileError(msg);
    }
}

AnalysisWriter::~AnalysisWriter() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    delete impl_;
}

void AnalysisWriter::append(const std::string& table, const std::vector<AnalysisRow>& rows) {
    if (rows.empty()) return;
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        const hid_t root = impl_->root.get();
        if (H5Lexists(root, table.c_str(), H5P_DEFAULT) <= 0)
            h5::group(H5Gcreate2(root, table.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                      "creating table " + table);
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
    } catch (const RunFileError& e) {
        throw RunFileError(impl_->path + ": " + e.what());
    }
}

void AnalysisWriter::write_array(const std::string& name, const AnalysisArray& a) {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    try {
        const hid_t root = impl_->root.get();
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
        H5Handle s = h5::space(dims.empty() ? H5Screate(H5S_SCALAR)
                                            : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr),
                               "dataspace");
        H5Handle d = h5::dataset(
            H5Dcreate2(g.get(), name.c_str(), H5T_IEEE_F64LE, s.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
            "creating array " + name);
        if (n)
            h5::ok(H5Dwrite(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                   "writing " + name);
        for (const auto& [key, value] : a.attributes)
            h5::write_string_attribute(d.get(), key, value);
    } catch (const RunFileError& e) {
        throw RunFileError(impl_->path + ": " + e.what());
    }
}

void AnalysisWriter::commit() {
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    if (H5Fflush(impl_->file.get(), H5F_SCOPE_GLOBAL) < 0) throw RunFileError(impl_->path + ": flush failed");
    void* handle = nullptr;
    if (H5Fget_vfd_handle(impl_->file.get(), H5P_DEFAULT, &handle) >= 0 && handle) ::fsync(*static_cast<int*>(handle));
}

AnalysisData read_analysis(const std::string& run_path) {
    const RunInfo info = read_run(run_path);
    std::lock_guard<std::recursive_mutex> lock(hdf5_mutex());
    AnalysisData out;
    for (const auto& seg : info.segments) {
        try {
            H5Handle f(H5Fopen(seg.path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT), H5Fclose);
            if (!f) f = h5::file(H5Fopen(seg.path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), "cannot open the file");
            if (H5Lexists(f.get(), "analysis", H5P_DEFAULT) <= 0) continue;
            H5Handle root = h5::group(H5Gopen2(f.get(), "analysis", H5P_DEFAULT), "opening /analysis");
            for (const auto& table : children(root.get())) {
                if (table == "arrays") {
                    H5Handle g = h5::group(H5Gopen2(root.get(), "arrays", H5P_DEFAULT), "opening arrays");
                    for (const auto& name : children(g.get())) {
                        std::vector<hsize_t> shape;
                        AnalysisArray a;
                        H5Handle d = h5::dataset(H5Dopen2(g.get(), name.c_str(), H5P_DEFAULT), "opening " + name);
                        H5Handle s = h5::space(H5Dget_space(d.get()), "array space");
                        const int rank = H5Sget_simple_extent_ndims(s.get());
                        shape.assign(static_cast<std::size_t>(std::max(rank, 0)), 0);
                        if (rank > 0) H5Sget_simple_extent_dims(s.get(), shape.data(), nullptr);
                        std::size_t n = 1;
                        for (hsize_t x : shape)
                            n *= x;
                        a.values.resize(n);
                        if (n)
                            h5::ok(H5Dread(d.get(), H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, a.values.data()),
                                   "reading " + name);
                        a.shape.assign(shape.begin(), shape.end());
                        const int nattrs = H5Aget_num_attrs(d.get());
                        for (int i = 0; i < nattrs; ++i) {
                            char attr[256];
                            if (H5Aget_name_by_idx(d.get(), ".", H5_INDEX_NAME, H5_ITER_INC, static_cast<hsize_t>(i),
                                                   attr, sizeof attr, H5P_DEFAULT) >= 0)
                                a.attributes[attr] = h5::read_string_attribute(d.get(), attr);
                        }
                        out.arrays[name] = std::move(a);
                    }
                    continue;
                }
                H5Handle g = h5::group(H5Gopen2(root.get(), table.c_str(), H5P_DEFAULT), "opening " + table);
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
        } catch (const RunFileError& e) {
            throw RunFileError(seg.path + ": " + e.what());
        }
    }
    return out;
}

}  // namespace normout
