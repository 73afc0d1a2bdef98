// Batches made on the device (DeviceBatches) against the CPU loader (BatchLoader): same order,
// same labels, same augmented pixels for the same (seed, epoch, batch), here on the CPU device.
#include <ATen/ATen.h>

#include <QtTest/QtTest>
#include <chrono>
#include <cmath>
#include <cstring>

#include "engine/data/augment.h"
#include "engine/rng.h"
#include "engine/train/device_batches.h"
#include "engine/train/loader.h"
#include "engine/util/clock.h"

using namespace normout;

namespace {

ImageSet random_set(int64_t n, int channels, int height, int width, uint64_t seed) {
    ImageSet s;
    s.count = n;
    s.channels = channels;
    s.height = height;
    s.width = width;
    SplitMix64 g(seed);
    s.pixels.resize(static_cast<std::size_t>(n) * s.image_bytes());
    for (auto& p : s.pixels)
        p = static_cast<uint8_t>(g.next() >> 56);
    for (int64_t i = 0; i < n; ++i)
        s.labels.push_back(static_cast<int32_t>(g.below(10)));
    return s;
}

AugmentConfig with_interpolation(const char* interpolation) {
    AugmentConfig a;  // thesis defaults: crop 4, flip, rotation 15, two random affines
    a.interpolation = interpolation;
    return a;
}

// Larger draws than the thesis's, so that more pixels fall outside the source and the maps
// reach further from the identity.
AugmentConfig strong(const char* interpolation) {
    AugmentConfig a = with_interpolation(interpolation);
    a.crop_padding = 3;
    a.rotation_deg = 60;
    a.translate = 0.3;
    a.scale_min = 0.5;
    a.scale_max = 1.6;
    a.affine_prob = 0.8;
    return a;
}

double max_abs_diff(const at::Tensor& a, const at::Tensor& b) {
    return (a - b).abs().max().item<double>();
}

// The bilinear value is computed in float64 with the same operations in the same order on both
// paths, so it is bit-identical where the host code is compiled without contracting a * b + c
// into fused multiply-adds (x86-64 without -mfma: GCC has no FMA instruction to contract to).
#if defined(__x86_64__) && !defined(__FMA__)
constexpr bool kBilinearExact = true;
#else
constexpr bool kBilinearExact = false;
#endif

struct Case {
    const char* name;
    ImageSet set;
    AugmentConfig augment;
    int batch_size;
    bool shuffle;
};

// Compares every batch of `epoch` (from `first_batch`) of the two paths; returns the largest
// pixel difference and checks labels and shapes.
double compare_epoch(const Case& c, uint64_t seed, int epoch, int64_t first_batch, bool exact) {
    BatchLoader cpu(c.set, c.augment, c.batch_size, c.shuffle, seed, 2);
    DeviceBatches dev(c.set, c.augment, c.batch_size, c.shuffle, seed, at::kCPU);
    if (cpu.batches_per_epoch() != dev.batches_per_epoch()) throw std::runtime_error("batches_per_epoch differs");
    cpu.start_epoch(epoch, first_batch);
    dev.start_epoch(epoch, first_batch);
    Batch a, b;
    double worst = 0;
    int64_t batches = 0;
    while (cpu.next(a)) {
        const QString where =
            QString("%1 seed %2 epoch %3 batch %4").arg(c.name).arg(seed).arg(epoch).arg(first_batch + batches);
        if (!dev.next(b)) throw std::runtime_error(("device path ended early: " + where).toStdString());
        if (b.x.sizes() != a.x.sizes() || b.x.scalar_type() != at::kFloat || b.y.scalar_type() != at::kLong)
            throw std::runtime_error(("shape or type differs: " + where).toStdString());
        if (!at::equal(a.y, b.y)) throw std::runtime_error(("labels differ: " + where).toStdString());
        const double d = max_abs_diff(a.x, b.x);
        worst = std::max(worst, d);
        if (exact && !at::equal(a.x, b.x))
            throw std::runtime_error(("pixels differ by " + QString::number(d) + ": " + where).toStdString());
        ++batches;
    }
    if (dev.next(b)) throw std::runtime_error("device path has more batches");
    if (batches != cpu.batches_per_epoch() - first_batch) throw std::runtime_error("wrong number of batches");
    return worst;
}

std::vector<Case> cases() {
    std::vector<Case> out;
    // CIFAR-like, the thesis's augmentation; 100 images in batches of 16 (last batch of 4).
    out.push_back({"cifar nearest", random_set(100, 3, 32, 32, 1), with_interpolation("nearest"), 16, true});
    out.push_back({"cifar bilinear", random_set(100, 3, 32, 32, 1), with_interpolation("bilinear"), 16, true});
    // Non-square, so that rows and columns cannot be swapped unnoticed; strong draws.
    out.push_back({"7x9 strong nearest", random_set(57, 3, 7, 9, 2), strong("nearest"), 8, true});
    out.push_back({"7x9 strong bilinear", random_set(57, 3, 7, 9, 2), strong("bilinear"), 8, true});
    // One channel (Fashion-MNIST-like), no shuffle.
    out.push_back({"28x28 unshuffled nearest", random_set(40, 1, 28, 28, 3), with_interpolation("nearest"), 12, false});
    out.push_back(
        {"28x28 unshuffled bilinear", random_set(40, 1, 28, 28, 3), with_interpolation("bilinear"), 12, false});
    return out;
}

}  // namespace

class TestDeviceBatches : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void initTestCase() { qInfo() << "bilinear asserted bit-identical on this build:" << kBilinearExact; }

    void epochOrderIsTheLoaders() {
        const ImageSet s = random_set(103, 1, 2, 2, 5);
        for (bool shuffle : {true, false})
            for (uint64_t seed : {0ull, 1ull, 77ull})
                for (int epoch = 0; epoch < 4; ++epoch) {
                    BatchLoader cpu(s, AugmentConfig{}, 10, shuffle, seed, 1);
                    DeviceBatches dev(s, AugmentConfig{}, 10, shuffle, seed, at::kCPU);
                    QCOMPARE(dev.epoch_order(epoch), cpu.epoch_order(epoch));
                    QCOMPARE(dev.batches_per_epoch(), cpu.batches_per_epoch());
                }
    }

    // The resampling alone, on hand-made maps that hit the corner cases: coordinates exactly
    // half-way between pixels (lround rounds half away from zero, torch's round() to even),
    // maps that leave the image entirely, flips, rotations about the centre.
    void resamplingMatchesTheHostOnHandMadeMaps() {
        const int c = 3, h = 7, w = 9;
        const ImageSet s = random_set(1, c, h, w, 11);
        const std::vector<std::array<double, 6>> maps = {
            {1, 0, 0, 0, 1, 0},            // identity
            {0.5, 0, -0.5, 0, 0.5, -0.5},  // half-way everywhere, -0.5 .. 3.5
            {-0.5, 0, 4.5, 0, 0.5, 0.5},   // half-way, mirrored
            {1, 0, 0.5, 0, 1, -0.5},       // shifted by half a pixel
            {-1, 0, w - 1.0, 0, 1, 0},     // horizontal flip
            {1, 0, 100, 0, 1, -100},       // entirely outside
            {std::cos(0.3), -std::sin(0.3), 1.2, std::sin(0.3), std::cos(0.3), -0.7},  // rotation
            {1.7, 0.2, -3.25, -0.4, 0.6, 2.75},                                        // shear and scale
        };
        for (const char* interpolation : {"nearest", "bilinear"}) {
            AugmentConfig a;
            a.interpolation = interpolation;
            const Augmenter aug(a, c, h, w);
            const int64_t n = static_cast<int64_t>(maps.size());
            at::Tensor images = at::empty({n, c, h, w}, at::kByte);
            at::Tensor m = at::empty({n, 2, 3}, at::kDouble);
            at::Tensor expected = at::empty({n, c, h, w}, at::kFloat);
            for (int64_t k = 0; k < n; ++k) {
                std::memcpy(images[k].data_ptr<uint8_t>(), s.image(0), s.image_bytes());
                std::copy(maps[k].begin(), maps[k].end(), m.data_ptr<double>() + 6 * k);
                aug.apply_map(s.image(0), expected[k].data_ptr<float>(), maps[k]);
            }
            const at::Tensor got = resample_affine(images, m, aug.bilinear());
            QVERIFY(got.sizes() == expected.sizes());
            const double d = max_abs_diff(got, expected);
            qInfo() << interpolation << "hand-made maps, max |device - host|:" << d;
            if (aug.bilinear() && !kBilinearExact)
                QVERIFY(d <= 1e-5);
            else
                QVERIFY2(at::equal(got, expected), qPrintable(QString("max difference %1").arg(d)));
        }
        // The half-way maps really do exercise half-away rounding: torch's round() would differ.
        const at::Tensor v = at::tensor({-0.5, 0.5, 1.5, 2.5});
        QVERIFY(!at::equal(v.round(), at::tensor({-1.0, 1.0, 2.0, 3.0})));
    }

    void batchesMatchTheLoader() {
        for (const Case& c : cases()) {
            const bool bilinear = c.augment.interpolation == "bilinear";
            const bool exact = !bilinear || kBilinearExact;
            double worst = 0;
            for (uint64_t seed : {0ull, 3ull, 12345ull})
                for (int epoch : {0, 1, 7}) {
                    try {
                        worst = std::max(worst, compare_epoch(c, seed, epoch, 0, exact));
                    } catch (const std::exception& e) {
                        QFAIL(e.what());
                    }
                }
            qInfo() << c.name << "max |device - cpu|:" << worst;
            QVERIFY(worst <= 1e-5);
        }
    }

    void augmentationOffIsPlainConversion() {
        for (bool shuffle : {true, false}) {
            Case c{"off", random_set(70, 3, 32, 32, 4), AugmentConfig{}, 16, shuffle};
            c.augment.enabled = false;
            for (const char* interpolation : {"nearest", "bilinear"}) {  // ignored when off
                c.augment.interpolation = interpolation;
                for (uint64_t seed : {1ull, 9ull})
                    for (int epoch : {0, 2}) {
                        try {
                            QCOMPARE(compare_epoch(c, seed, epoch, 0, true), 0.0);
                        } catch (const std::exception& e) {
                            QFAIL(e.what());
                        }
                    }
            }
        }
    }

    // Resuming mid-epoch (first_batch > 0) gives the batches of reading from the start and
    // skipping, and those of the CPU loader resumed the same way.
    void resumingMidEpochEqualsSkipping() {
        for (const char* interpolation : {"nearest", "bilinear"}) {
            const Case c{"resume", random_set(90, 3, 16, 16, 6), with_interpolation(interpolation), 16, true};
            const uint64_t seed = 21;
            const int epoch = 4;
            DeviceBatches full(c.set, c.augment, c.batch_size, c.shuffle, seed, at::kCPU);
            full.start_epoch(epoch);
            std::vector<Batch> all;
            Batch b;
            while (full.next(b))
                all.push_back(b);
            QCOMPARE(int64_t(all.size()), full.batches_per_epoch());
            for (int64_t first : {int64_t(1), int64_t(3), int64_t(5)}) {
                DeviceBatches resumed(c.set, c.augment, c.batch_size, c.shuffle, seed, at::kCPU);
                resumed.start_epoch(epoch, first);
                for (int64_t k = first; k < full.batches_per_epoch(); ++k) {
                    QVERIFY(resumed.next(b));
                    QVERIFY(at::equal(b.x, all[static_cast<std::size_t>(k)].x));
                    QVERIFY(at::equal(b.y, all[static_cast<std::size_t>(k)].y));
                }
                QVERIFY(!resumed.next(b));
                // Restarting the same object at another batch works too.
                full.start_epoch(epoch, first);
                QVERIFY(full.next(b));
                QVERIFY(at::equal(b.x, all[static_cast<std::size_t>(first)].x));
                try {
                    const bool exact = std::string(interpolation) == "nearest" || kBilinearExact;
                    QVERIFY(compare_epoch(c, seed, epoch, first, exact) <= 1e-5);
                } catch (const std::exception& e) {
                    QFAIL(e.what());
                }
            }
            full.start_epoch(epoch, full.batches_per_epoch());  // resuming at the end: nothing left
            QVERIFY(!full.next(b));
        }
    }

    void emptySetHasNoBatches() {
        DeviceBatches dev(ImageSet{}, AugmentConfig{}, 8, true, 1, at::kCPU);
        QCOMPARE(dev.batches_per_epoch(), int64_t(0));
        dev.start_epoch(0);
        Batch b;
        QVERIFY(!dev.next(b));
    }

    // Images per second of both paths on the CPU (reported, not asserted): the device path is
    // meant for CUDA, where it removes the CPU loader from the loop.
    void throughputOnTheCpu() {
        const ImageSet s = random_set(2048, 3, 32, 32, 8);
        qInfo() << "torch intra-op threads:" << at::get_num_threads();
        for (const char* interpolation : {"nearest", "bilinear"}) {
            const AugmentConfig a = with_interpolation(interpolation);
            auto rate = [&](auto& loader) {
                loader.start_epoch(0);  // warm-up epoch
                Batch b;
                while (loader.next(b)) {
                }
                const auto t0 = std::chrono::steady_clock::now();
                int64_t images = 0;
                for (int epoch = 1; epoch <= 2; ++epoch) {
                    loader.start_epoch(epoch);
                    while (loader.next(b))
                        images += b.x.size(0);
                }
                return static_cast<double>(images) / seconds_since(t0);
            };
            BatchLoader cpu(s, a, 128, true, 1, 4);
            DeviceBatches dev(s, a, 128, true, 1, at::kCPU);
            const double cpu_rate = rate(cpu), dev_rate = rate(dev);
            qInfo().noquote() << QString("%1: BatchLoader %2 images/s, DeviceBatches on the CPU %3 images/s")
                                     .arg(interpolation)
                                     .arg(cpu_rate, 0, 'f', 0)
                                     .arg(dev_rate, 0, 'f', 0);
        }
    }
};

QTEST_GUILESS_MAIN(TestDeviceBatches)
#include "test_device_batches.moc"
