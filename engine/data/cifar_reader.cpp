#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/data/readers.h"

namespace normout {

namespace {

constexpr int kSide = 32;
constexpr std::size_t kPixels = 3 * kSide * kSide;
constexpr std::size_t kRecord = 1 + kPixels;

void append_batch(const std::filesystem::path& file, ImageSet& set) {
    const std::string name = file.string();
    if (!std::filesystem::exists(file)) throw DataError(name + ": file not found (CIFAR-10 binary release expected)");
    std::error_code ec;
    const auto size = std::filesystem::file_size(file, ec);
    if (ec) throw DataError(name + ": cannot read file size: " + ec.message());
    if (size == 0) throw DataError(name + ": file is empty");
    if (size % kRecord != 0) {
        std::ostringstream msg;
        msg << name << ": wrong size, " << size << " bytes is not a whole number of " << kRecord
            << "-byte records (1 label byte + 3072 pixel bytes)";
        if (size % (kRecord + 1) == 0)
            msg << "; it looks like the CIFAR-100 binary format (2 label bytes)";
        else
            msg << "; the file is truncated or not a CIFAR-10 batch";
        throw DataError(msg.str());
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) throw DataError(name + ": cannot open file");
    const auto records = static_cast<int64_t>(size / kRecord);
    const std::size_t old_pixels = set.pixels.size();
    set.pixels.resize(old_pixels + static_cast<std::size_t>(records) * kPixels);
    set.labels.reserve(set.labels.size() + static_cast<std::size_t>(records));
    std::vector<char> record(kRecord);
    for (int64_t r = 0; r < records; ++r) {
        if (!in.read(record.data(), static_cast<std::streamsize>(kRecord)))
            throw DataError(name + ": read error at record " + std::to_string(r));
        const auto label = static_cast<unsigned char>(record[0]);
        if (label > 9)
            throw DataError(name + ": label " + std::to_string(label) + " out of range 0..9 at record " +
                            std::to_string(r) + " (byte offset " + std::to_string(r * kRecord) + ")");
        set.labels.push_back(label);
        std::copy(record.begin() + 1, record.end(),
                  set.pixels.begin() + static_cast<std::ptrdiff_t>(old_pixels + static_cast<std::size_t>(r) * kPixels));
    }
    set.count += records;
}

std::vector<std::string> class_names(const std::filesystem::path& dir) {
    std::vector<std::string> names;
    std::ifstream meta(dir / "batches.meta.txt");
    std::string line;
    while (meta && std::getline(meta, line)) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' '))
            line.pop_back();
        if (!line.empty()) names.push_back(line);
    }
    if (names.size() != 10)
        names = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
    return names;
}

}  // namespace

DataSplit read_cifar10_binary(const std::string& dir_name) {
    const std::filesystem::path dir(dir_name);
    if (!std::filesystem::is_directory(dir)) throw DataError(dir_name + ": directory not found");
    DataSplit split;
    split.source = dir_name;
    for (ImageSet* s : {&split.train, &split.test}) {
        s->channels = 3;
        s->height = kSide;
        s->width = kSide;
    }
    for (int b = 1; b <= 5; ++b)
        append_batch(dir / ("data_batch_" + std::to_string(b) + ".bin"), split.train);
    append_batch(dir / "test_batch.bin", split.test);
    split.class_names = class_names(dir);
    return split;
}

}  // namespace normout
