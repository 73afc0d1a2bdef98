#include <algorithm>
#include <atomic>
#include <cctype>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <new>
#include <set>
#include <thread>

#include "engine/data/archive.h"
#include "engine/data/image_codec.h"
#include "engine/data/readers.h"

namespace normout {

namespace {

namespace fs = std::filesystem;

struct RawImage {
    std::string split;  // train | test
    std::string cls;
    std::string name;  // path for messages
    std::vector<uint8_t> bytes;
};

bool image_extension(const std::string& file) {
    std::string ext = fs::path(file).extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return ext == ".jpg" || ext == ".jpeg" || ext == ".png";
}

// Splits "[top/]train/<class>/<file>" into (split, class); false for anything else.
bool classify(const std::string& path, std::string& split, std::string& cls) {
    std::vector<std::string> parts;
    for (const auto& p : fs::path(path))
        parts.push_back(p.string());
    for (std::size_t s = 0; s < 2 && s + 2 < parts.size(); ++s) {
        if ((parts[s] == "train" || parts[s] == "test") && s + 3 == parts.size()) {
            split = parts[s];
            cls = parts[s + 1];
            return !cls.empty() && cls[0] != '.' && !parts[s + 2].empty() && parts[s + 2][0] != '.';
        }
    }
    return false;
}

std::vector<RawImage> collect_from_directory(const fs::path& root) {
    std::vector<RawImage> images;
    for (const char* split : {"train", "test"}) {
        const fs::path dir = root / split;
        if (!fs::is_directory(dir))
            throw DataError(dir.string() +
                            ": directory not found (an image folder needs train/<class>/ and test/<class>/)");
        for (const auto& cls_entry : fs::directory_iterator(dir)) {
            if (!cls_entry.is_directory()) continue;
            const std::string cls = cls_entry.path().filename().string();
            if (cls.empty() || cls[0] == '.') continue;
            for (const auto& file : fs::directory_iterator(cls_entry.path())) {
                if (!file.is_regular_file() || !image_extension(file.path().string())) continue;
                RawImage img{split, cls, file.path().string(), {}};
                std::ifstream in(file.path(), std::ios::binary);
                if (!in) throw DataError(img.name + ": cannot open file");
                img.bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
                images.push_back(std::move(img));
            }
        }
    }
    return images;
}

std::vector<RawImage> collect_from_archive(const std::string& archive) {
    std::vector<RawImage> images;
    read_tar(
        archive,
        [](const TarFile& f) {
            std::string split, cls;
            return image_extension(f.path) && classify(f.path, split, cls);
        },
        [&](const TarFile& f, std::vector<uint8_t>&& data) {
            RawImage img;
            classify(f.path, img.split, img.cls);
            img.name = archive + ":" + f.path;
            img.bytes = std::move(data);
            images.push_back(std::move(img));
        });
    return images;
}

}  // namespace

DataSplit read_image_folder(const std::string& path) {
    const bool archive = fs::is_regular_file(path) && is_tar_name(path);
    if (!archive && !fs::is_directory(path))
        throw DataError(path + ": not found (expected a folder with train/ and test/, or a .tar/.tar.gz of one)");
    std::vector<RawImage> raw = archive ? collect_from_archive(path) : collect_from_directory(path);
    // Deterministic order whatever the file system or archive order.
    std::sort(raw.begin(), raw.end(), [](const RawImage& a, const RawImage& b) {
        return std::tie(a.split, a.cls, a.name) < std::tie(b.split, b.cls, b.name);
    });

    DataSplit split;
    split.source = path;
    std::map<std::string, std::size_t> count[2];
    for (const auto& r : raw)
        count[r.split == "test"][r.cls]++;
    if (count[0].empty()) throw DataError(path + ": no training images found under train/<class>/");
    if (count[1].empty()) throw DataError(path + ": no test images found under test/<class>/");
    std::map<std::string, int> label;
    for (const auto& [cls, n] : count[0]) {
        label[cls] = static_cast<int>(split.class_names.size());
        split.class_names.push_back(cls);
    }
    for (const auto& [cls, n] : count[1])
        if (!label.count(cls)) throw DataError(path + ": test class '" + cls + "' has no folder under train/");

    // Decode in parallel. A worker never lets an exception escape (that would terminate the
    // program): it keeps it, and the first failure in sorted order is rethrown here, as a
    // DataError naming the file.
    std::vector<DecodedImage> decoded(raw.size());
    std::vector<std::exception_ptr> errors(raw.size());
    std::atomic<std::size_t> next{0};
    auto work = [&]() noexcept {
        for (std::size_t i = next++; i < raw.size(); i = next++) {
            try {
                decoded[i] = decode_image(raw[i].bytes.data(), raw[i].bytes.size(), raw[i].name);
            } catch (...) {
                errors[i] = std::current_exception();
            }
            std::vector<uint8_t>().swap(raw[i].bytes);
        }
    };
    const unsigned workers = std::max(1u, std::min(8u, std::thread::hardware_concurrency()));
    std::vector<std::thread> pool;
    try {
        for (unsigned w = 1; w < workers; ++w)  // this thread is the last worker
            pool.emplace_back(work);
    } catch (const std::exception&) {
        // No thread (or no memory for one) left: the workers started, and this thread, suffice.
    }
    work();
    for (auto& t : pool)
        t.join();
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (!errors[i]) continue;
        try {
            std::rethrow_exception(errors[i]);
        } catch (const DataError&) {
            throw;  // decode_image's messages name the file
        } catch (const std::bad_alloc&) {
            throw DataError(raw[i].name + ": out of memory while decoding the image");
        } catch (const std::exception& e) {
            throw DataError(raw[i].name + ": cannot decode the image: " + e.what());
        } catch (...) {
            throw DataError(raw[i].name + ": cannot decode the image (unknown error)");
        }
    }

    // Every image must have the first one's size. Channels follow the widest image: a grayscale
    // image among colour ones becomes RGB (its channel replicated); all grayscale stays gray.
    const DecodedImage& first = decoded.front();
    int channels = 1;
    for (const DecodedImage& d : decoded)
        channels = std::max(channels, d.channels);
    for (ImageSet* s : {&split.train, &split.test}) {
        s->channels = channels;
        s->height = first.height;
        s->width = first.width;
    }
    for (std::size_t i = 0; i < raw.size(); ++i) {
        const DecodedImage& d = decoded[i];
        if (d.width != first.width || d.height != first.height)
            throw DataError(raw[i].name + ": image is " + std::to_string(d.width) + "x" + std::to_string(d.height) +
                            ", but " + raw.front().name + " is " + std::to_string(first.width) + "x" +
                            std::to_string(first.height) + "; all images must match");
        if (d.channels != 1 && d.channels != channels)
            throw DataError(raw[i].name + ": image has " + std::to_string(d.channels) + " channels, expected 1 or " +
                            std::to_string(channels));
        ImageSet& s = raw[i].split == "test" ? split.test : split.train;
        const std::size_t plane = static_cast<std::size_t>(d.width) * d.height;
        const std::size_t base = s.pixels.size();
        s.pixels.resize(base + plane * channels);
        for (int c = 0; c < channels; ++c) {  // interleaved HWC to planar CHW; gray fills every plane
            const int from = d.channels == 1 ? 0 : c;
            for (std::size_t p = 0; p < plane; ++p)
                s.pixels[base + c * plane + p] = d.pixels[p * d.channels + from];
        }
        s.labels.push_back(label[raw[i].cls]);
        s.count++;
    }
    return split;
}

}  // namespace normout
