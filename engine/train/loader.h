#pragma once
// Batches for training: a background thread shuffles (seeded per epoch), augments and collates
// the next batches while the current one trains. Batches depend only on (seed, epoch), never on
// thread timing, so runs are reproducible.
#include <ATen/Tensor.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "engine/config/config.h"
#include "engine/data/augment.h"
#include "engine/data/image_set.h"

namespace normout {

struct Batch {
    at::Tensor x;  // [B, C, H, W] float in [0, 1]
    at::Tensor y;  // [B] int64
};

// Where training batches come from: a CPU thread (BatchLoader) or the device itself
// (DeviceBatches, engine/train/device_batches.h); both give the same batches for a seed.
class BatchSource {
  public:
    virtual ~BatchSource() = default;
    virtual int64_t batches_per_epoch() const = 0;
    // Starts the batches of `epoch` from batch `first_batch` on.
    virtual void start_epoch(int epoch, int64_t first_batch = 0) = 0;
    // The next batch of the epoch; false when the epoch is over.
    virtual bool next(Batch& batch) = 0;
    virtual double producer_seconds() const = 0;  // time spent preparing batches
    virtual double wait_seconds() const = 0;      // time next() blocked waiting for one
};

class BatchLoader : public BatchSource {
  public:
    BatchLoader(const ImageSet& set, const AugmentConfig& augment, int batch_size, bool shuffle, uint64_t seed,
                int prefetch);
    ~BatchLoader() override;
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    int64_t batches_per_epoch() const override;
    void start_epoch(int epoch, int64_t first_batch = 0) override;
    bool next(Batch& batch) override;

    double producer_seconds() const override { return producer_seconds_.load(); }
    double wait_seconds() const override { return wait_seconds_; }

    // The sample order of an epoch (exposed for tests).
    std::vector<int64_t> epoch_order(int epoch) const;

  private:
    void stop();
    void produce(int epoch, int64_t first_batch);
    Batch make_batch(const std::vector<int64_t>& order, int64_t b, int epoch) const;

    const ImageSet& set_;
    Augmenter augmenter_;
    int batch_size_;
    bool shuffle_;
    uint64_t seed_;
    std::size_t capacity_;

    std::thread worker_;
    std::mutex mutex_;
    std::condition_variable cv_;
    std::deque<Batch> queue_;
    bool done_ = true;       // producer finished the epoch
    bool stopping_ = false;  // consumer asked it to stop
    std::exception_ptr error_;
    std::atomic<double> producer_seconds_{0.0};
    double wait_seconds_ = 0.0;
};

// Evaluation batches in order, from a set converted once to a uint8 tensor.
class EvalBatches {
  public:
    explicit EvalBatches(const ImageSet& set);
    int64_t size() const { return images_.defined() ? images_.size(0) : 0; }
    Batch slice(int64_t begin, int64_t end) const;

  private:
    at::Tensor images_;  // uint8 [N, C, H, W]
    at::Tensor labels_;  // int64 [N]
};

}  // namespace normout
