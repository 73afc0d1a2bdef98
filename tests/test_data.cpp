// Data readers (CIFAR-10 binary, IDX, image folders and archives), their error messages for
// every kind of broken file, statistics, splits, padding, augmentation, tar and MD5.
#include <png.h>
#include <zlib.h>
#include <QTemporaryDir>
#include <QtTest/QtTest>

#include <cmath>
#include <cstring>
#include <filesystem>

#include "engine/data/archive.h"
#include "engine/data/augment.h"
#include "engine/data/image_codec.h"
#include "engine/data/locate.h"
#include "engine/data/md5.h"
#include "engine/data/prepare.h"
#include "engine/data/readers.h"
#include "support/fixtures.h"

using namespace normout;
using namespace normout::test;
namespace fs = std::filesystem;

namespace {

// Runs f, expecting a DataError whose message contains every fragment.
template <class F>
void expect_data_error(F&& f, const QStringList& fragments) {
    try {
        f();
    } catch (const DataError& e) {
        const QString msg = QString::fromUtf8(e.what());
        for (const auto& frag : fragments)
            QVERIFY2(msg.contains(frag), qPrintable(QString("'%1' not in: %2").arg(frag, msg)));
        return;
    }
    QFAIL(qPrintable(QString("no DataError (expected %1)").arg(fragments.join(", "))));
}

// A tar archive (ustar) built in memory, for archive tests without external tools. `link` is the
// target of a link (type '1' or '2'); `declared` overrides the size in the header.
std::string tar_entry(const std::string& name, const std::string& data, char type = '0', const std::string& link = "",
                      unsigned long long declared = ~0ull) {
    std::string h(512, '\0');
    std::copy(name.begin(), name.end(), h.begin());
    std::copy(link.begin(), link.end(), h.begin() + 157);
    auto octal = [&](std::size_t off, std::size_t len, unsigned long long v) {
        std::string s(len - 1, '0');
        for (std::size_t i = len - 1; i-- > 0; v /= 8)
            s[i] = static_cast<char>('0' + v % 8);
        std::copy(s.begin(), s.end(), h.begin() + static_cast<long>(off));
    };
    octal(100, 8, 0644);
    octal(108, 8, 0);
    octal(116, 8, 0);
    octal(124, 12, declared == ~0ull ? data.size() : declared);
    octal(136, 12, 0);
    h[156] = type;
    std::copy_n("ustar", 5, h.begin() + 257);
    std::copy_n("00", 2, h.begin() + 263);
    std::fill(h.begin() + 148, h.begin() + 156, ' ');
    unsigned sum = 0;
    for (unsigned char c : h)
        sum += c;
    octal(148, 7, sum);
    std::string body = data + std::string((512 - data.size() % 512) % 512, '\0');
    return h + body;
}

std::string tar_end() {
    return std::string(1024, '\0');
}

// Writes `bytes` gzip-compressed.
void write_gzip(const std::string& path, const std::string& bytes) {
    gzFile f = gzopen(path.c_str(), "wb");
    QVERIFY(f);
    QCOMPARE(gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())), static_cast<int>(bytes.size()));
    QCOMPARE(gzclose(f), Z_OK);
}

// A PNG with an alpha channel (RGBA) or a palette, as libpng's simplified API writes them.
void write_png_rgba(const std::string& path, const std::vector<uint8_t>& rgba, int width, int height) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width);
    image.height = static_cast<png_uint_32>(height);
    image.format = PNG_FORMAT_RGBA;
    QVERIFY(png_image_write_to_file(&image, path.c_str(), 0, rgba.data(), 0, nullptr));
}

void write_png_palette(const std::string& path, const std::vector<uint8_t>& indices,
                       const std::vector<uint8_t>& rgb_palette, int width, int height) {
    png_image image;
    std::memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = static_cast<png_uint_32>(width);
    image.height = static_cast<png_uint_32>(height);
    image.format = PNG_FORMAT_RGB_COLORMAP;
    image.colormap_entries = static_cast<png_uint_32>(rgb_palette.size() / 3);
    QVERIFY(png_image_write_to_file(&image, path.c_str(), 0, indices.data(), 0, rgb_palette.data()));
}

}  // namespace

class TestData : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void cifarBinaryIsRead() {
        QTemporaryDir dir;
        write_cifar_dir(dir.path().toStdString(), 20);
        const DataSplit s = read_cifar10_binary(dir.path().toStdString());
        QCOMPARE(s.train.count, int64_t(100));
        QCOMPARE(s.test.count, int64_t(20));
        QCOMPARE(s.train.channels, 3);
        QCOMPARE(s.train.height, 32);
        QCOMPARE(s.class_names.size(), std::size_t(10));
        QCOMPARE(QString::fromStdString(s.class_names[0]), QString("airplane"));
        // Record 3 of data_batch_1: label 3, its 3072 pixel bytes in R, G, B planes.
        const std::string raw = read_bytes(dir.path().toStdString() + "/data_batch_1.bin");
        QCOMPARE(s.train.labels[3], 3);
        QCOMPARE(std::memcmp(s.train.image(3), raw.data() + 3 * 3073 + 1, 3072), 0);
        const std::string raw2 = read_bytes(dir.path().toStdString() + "/data_batch_2.bin");
        QCOMPARE(std::memcmp(s.train.image(20 + 5), raw2.data() + 5 * 3073 + 1, 3072), 0);
    }

    void cifarErrorsNameFileAndProblem() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        write_cifar_dir(d, 5);
        const std::string batch = d + "/data_batch_3.bin";
        truncate_copy(batch, batch + ".full", 5 * 3073);
        truncate_copy(batch + ".full", batch, 5 * 3073 - 100);  // truncated
        expect_data_error([&] { read_cifar10_binary(d); }, {"data_batch_3.bin", "not a whole number", "truncated"});
        write_bytes(batch, std::string(4 * 3074, '\1'));  // CIFAR-100 layout
        expect_data_error([&] { read_cifar10_binary(d); }, {"data_batch_3.bin", "CIFAR-100"});
        write_bytes(batch, "");
        expect_data_error([&] { read_cifar10_binary(d); }, {"data_batch_3.bin", "empty"});
        std::string bad = read_bytes(batch + ".full");
        bad[2 * 3073] = 12;  // label of record 2
        write_bytes(batch, bad);
        expect_data_error([&] { read_cifar10_binary(d); }, {"data_batch_3.bin", "label 12", "record 2"});
        fs::remove(batch);
        expect_data_error([&] { read_cifar10_binary(d); }, {"data_batch_3.bin", "not found"});
        expect_data_error([&] { read_cifar10_binary(d + "/missing"); }, {"missing", "directory not found"});
    }

    void idxPlainAndGzipAreRead() {
        for (bool gz : {false, true}) {
            QTemporaryDir dir;
            write_fashion_dir(dir.path().toStdString(), 30, 12, gz);
            const DataSplit s = read_fashion_mnist(dir.path().toStdString());
            QCOMPARE(s.train.count, int64_t(30));
            QCOMPARE(s.test.count, int64_t(12));
            QCOMPARE(s.train.channels, 1);
            QCOMPARE(s.train.height, 28);
            QCOMPARE(s.train.labels[13], 3);
            QCOMPARE(QString::fromStdString(s.class_names[9]), QString("Ankle boot"));
        }
    }

    void idxErrorsNameFileAndProblem() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        write_fashion_dir(d, 10, 10, true);
        const std::string images = d + "/train-images-idx3-ubyte.gz";
        const std::string labels = d + "/train-labels-idx1-ubyte.gz";
        const std::string good_images = read_bytes(images), good_labels = read_bytes(labels);

        truncate_copy(images + "", images, good_images.size() / 2);  // truncated gzip stream
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-images-idx3-ubyte.gz"});
        write_bytes(images, "garbage that is not gzip and not idx");
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-images-idx3-ubyte.gz", "not an IDX image file"});
        write_bytes(images, good_images);

        // Wrong size: more labels than images.
        write_idx_labels(labels, std::vector<uint8_t>(11, 1));
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-labels-idx1-ubyte.gz", "11 labels", "10 images"});
        // Label out of range.
        std::vector<uint8_t> l(10, 1);
        l[4] = 10;
        write_idx_labels(labels, l);
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-labels-idx1-ubyte.gz", "label 10", "item 4"});
        // Extra bytes after the declared images.
        std::vector<uint8_t> px(10 * 28 * 28 + 5, 0);
        write_idx_images(images, px, 10, 28, 28);
        write_bytes(labels, good_labels);
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-images-idx3-ubyte.gz", "extra bytes"});
        // Declared size larger than the file.
        std::vector<uint8_t> few(5 * 28 * 28, 0);
        write_idx_images(images, few, 10, 28, 28);
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-images-idx3-ubyte.gz", "truncated"});
        // Labels file given where images are expected.
        write_bytes(images, good_labels);
        expect_data_error([&] { read_fashion_mnist(d); }, {"not an IDX image file", "0x00000801"});
        fs::remove(images);
        expect_data_error([&] { read_fashion_mnist(d); }, {"train-images-idx3-ubyte", "not found"});
    }

    void realFashionMnistHasKnownStatistics() {
        const std::string d = fashion_mnist_dir();
        const DataSplit s = read_fashion_mnist(d);
        QCOMPARE(s.train.count, int64_t(60000));
        QCOMPARE(s.test.count, int64_t(10000));
        std::vector<float> mean, stddev;
        channel_statistics(s.train, mean, stddev);
        // The published statistics of the Fashion-MNIST training set.
        QVERIFY2(std::fabs(mean[0] - 0.2860) < 5e-4, qPrintable(QString::number(mean[0])));
        QVERIFY2(std::fabs(stddev[0] - 0.3530) < 5e-4, qPrintable(QString::number(stddev[0])));
    }

    void statisticsAreExact() {
        ImageSet s;
        s.count = 2;
        s.channels = 2;
        s.height = 1;
        s.width = 2;
        s.pixels = {0, 255, 51, 51, /* image 2 */ 255, 255, 102, 0};
        s.labels = {0, 1};
        std::vector<float> mean, stddev;
        channel_statistics(s, mean, stddev);
        // channel 0: {0, 1, 1, 1}; channel 1: {0.2, 0.2, 0.4, 0}
        QVERIFY(std::fabs(mean[0] - 0.75) < 1e-6);
        QVERIFY(std::fabs(stddev[0] - std::sqrt(0.1875)) < 1e-6);
        QVERIFY(std::fabs(mean[1] - 0.2) < 1e-6);
        QVERIFY(std::fabs(stddev[1] - std::sqrt(0.02)) < 1e-6);
    }

    void imageFolderPngAndJpeg() {
        for (bool jpeg : {false, true})
            for (int channels : {1, 3}) {
                QTemporaryDir dir;
                write_image_folder(dir.path().toStdString(), {"cat", "ant", "bee"}, 4, 8, channels, jpeg);
                const DataSplit s = read_image_folder(dir.path().toStdString());
                QCOMPARE(s.train.count, int64_t(12));
                QCOMPARE(s.test.count, int64_t(12));
                QCOMPARE(s.train.channels, channels);
                QCOMPARE(s.train.width, 8);
                QCOMPARE(s.class_names, (std::vector<std::string>{"ant", "bee", "cat"}));  // sorted
                QCOMPARE(s.train.labels.front(), 0);
                QCOMPARE(s.train.labels.back(), 2);
            }
        // PNG is lossless: pixels come back exactly, in planar order.
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        std::vector<uint8_t> hwc = {10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120};  // 2x2 RGB
        fs::create_directories(d + "/train/a");
        fs::create_directories(d + "/test/a");
        write_png(d + "/train/a/x.png", hwc.data(), 2, 2, 3);
        write_png(d + "/test/a/x.png", hwc.data(), 2, 2, 3);
        const DataSplit s = read_image_folder(d);
        const std::vector<uint8_t> planar(s.train.pixels.begin(), s.train.pixels.end());
        QCOMPARE(planar, (std::vector<uint8_t>{10, 40, 70, 100, 20, 50, 80, 110, 30, 60, 90, 120}));
    }

    void imageFolderErrors() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        expect_data_error([&] { read_image_folder(d + "/nothing"); }, {"nothing", "not found"});
        write_image_folder(d, {"a", "b"}, 2, 8, 3, false);
        fs::remove_all(d + "/test");
        expect_data_error([&] { read_image_folder(d); }, {"test", "directory not found"});
        write_image_folder(d, {"a", "b"}, 2, 8, 3, false);
        write_bytes(d + "/train/a/broken.jpg", std::string("\xFF\xD8\xFF\xE0 then nothing useful", 24));
        expect_data_error([&] { read_image_folder(d); }, {"broken.jpg", "corrupt JPEG"});
        fs::remove(d + "/train/a/broken.jpg");
        write_bytes(d + "/train/a/broken.png", "\x89PNG\r\n\x1a\n-not-really");
        expect_data_error([&] { read_image_folder(d); }, {"broken.png", "corrupt PNG"});
        fs::remove(d + "/train/a/broken.png");
        write_bytes(d + "/train/a/text.png", "hello");
        expect_data_error([&] { read_image_folder(d); }, {"text.png", "not a JPEG or PNG"});
        fs::remove(d + "/train/a/text.png");
        std::vector<uint8_t> big(16 * 16 * 3, 7);
        write_png(d + "/train/b/big.png", big.data(), 16, 16, 3);
        expect_data_error([&] { read_image_folder(d); }, {"big.png", "16x16", "must match"});
        fs::remove(d + "/train/b/big.png");
        fs::create_directories(d + "/test/zebra");
        write_png(d + "/test/zebra/z.png", big.data(), 8, 8, 3);
        expect_data_error([&] { read_image_folder(d); }, {"zebra", "no folder under train"});
    }

    void imageFolderConvertsGrayAndPalette() {
        // One grayscale JPEG among RGB ones becomes RGB: its gray value in all three channels.
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        write_image_folder(d, {"a", "b"}, 2, 8, 3, true);
        std::vector<uint8_t> gray(8 * 8);
        for (std::size_t i = 0; i < gray.size(); ++i)
            gray[i] = static_cast<uint8_t>(i * 4);
        write_jpeg(d + "/train/a/gray.jpg", gray.data(), 8, 8, 1, 95);
        const std::string bytes = read_bytes(d + "/train/a/gray.jpg");
        const DecodedImage g = decode_image(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "gray.jpg");
        QCOMPARE(g.channels, 1);
        const DataSplit s = read_image_folder(d);
        QCOMPARE(s.train.channels, 3);
        QCOMPARE(s.train.count, int64_t(5));
        const uint8_t* img = s.train.image(2);  // train/a: 0.jpg, 1.jpg, gray.jpg
        QCOMPARE(s.train.labels[2], 0);
        for (int c = 0; c < 3; ++c)
            QCOMPARE(std::vector<uint8_t>(img + c * 64, img + (c + 1) * 64), g.pixels);

        // RGBA and palette PNGs among RGB ones become RGB (opaque alpha: the colours unchanged).
        QTemporaryDir pdir;
        const std::string p = pdir.path().toStdString();
        write_image_folder(p, {"a"}, 1, 2, 3, false);
        const std::vector<uint8_t> rgba = {10, 20, 30, 255, 40, 50, 60, 255, 70, 80, 90, 255, 1, 2, 3, 255};
        write_png_rgba(p + "/train/a/rgba.png", rgba, 2, 2);
        write_png_palette(p + "/train/a/xpal.png", {0, 1, 1, 0}, {200, 100, 50, 5, 6, 7}, 2, 2);
        const DataSplit ps = read_image_folder(p);
        QCOMPARE(ps.train.channels, 3);
        QCOMPARE(ps.train.count, int64_t(3));  // 0.png, rgba.png, xpal.png
        const uint8_t* r = ps.train.image(1);
        QCOMPARE(std::vector<uint8_t>(r, r + 12), (std::vector<uint8_t>{10, 40, 70, 1, 20, 50, 80, 2, 30, 60, 90, 3}));
        const uint8_t* x = ps.train.image(2);
        QCOMPARE(std::vector<uint8_t>(x, x + 12), (std::vector<uint8_t>{200, 5, 5, 200, 100, 6, 6, 100, 50, 7, 7, 50}));

        // A folder of grayscale images only stays grayscale.
        QTemporaryDir gdir;
        write_image_folder(gdir.path().toStdString(), {"a"}, 2, 8, 1, true);
        QCOMPARE(read_image_folder(gdir.path().toStdString()).train.channels, 1);
    }

    void imageFolderReportsFirstBrokenFile() {
        // Decoding runs on worker threads; their errors come back here, naming the file, and the
        // same file whatever the thread timing (the first in sorted order).
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        write_image_folder(d, {"a", "b"}, 20, 8, 3, false);
        write_bytes(d + "/train/b/zz-broken.png", "\x89PNG\r\n\x1a\n-not-really");
        write_bytes(d + "/train/a/yy-broken.jpg", std::string("\xFF\xD8\xFF\xE0 then nothing useful", 24));
        for (int i = 0; i < 5; ++i)
            expect_data_error([&] { read_image_folder(d); }, {"train/a/yy-broken.jpg", "corrupt JPEG"});
    }

    void imageFolderFromArchive() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        std::vector<uint8_t> px(4 * 4 * 3, 99);
        write_png(d + "/p.png", px.data(), 4, 4, 3);
        const std::string png = read_bytes(d + "/p.png");
        std::string tar = tar_entry("./", "", '5') + tar_entry("./train/dog/0.png", png) +
                          tar_entry("./train/cat/0.png", png) + tar_entry("./train/cat/1.png", png) +
                          tar_entry("./test/cat/0.png", png) + tar_entry("README", "not an image") + tar_end();
        write_bytes(d + "/set.tar", tar);
        if (!tar_supported()) {
            expect_data_error([&] { read_image_folder(d + "/set.tar"); }, {"set.tar", "no archive support"});
            QSKIP("built without libarchive");
        }
        for (const char* name : {"set.tar", "set.tar.gz"}) {
            if (std::string(name) == "set.tar.gz") write_gzip(d + "/set.tar.gz", tar);
            const DataSplit s = read_image_folder(d + "/" + name);
            QCOMPARE(s.train.count, int64_t(3));
            QCOMPARE(s.test.count, int64_t(1));
            QCOMPARE(s.class_names, (std::vector<std::string>{"cat", "dog"}));
            QCOMPARE(s.train.pixels, std::vector<uint8_t>(3 * 4 * 4 * 3, 99));
        }

        // Archive damage is reported with the archive's name (and the member, once known).
        std::string corrupt = tar;
        corrupt[150] = 'x';  // inside the first header's checksum field
        write_bytes(d + "/bad.tar", corrupt);
        expect_data_error([&] { read_image_folder(d + "/bad.tar"); }, {"bad.tar", "corrupt"});
        corrupt = tar;
        const std::size_t second = 512 + 512 + (png.size() + 511) / 512 * 512;  // "./" then dog/0.png
        corrupt[second + 150] = 'x';
        write_bytes(d + "/bad2.tar", corrupt);
        expect_data_error([&] { read_image_folder(d + "/bad2.tar"); }, {"bad2.tar", "corrupt", "train/dog/0.png"});
        write_bytes(d + "/short.tar", tar.substr(0, 512 + 700));
        expect_data_error([&] { read_image_folder(d + "/short.tar"); }, {"short.tar", "truncated"});
        write_gzip(d + "/short.tar.gz", tar.substr(0, 512 + 700));
        expect_data_error([&] { read_image_folder(d + "/short.tar.gz"); }, {"short.tar.gz", "truncated"});
        const std::string gz = read_bytes(d + "/set.tar.gz");
        write_bytes(d + "/cut.tar.gz", gz.substr(0, gz.size() / 2));  // a cut gzip stream
        expect_data_error([&] { read_image_folder(d + "/cut.tar.gz"); }, {"cut.tar.gz"});
        write_bytes(d + "/text.tar", "this is not a tar archive at all\n");
        expect_data_error([&] { read_image_folder(d + "/text.tar"); }, {"text.tar", "not a tar"});
        // Unsafe members are refused when reading too, not only when extracting.
        write_bytes(d + "/evil.tar", tar_entry("train/cat/0.png", png) + tar_entry("../evil", "x") + tar_end());
        expect_data_error([&] { read_image_folder(d + "/evil.tar"); }, {"evil.tar", "unsafe path", "../evil"});
        write_bytes(d + "/link.tar", tar_entry("train/cat/0.png", png) +
                                         tar_entry("test/cat/0.png", "", '2', "../../train/cat/0.png") + tar_end());
        expect_data_error([&] { read_image_folder(d + "/link.tar"); }, {"link.tar", "test/cat/0.png", "symbolic link"});
        // A member claiming more than 1 GiB is refused before anything is read.
        write_bytes(d + "/huge.tar", tar_entry("train/cat/0.png", png, '0', "", 3ull << 30) + tar_end());
        expect_data_error([&] { read_image_folder(d + "/huge.tar"); }, {"huge.tar", "train/cat/0.png", "1 GiB"});
    }

    void extractRefusesUnsafePaths() {
        QTemporaryDir dir;
        const std::string d = dir.path().toStdString();
        write_bytes(d + "/ok.tar", tar_entry("./", "", '5') + tar_entry("a/", "", '5') + tar_entry("a/b.txt", "hello") +
                                       tar_entry("./c/d/e.txt", "") + tar_end());
        if (!tar_supported()) {
            expect_data_error([&] { extract_tar(d + "/ok.tar", d + "/out"); }, {"ok.tar", "no archive support"});
            QSKIP("built without libarchive");
        }
        extract_tar(d + "/ok.tar", d + "/out");
        QCOMPARE(QString::fromStdString(read_bytes(d + "/out/a/b.txt")), QString("hello"));
        QVERIFY(fs::is_regular_file(d + "/out/c/d/e.txt"));

        const std::string abs = d + "/absolute.txt";
        const struct {
            const char* file;
            std::string tar;
            QStringList fragments;
        } cases[] = {
            {"evil.tar", tar_entry("../escape.txt", "x"), {"evil.tar", "unsafe path", "../escape.txt"}},
            {"deep.tar", tar_entry("a/../../escape.txt", "x"), {"deep.tar", "unsafe path"}},
            {"abs.tar", tar_entry(abs, "x"), {"abs.tar", "unsafe path", QString::fromStdString(abs)}},
            {"symlink.tar",
             tar_entry("a/link", "", '2', "../../escape.txt") + tar_entry("a/link", "x"),
             {"symlink.tar", "a/link", "symbolic link", "refused"}},
            {"hardlink.tar", tar_entry("a/hard", "", '1', "/etc/passwd"), {"hardlink.tar", "a/hard", "hard link"}},
            {"fifo.tar", tar_entry("a/fifo", "", '6'), {"fifo.tar", "a/fifo", "FIFO"}},
        };
        for (const auto& c : cases) {
            write_bytes(d + "/" + c.file, c.tar + tar_end());
            expect_data_error([&] { extract_tar(d + "/" + c.file, d + "/out2"); }, c.fragments);
            QVERIFY(!fs::exists(d + "/escape.txt"));
            QVERIFY(!fs::exists(abs));
            QVERIFY(!fs::exists(d + "/out2/a/link") && !fs::exists(d + "/out2/a/hard"));
        }
        // A link already in the destination is not written through.
        fs::create_directories(d + "/out3");
        fs::create_directories(d + "/elsewhere");
        fs::create_directory_symlink(d + "/elsewhere", d + "/out3/a");
        expect_data_error([&] { extract_tar(d + "/ok.tar", d + "/out3"); }, {"ok.tar", "symbolic link"});
        QVERIFY(!fs::exists(d + "/elsewhere/b.txt"));
        // Truncated member data.
        const std::string full = tar_entry("a/big.bin", std::string(5000, 'z')) + tar_end();
        write_bytes(d + "/short.tar", full.substr(0, 512 + 3000));
        expect_data_error([&] { extract_tar(d + "/short.tar", d + "/out4"); }, {"short.tar", "truncated", "a/big.bin"});
    }

    void locateSearchesRootsInOrder() {
        QTemporaryDir a, b;
        write_cifar_dir(b.path().toStdString() + "/cifar-10-batches-bin", 1);
        DataConfig c;
        c.dataset = "cifar10";
        const std::string found = locate_dataset(c, {a.path().toStdString(), b.path().toStdString()});
        QCOMPARE(QString::fromStdString(found), b.path() + "/cifar-10-batches-bin");
        write_cifar_dir(a.path().toStdString(), 1);  // the first root itself holds the files
        QCOMPARE(QString::fromStdString(locate_dataset(c, {a.path().toStdString(), b.path().toStdString()})), a.path());
        QTemporaryDir empty;
        expect_data_error([&] { locate_dataset(c, {empty.path().toStdString()}); },
                          {"not found", "normout data fetch cifar10"});
        qputenv("NORMOUT_DATA", b.path().toUtf8());
        const auto roots = data_roots("/cli/root");
        QCOMPARE(QString::fromStdString(roots[0]), QString("/cli/root"));
        QCOMPARE(QString::fromStdString(roots[1]), b.path());
        QCOMPARE(QString::fromStdString(roots[2]), QString::fromStdString(default_data_dir()));
        qunsetenv("NORMOUT_DATA");
    }

    void prepareSplitsLimitsAndPads() {
        QTemporaryDir dir;
        write_fashion_dir(dir.path().toStdString(), 200, 50, false);
        DataConfig c;
        c.dataset = "fashion-mnist";
        c.path = dir.path().toStdString();
        c.val_fraction = 0.1;
        c.train_limit = 150;
        c.test_limit = 20;
        const PreparedData p = prepare_data(c, {}, 5);
        QCOMPARE(p.val.count, int64_t(20));
        QCOMPARE(p.train.count, int64_t(150));
        QCOMPARE(p.test.count, int64_t(20));
        QCOMPARE(p.train.height, 32);  // padded from 28
        QCOMPARE(p.val.width, 32);
        // Same seed, same split; another seed, another split.
        const PreparedData again = prepare_data(c, {}, 5);
        QCOMPARE(again.train.pixels, p.train.pixels);
        const PreparedData other = prepare_data(c, {}, 6);
        QVERIFY(other.train.pixels != p.train.pixels);
        // Statistics are those of the (unpadded) training images only.
        const DataSplit raw = read_fashion_mnist(dir.path().toStdString());
        QVERIFY(p.mean[0] > 0.4 && p.mean[0] < 0.6);  // uniform random pixels
    }

    void paddingCentresImages() {
        ImageSet s;
        s.count = 1;
        s.channels = 1;
        s.height = 2;
        s.width = 2;
        s.pixels = {1, 2, 3, 4};
        s.labels = {0};
        const ImageSet p = pad_images(s, 4);
        QCOMPARE(p.pixels, (std::vector<uint8_t>{0, 0, 0, 0, 0, 1, 2, 0, 0, 3, 4, 0, 0, 0, 0, 0}));
    }

    void augmentationOffIsPlainConversion() {
        AugmentConfig a;
        a.enabled = false;
        Augmenter aug(a, 1, 2, 2);
        const uint8_t src[4] = {0, 51, 255, 102};
        float dst[4];
        aug.apply(src, dst, 1);
        QCOMPARE(dst[0], 0.f);
        QCOMPARE(dst[1], 0.2f);
        QCOMPARE(dst[2], 1.f);
        QCOMPARE(dst[3], 0.4f);
    }

    void augmentationFlipAndCropAreExact() {
        AugmentConfig a;
        a.crop_padding = 0;
        a.rotation_deg = 0;
        a.affine_repeats = 0;
        a.hflip = true;
        const int side = 5;
        Augmenter aug(a, 1, side, side);
        std::vector<uint8_t> src(side * side);
        for (int i = 0; i < side * side; ++i)
            src[static_cast<std::size_t>(i)] = static_cast<uint8_t>(i * 10);
        int flipped = 0, kept = 0;
        for (uint64_t seed = 0; seed < 200; ++seed) {
            std::vector<float> out(side * side);
            aug.apply(src.data(), out.data(), seed);
            bool is_flip = true, is_same = true;
            for (int y = 0; y < side; ++y)
                for (int x = 0; x < side; ++x) {
                    is_flip &= out[y * side + x] == src[y * side + (side - 1 - x)] * (1.f / 255.f);
                    is_same &= out[y * side + x] == src[y * side + x] * (1.f / 255.f);
                }
            QVERIFY(is_flip || is_same);
            flipped += is_flip;
            kept += is_same;
        }
        // Half of the images are flipped: 200 draws, p = 1/2, 5 standard errors.
        QVERIFY(std::abs(flipped - 100) <= 5 * std::sqrt(50.0));

        // Crop with padding 2 only: every output is the input shifted by (dx, dy) in [-2, 2],
        // zero where the shift uncovers the border.
        a.hflip = false;
        a.crop_padding = 2;
        Augmenter crop(a, 1, side, side);
        for (uint64_t seed = 0; seed < 50; ++seed) {
            const auto m = crop.draw_inverse_map(seed);
            QCOMPARE(m[0], 1.0);
            QCOMPARE(m[4], 1.0);
            const int dx = static_cast<int>(m[2]), dy = static_cast<int>(m[5]);
            QVERIFY(std::abs(dx) <= 2 && std::abs(dy) <= 2);
            std::vector<float> out(side * side);
            crop.apply(src.data(), out.data(), seed);
            for (int y = 0; y < side; ++y)
                for (int x = 0; x < side; ++x) {
                    const int sx = x + dx, sy = y + dy;
                    const float expect =
                        (sx >= 0 && sy >= 0 && sx < side && sy < side) ? src[sy * side + sx] * (1.f / 255.f) : 0.f;
                    QCOMPARE(out[y * side + x], expect);
                }
        }
    }

    void augmentationIsSeededAndStaysInRange() {
        AugmentConfig a;  // thesis defaults: crop, flip, rotation, two affines
        a.interpolation = "bilinear";
        Augmenter aug(a, 3, 32, 32);
        std::vector<uint8_t> src(3 * 32 * 32);
        for (std::size_t i = 0; i < src.size(); ++i)
            src[i] = static_cast<uint8_t>((i * 7) % 256);
        std::vector<float> a1(src.size()), a2(src.size()), b(src.size());
        aug.apply(src.data(), a1.data(), 77);
        aug.apply(src.data(), a2.data(), 77);
        aug.apply(src.data(), b.data(), 78);
        QCOMPARE(a1, a2);
        QVERIFY(a1 != b);
        for (float v : a1)
            QVERIFY(v >= 0.f && v <= 1.f);
        // Rotation angles stay within the configured range: the linear part of the inverse map is
        // a rotation times a scale in [1/1.1^2, 1/0.9^2].
        for (uint64_t seed = 0; seed < 100; ++seed) {
            const auto m = aug.draw_inverse_map(seed);
            const double scale = std::sqrt(std::fabs(m[0] * m[4] - m[1] * m[3]));
            QVERIFY(scale > 1 / 1.1 / 1.1 - 1e-9 && scale < 1 / 0.9 / 0.9 + 1e-9);
            const double det = m[0] * m[4] - m[1] * m[3];
            // A flip mirrors the x axis; undo it before reading the angle.
            const double angle = std::fabs(det > 0 ? std::atan2(m[3], m[0]) : std::atan2(-m[3], -m[0])) * 180 / M_PI;
            QVERIFY2(angle <= 15 + 1e-9, qPrintable(QString::number(angle)));
        }
    }

    void md5MatchesRfc1321() {
        if (!md5_available()) QSKIP("built without OpenSSL");
        QCOMPARE(QString::fromStdString(md5_hex("")), QString("d41d8cd98f00b204e9800998ecf8427e"));
        QCOMPARE(QString::fromStdString(md5_hex("abc")), QString("900150983cd24fb0d6963f7d28e17f72"));
        QCOMPARE(QString::fromStdString(md5_hex("message digest")), QString("f96b697d7cb7938d525a2f31aaf161d0"));
        QCOMPARE(QString::fromStdString(
                     md5_hex("12345678901234567890123456789012345678901234567890123456789012345678901234567890")),
                 QString("57edf4a22be3c955ac49da2e2107b67a"));
        QCOMPARE(QString::fromStdString(md5_hex("a")), QString("0cc175b9c0f1b6a831c399e269772661"));
        QCOMPARE(QString::fromStdString(md5_hex("abcdefghijklmnopqrstuvwxyz")),
                 QString("c3fcd3d76192e4007dfb496cca67e13b"));
        // Fed in pieces, and from a file, the digest is the same.
        const std::string text = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        Md5 m;
        for (char c : text)
            m.update(&c, 1);
        QCOMPARE(QString::fromStdString(m.hex_digest()), QString("d174ab98d277d9f5a5611c2c9f419d9f"));
        QTemporaryDir dir;
        write_bytes(dir.path().toStdString() + "/t.txt", text);
        QCOMPARE(QString::fromStdString(md5_file(dir.path().toStdString() + "/t.txt")),
                 QString("d174ab98d277d9f5a5611c2c9f419d9f"));
        try {
            md5_file(dir.path().toStdString() + "/missing");
            QFAIL("no error for a missing file");
        } catch (const std::runtime_error& e) {
            QVERIFY(QString(e.what()).contains("missing"));
        }
    }
};

QTEST_APPLESS_MAIN(TestData)
#include "test_data.moc"
