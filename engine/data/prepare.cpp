#include "engine/data/prepare.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "engine/data/locate.h"
#include "engine/data/readers.h"
#include "engine/rng.h"

namespace normout {

namespace {

std::vector<int64_t> permutation(int64_t n, uint64_t seed) {
    std::vector<int64_t> p(static_cast<std::size_t>(n));
    std::iota(p.begin(), p.end(), 0);
    SplitMix64 g(seed);
    for (int64_t i = n - 1; i > 0; --i)
        std::swap(p[static_cast<std::size_t>(i)], p[g.below(static_cast<uint64_t>(i) + 1)]);
    return p;
}

void check_labels(const ImageSet& s, int classes, const std::string& source) {
    for (int64_t i = 0; i < s.count; ++i)
        if (s.labels[static_cast<std::size_t>(i)] < 0 || s.labels[static_cast<std::size_t>(i)] >= classes)
            throw DataError(source + ": label " + std::to_string(s.labels[static_cast<std::size_t>(i)]) +
                            " out of range for " + std::to_string(classes) + " classes");
}

}  // namespace

DataSplit read_dataset(const DataConfig& data, const std::vector<std::string>& roots) {
    const std::string path = locate_dataset(data, roots);
    if (data.dataset == "cifar10") return read_cifar10_binary(path);
    if (data.dataset == "fashion-mnist") return read_fashion_mnist(path);
    return read_image_folder(path);
}

void channel_statistics(const ImageSet& set, std::vector<float>& mean, std::vector<float>& stddev) {
    mean.assign(static_cast<std::size_t>(set.channels), 0.f);
    stddev.assign(static_cast<std::size_t>(set.channels), 1.f);
    const std::size_t plane = static_cast<std::size_t>(set.height) * static_cast<std::size_t>(set.width);
    for (int c = 0; c < set.channels; ++c) {
        // Integer histograms make the sums exact whatever the data set size.
        uint64_t hist[256] = {};
        for (int64_t i = 0; i < set.count; ++i) {
            const uint8_t* px = set.image(i) + static_cast<std::size_t>(c) * plane;
            for (std::size_t p = 0; p < plane; ++p)
                hist[px[p]]++;
        }
        long double n = 0, s = 0, s2 = 0;
        for (int v = 0; v < 256; ++v) {
            const long double x = v / 255.0L;
            n += hist[v];
            s += hist[v] * x;
            s2 += hist[v] * x * x;
        }
        if (n == 0) continue;
        const long double m = s / n;
        const long double var = std::max(0.0L, s2 / n - m * m);
        mean[static_cast<std::size_t>(c)] = static_cast<float>(m);
        // A constant channel would divide by zero: keep unit scale then.
        stddev[static_cast<std::size_t>(c)] = var > 1e-12L ? static_cast<float>(std::sqrt(var)) : 1.f;
    }
}

ImageSet pad_images(const ImageSet& set, int size) {
    if (set.height >= size && set.width >= size) return set;
    ImageSet out;
    out.count = set.count;
    out.channels = set.channels;
    out.height = std::max(size, set.height);
    out.width = std::max(size, set.width);
    out.labels = set.labels;
    out.pixels.assign(static_cast<std::size_t>(out.count) * out.image_bytes(), 0);
    const int top = (out.height - set.height) / 2, left = (out.width - set.width) / 2;
    for (int64_t i = 0; i < set.count; ++i)
        for (int c = 0; c < set.channels; ++c)
            for (int y = 0; y < set.height; ++y) {
                const uint8_t* src = set.image(i) + (static_cast<std::size_t>(c) * set.height + y) * set.width;
                uint8_t* dst = out.pixels.data() + static_cast<std::size_t>(i) * out.image_bytes() +
                               (static_cast<std::size_t>(c) * out.height + y + top) * out.width + left;
                std::memcpy(dst, src, static_cast<std::size_t>(set.width));
            }
    return out;
}

PreparedData prepare_data(DataSplit split, const DataConfig& data, uint64_t seed) {
    PreparedData out;
    out.source = split.source;
    out.class_names = split.class_names;
    const int classes = static_cast<int>(split.class_names.size());
    check_labels(split.train, classes, split.source);
    check_labels(split.test, classes, split.source);
    if (split.train.channels != split.test.channels || split.train.height != split.test.height ||
        split.train.width != split.test.width)
        throw DataError(split.source + ": training and test images differ in shape");

    // Seeded split: the permutation decides the validation images and the training subset.
    const auto order = permutation(split.train.count, derive_seed(seed, 0xDA7A));
    const auto n_val = static_cast<int64_t>(std::llround(data.val_fraction * static_cast<double>(split.train.count)));
    std::vector<int64_t> val_idx(order.begin(), order.begin() + n_val);
    std::vector<int64_t> train_idx(order.begin() + n_val, order.end());
    if (data.train_limit > 0 && static_cast<int64_t>(train_idx.size()) > data.train_limit)
        train_idx.resize(static_cast<std::size_t>(data.train_limit));
    if (train_idx.empty()) throw DataError(split.source + ": no training images left after the validation split");
    // Keep the natural order inside each part; shuffling happens per epoch.
    std::sort(train_idx.begin(), train_idx.end());
    std::sort(val_idx.begin(), val_idx.end());

    std::vector<int64_t> test_idx;
    if (data.test_limit > 0 && split.test.count > data.test_limit) {
        test_idx = permutation(split.test.count, derive_seed(seed, 0x7E57));
        test_idx.resize(static_cast<std::size_t>(data.test_limit));
        std::sort(test_idx.begin(), test_idx.end());
    }

    ImageSet train = split.train.subset(train_idx);
    channel_statistics(train, out.mean, out.stddev);  // before padding: the images' own statistics
    out.train = pad_images(train, data.pad_to);
    if (!val_idx.empty()) out.val = pad_images(split.train.subset(val_idx), data.pad_to);
    out.test = pad_images(test_idx.empty() ? split.test : split.test.subset(test_idx), data.pad_to);
    return out;
}

PreparedData prepare_data(const DataConfig& data, const std::vector<std::string>& roots, uint64_t seed) {
    return prepare_data(read_dataset(data, roots), data, seed);
}

}  // namespace normout
