// The training batch loader: seeded shuffles, complete epochs, reproducible batches.
#include <ATen/ATen.h>

#include <QtTest/QtTest>
#include <algorithm>
#include <set>

#include "engine/train/loader.h"

using namespace normout;

namespace {
ImageSet numbered_set(int n) {
    ImageSet s;
    s.count = n;
    s.channels = 1;
    s.height = 2;
    s.width = 2;
    for (int i = 0; i < n; ++i) {
        for (int p = 0; p < 4; ++p)
            s.pixels.push_back(static_cast<uint8_t>(i));
        s.labels.push_back(i % 10);
    }
    return s;
}
AugmentConfig off() {
    AugmentConfig a;
    a.enabled = false;
    return a;
}
}  // namespace

class TestLoader : public QObject {
    Q_OBJECT
  private Q_SLOTS:
    void epochOrderIsASeededPermutation() {
        const ImageSet s = numbered_set(100);
        BatchLoader a(s, off(), 16, true, 3, 2), b(s, off(), 16, true, 3, 2), c(s, off(), 16, true, 4, 2);
        const auto o0 = a.epoch_order(0);
        auto sorted = o0;
        std::sort(sorted.begin(), sorted.end());
        for (int i = 0; i < 100; ++i)
            QCOMPARE(sorted[static_cast<std::size_t>(i)], int64_t(i));
        QCOMPARE(o0, b.epoch_order(0));
        QVERIFY(o0 != a.epoch_order(1));
        QVERIFY(o0 != c.epoch_order(0));
    }

    void everySampleOncePerEpochWithAPartialLastBatch() {
        const ImageSet s = numbered_set(100);
        BatchLoader loader(s, off(), 16, true, 1, 3);
        QCOMPARE(loader.batches_per_epoch(), int64_t(7));
        for (int epoch = 0; epoch < 2; ++epoch) {
            loader.start_epoch(epoch);
            std::multiset<int> seen;
            std::vector<int64_t> sizes;
            Batch b;
            const auto order = loader.epoch_order(epoch);
            std::size_t k = 0;
            while (loader.next(b)) {
                sizes.push_back(b.x.size(0));
                for (int64_t i = 0; i < b.x.size(0); ++i) {
                    const int id = static_cast<int>(std::lround(b.x[i][0][0][0].item<float>() * 255));
                    QCOMPARE(int64_t(id), order[k++]);  // batches follow the epoch order
                    QCOMPARE(b.y[i].item<int64_t>(), int64_t(id % 10));
                    seen.insert(id);
                }
            }
            QCOMPARE(sizes.back(), int64_t(4));
            QCOMPARE(seen.size(), std::size_t(100));
            QCOMPARE(std::set<int>(seen.begin(), seen.end()).size(), std::size_t(100));
        }
    }

    void augmentedBatchesDoNotDependOnThreadTiming() {
        ImageSet s;
        s.count = 64;
        s.channels = 3;
        s.height = s.width = 8;
        for (int i = 0; i < 64 * 3 * 64; ++i)
            s.pixels.push_back(static_cast<uint8_t>((i * 13) % 251));
        for (int i = 0; i < 64; ++i)
            s.labels.push_back(i % 10);
        AugmentConfig a;  // thesis augmentation
        BatchLoader fast(s, a, 8, true, 9, 8), slow(s, a, 8, true, 9, 1);
        fast.start_epoch(3);
        slow.start_epoch(3);
        Batch x, y;
        while (fast.next(x)) {
            QVERIFY(slow.next(y));
            QVERIFY(at::equal(x.x, y.x));
            QVERIFY(at::equal(x.y, y.y));
        }
        QVERIFY(!slow.next(y));
    }

    void startingMidEpochSkipsBatches() {
        const ImageSet s = numbered_set(50);
        BatchLoader loader(s, off(), 10, true, 2, 2);
        loader.start_epoch(0, 3);
        Batch b;
        int n = 0;
        const auto order = loader.epoch_order(0);
        while (loader.next(b)) {
            if (n == 0) QCOMPARE(int64_t(std::lround(b.x[0][0][0][0].item<float>() * 255)), order[30]);
            ++n;
        }
        QCOMPARE(n, 2);
    }

    void restartingAnEpochMidwayIsSafe() {
        const ImageSet s = numbered_set(1000);
        BatchLoader loader(s, off(), 10, true, 2, 4);
        for (int epoch = 0; epoch < 20; ++epoch) {
            loader.start_epoch(epoch);
            Batch b;
            QVERIFY(loader.next(b));  // abandon the rest of the epoch
        }
    }

    void evalBatchesAreInOrder() {
        const ImageSet s = numbered_set(25);
        EvalBatches e(s);
        QCOMPARE(e.size(), int64_t(25));
        const Batch b = e.slice(20, 25);
        QCOMPARE(b.x.size(0), int64_t(5));
        QCOMPARE(b.x[4][0][1][1].item<float>(), 24.f / 255.f);
        QCOMPARE(b.y[4].item<int64_t>(), int64_t(4));
    }
};

QTEST_APPLESS_MAIN(TestLoader)
#include "test_loader.moc"
