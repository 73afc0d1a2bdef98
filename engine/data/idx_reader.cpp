#include <zlib.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "engine/data/readers.h"

namespace normout {

namespace {

// gzopen reads gzip and plain files alike.
struct GzFile {
    gzFile f = nullptr;
    std::string name;
    explicit GzFile(const std::string& path) : name(path) {
        f = gzopen(path.c_str(), "rb");
        if (!f) throw DataError(path + ": cannot open file");
        gzbuffer(f, 1 << 16);
    }
    ~GzFile() {
        if (f) gzclose(f);
    }
    GzFile(const GzFile&) = delete;
    GzFile& operator=(const GzFile&) = delete;

    // Reads exactly n bytes into a vector grown as the data arrives, so a header that declares
    // more than the file holds fails at the end of the data, not with a huge allocation.
    void read_into(std::vector<uint8_t>& out, std::size_t n, const char* what) {
        constexpr std::size_t chunk = 16u << 20;
        out.clear();
        while (out.size() < n) {
            const std::size_t at = out.size();
            const std::size_t k = std::min(chunk, n - at);
            out.resize(at + k);
            try {
                read(out.data() + at, k, what);
            } catch (const DataError&) {
                throw DataError(name + ": truncated, expected " + std::to_string(n) + " bytes of " + what +
                                ", the file ends sooner");
            }
        }
    }

    // Reads exactly n bytes or throws naming what was being read.
    void read(void* dst, std::size_t n, const char* what) {
        auto* out = static_cast<unsigned char*>(dst);
        std::size_t got = 0;
        while (got < n) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(n - got, 1u << 30));
            const int r = gzread(f, out + got, chunk);
            if (r < 0) {
                int err = 0;
                const char* msg = gzerror(f, &err);
                throw DataError(name + ": corrupt compressed data while reading " + what + ": " + msg);
            }
            if (r == 0) break;
            got += static_cast<std::size_t>(r);
        }
        if (got < n) {
            int err = 0;
            const char* msg = gzerror(f, &err);
            std::string detail = err != Z_OK ? std::string(" (") + msg + ")" : std::string();
            throw DataError(name + ": truncated, expected " + std::to_string(n) + " bytes of " + what + ", got " +
                            std::to_string(got) + detail);
        }
    }
    bool at_end() {
        unsigned char extra;
        return gzread(f, &extra, 1) <= 0;
    }
};

uint32_t big_endian(const unsigned char* b) {
    return (uint32_t(b[0]) << 24) | (uint32_t(b[1]) << 16) | (uint32_t(b[2]) << 8) | uint32_t(b[3]);
}

std::string hex(uint32_t v) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%08X", v);
    return buf;
}

std::string find_file(const std::filesystem::path& dir, const std::string& stem) {
    for (const char* suffix : {"", ".gz"}) {
        const auto p = dir / (stem + suffix);
        if (std::filesystem::exists(p)) return p.string();
    }
    throw DataError((dir / stem).string() + "[.gz]: file not found (Fashion-MNIST IDX files expected)");
}

}  // namespace

ImageSet read_idx_pair(const std::string& images_file, const std::string& labels_file, int num_classes) {
    ImageSet set;
    uint32_t n_images = 0;
    {
        GzFile in(images_file);
        unsigned char header[16];
        in.read(header, 4, "the header");
        const uint32_t magic = big_endian(header);
        if (magic != 0x00000803)
            throw DataError(images_file + ": not an IDX image file (magic " + hex(magic) + ", expected 0x00000803)");
        in.read(header + 4, 12, "the header");
        n_images = big_endian(header + 4);
        const uint32_t rows = big_endian(header + 8), cols = big_endian(header + 12);
        if (n_images == 0 || rows == 0 || cols == 0 || rows > 4096 || cols > 4096)
            throw DataError(images_file + ": implausible dimensions " + std::to_string(n_images) + " x " +
                            std::to_string(rows) + " x " + std::to_string(cols));
        set.count = n_images;
        set.channels = 1;
        set.height = static_cast<int>(rows);
        set.width = static_cast<int>(cols);
        in.read_into(set.pixels, static_cast<std::size_t>(n_images) * rows * cols, "pixel data");
        if (!in.at_end()) throw DataError(images_file + ": wrong size, extra bytes after the declared images");
    }
    {
        GzFile in(labels_file);
        unsigned char header[8];
        in.read(header, 4, "the header");
        const uint32_t magic = big_endian(header);
        if (magic != 0x00000801)
            throw DataError(labels_file + ": not an IDX label file (magic " + hex(magic) + ", expected 0x00000801)");
        in.read(header + 4, 4, "the header");
        const uint32_t n_labels = big_endian(header + 4);
        if (n_labels != n_images)
            throw DataError(labels_file + ": holds " + std::to_string(n_labels) + " labels but " + images_file +
                            " holds " + std::to_string(n_images) + " images");
        std::vector<uint8_t> raw;
        in.read_into(raw, n_labels, "labels");
        if (!in.at_end()) throw DataError(labels_file + ": wrong size, extra bytes after the declared labels");
        set.labels.resize(n_labels);
        for (uint32_t i = 0; i < n_labels; ++i) {
            if (raw[i] >= num_classes)
                throw DataError(labels_file + ": label " + std::to_string(raw[i]) + " out of range 0.." +
                                std::to_string(num_classes - 1) + " at item " + std::to_string(i));
            set.labels[i] = raw[i];
        }
    }
    return set;
}

DataSplit read_fashion_mnist(const std::string& dir_name) {
    const std::filesystem::path dir(dir_name);
    if (!std::filesystem::is_directory(dir)) throw DataError(dir_name + ": directory not found");
    DataSplit split;
    split.source = dir_name;
    split.train =
        read_idx_pair(find_file(dir, "train-images-idx3-ubyte"), find_file(dir, "train-labels-idx1-ubyte"), 10);
    split.test = read_idx_pair(find_file(dir, "t10k-images-idx3-ubyte"), find_file(dir, "t10k-labels-idx1-ubyte"), 10);
    if (split.train.height != split.test.height || split.train.width != split.test.width)
        throw DataError(dir_name + ": training and test images differ in size");
    split.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                         "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return split;
}

}  // namespace normout
