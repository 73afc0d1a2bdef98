// Feeds arbitrary bytes to the data readers: CIFAR-10 batches, IDX files (plain and gzip), JPEG
// and PNG images, and tar archives of image folders. Any DataError is a correct answer; a crash,
// a sanitizer report or a hang is a bug.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>

#include "engine/data/archive.h"
#include "engine/data/image_codec.h"
#include "engine/data/readers.h"
#include "fuzz/fuzz_common.h"

namespace fs = std::filesystem;

namespace {

// TMPDIR/normout-fuzz-data-<pid>, removed at exit (fuzz_common.h).
const std::string& work_dir() {
    return fuzz::scratch("data");
}

void write(const std::string& path, const uint8_t* data, size_t size) {
    fs::create_directories(fs::path(path).parent_path());
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
}

template <class F>
void expect_clean(F&& f) {
    try {
        f();
    } catch (const normout::DataError&) {
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size < 1) return 0;
    const uint8_t mode = data[0] % 5;
    ++data;
    --size;
    const std::string dir = work_dir();
    switch (mode) {
        case 0: {  // one CIFAR-10 batch file among well-formed ones
            for (const char* name : {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
                                     "data_batch_5.bin", "test_batch.bin"})
                write(dir + "/cifar/" + name, data, std::min<size_t>(size, 3073 * 2));
            write(dir + "/cifar/data_batch_3.bin", data, size);
            expect_clean([&] { normout::read_cifar10_binary(dir + "/cifar"); });
            break;
        }
        case 1:    // IDX images and labels split from the input, plain
        case 2: {  // ... and the whole input as a gzip stream
            const size_t half = size / 2;
            const std::string ext = mode == 2 ? ".gz" : "";
            write(dir + "/idx/images" + ext, data, mode == 2 ? size : half);
            write(dir + "/idx/labels" + ext, data + (mode == 2 ? 0 : half), mode == 2 ? size : size - half);
            expect_clean([&] { normout::read_idx_pair(dir + "/idx/images" + ext, dir + "/idx/labels" + ext, 10); });
            break;
        }
        case 3:  // an image in memory
            expect_clean([&] { normout::decode_image(data, size, "input"); });
            break;
        case 4:  // a tar archive of an image folder
            write(dir + "/set.tar", data, size);
            expect_clean([&] { normout::read_image_folder(dir + "/set.tar"); });
            expect_clean([&] { normout::extract_tar(dir + "/set.tar", dir + "/extracted"); });
            std::error_code ec;
            fs::remove_all(dir + "/extracted", ec);
            break;
    }
    return 0;
}
