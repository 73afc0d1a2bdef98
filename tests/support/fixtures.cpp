#include "fixtures.h"

#include <zlib.h>

#include <QtTest/QtTest>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>

#include "engine/data/image_codec.h"
#include "engine/rng.h"

namespace normout::test {

namespace fs = std::filesystem;

void write_bytes(const std::string& path, const std::string& bytes) {
    fs::create_directories(fs::path(path).parent_path());
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) throw std::runtime_error("cannot write " + path);
}

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void truncate_copy(const std::string& from, const std::string& to, std::size_t keep) {
    write_bytes(to, read_bytes(from).substr(0, keep));
}

void write_cifar_batch(const std::string& path, int records, int seed) {
    std::string bytes;
    SplitMix64 g(static_cast<uint64_t>(seed));
    for (int i = 0; i < records; ++i) {
        bytes.push_back(static_cast<char>(i % 10));
        for (int p = 0; p < 3072; ++p)
            bytes.push_back(static_cast<char>(g.next() & 0xFF));
    }
    write_bytes(path, bytes);
}

void write_cifar_dir(const std::string& dir, int per_batch) {
    for (int b = 1; b <= 5; ++b)
        write_cifar_batch(dir + "/data_batch_" + std::to_string(b) + ".bin", per_batch, b);
    write_cifar_batch(dir + "/test_batch.bin", per_batch, 99);
}

namespace {
std::string be32(uint32_t v) {
    return {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
}

void write_maybe_gz(const std::string& path, const std::string& bytes) {
    if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
        fs::create_directories(fs::path(path).parent_path());
        gzFile f = gzopen(path.c_str(), "wb");
        if (!f) throw std::runtime_error("cannot write " + path);
        gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(f);
    } else {
        write_bytes(path, bytes);
    }
}
}  // namespace

void write_idx_images(const std::string& path, const std::vector<uint8_t>& pixels, int count, int rows, int cols) {
    std::string bytes = be32(0x00000803) + be32(static_cast<uint32_t>(count)) + be32(static_cast<uint32_t>(rows)) +
                        be32(static_cast<uint32_t>(cols));
    bytes.append(pixels.begin(), pixels.end());
    write_maybe_gz(path, bytes);
}

void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels) {
    std::string bytes = be32(0x00000801) + be32(static_cast<uint32_t>(labels.size()));
    bytes.append(labels.begin(), labels.end());
    write_maybe_gz(path, bytes);
}

void write_fashion_dir(const std::string& dir, int train, int test, bool gz) {
    const std::string ext = gz ? ".gz" : "";
    SplitMix64 g(7);
    for (auto [stem, n] : {std::pair<std::string, int>{"train", train}, {"t10k", test}}) {
        std::vector<uint8_t> px(static_cast<std::size_t>(n) * 28 * 28), labels(static_cast<std::size_t>(n));
        for (auto& p : px)
            p = static_cast<uint8_t>(g.next() & 0xFF);
        for (int i = 0; i < n; ++i)
            labels[static_cast<std::size_t>(i)] = static_cast<uint8_t>(i % 10);
        write_idx_images(dir + "/" + stem + "-images-idx3-ubyte" + ext, px, n, 28, 28);
        write_idx_labels(dir + "/" + stem + "-labels-idx1-ubyte" + ext, labels);
    }
}

void write_image_folder(const std::string& dir, const std::vector<std::string>& classes, int per_class, int side,
                        int channels, bool jpeg) {
    SplitMix64 g(11);
    for (const char* split : {"train", "test"})
        for (const auto& cls : classes) {
            const fs::path d = fs::path(dir) / split / cls;
            fs::create_directories(d);
            for (int i = 0; i < per_class; ++i) {
                std::vector<uint8_t> hwc(static_cast<std::size_t>(side) * side * channels);
                for (auto& p : hwc)
                    p = static_cast<uint8_t>(g.next() & 0xFF);
                const std::string name = (d / (std::to_string(i) + (jpeg ? ".jpg" : ".png"))).string();
                if (jpeg)
                    write_jpeg(name, hwc.data(), side, side, channels, 95);
                else
                    write_png(name, hwc.data(), side, side, channels);
            }
        }
}

std::shared_ptr<const PreparedData> fashion_mnist_data(const RunConfig& config) {
    static std::map<std::string, std::shared_ptr<const PreparedData>> cache;
    DataConfig d = config.data;
    d.path = fashion_mnist_dir();
    RunConfig key;  // what prepare_data reads: the data settings but augmentation, and the seed
    key.data = d;
    key.data.augment = AugmentConfig{};
    key.train.seed = config.train.seed;
    auto& data = cache[config_to_json(key)];
    if (!data) data = std::make_shared<PreparedData>(prepare_data(d, {}, config.train.seed));
    return data;
}

std::string fashion_mnist_dir() {
    const std::string dir = "/usr/share/datasets/fashion-mnist";
    if (!fs::exists(dir + "/train-images-idx3-ubyte.gz"))
        throw std::runtime_error("Fashion-MNIST not found in " + dir +
                                 ": install Debian's dataset-fashion-mnist (the README's test command does)");
    return dir;
}

}  // namespace normout::test
