#include "engine/train/loader.h"

#include "engine/data/sample_order.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstring>
#include <numeric>

#include "engine/rng.h"
#include "engine/util/clock.h"

namespace normout {

BatchLoader::BatchLoader(const ImageSet& set, const AugmentConfig& augment, int batch_size, bool shuffle, uint64_t seed,
                         int prefetch)
    : set_(set),
      augmenter_(augment, set.channels, set.height, set.width),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      capacity_(static_cast<std::size_t>(std::max(1, prefetch))) {}

BatchLoader::~BatchLoader() {
    stop();
}

int64_t BatchLoader::batches_per_epoch() const {
    return (set_.count + batch_size_ - 1) / batch_size_;
}

std::vector<int64_t> BatchLoader::epoch_order(int epoch) const {
    return epoch_sample_order(set_.count, shuffle_, seed_, epoch);
}

Batch BatchLoader::make_batch(const std::vector<int64_t>& order, int64_t b, int epoch) const {
    const int64_t begin = b * batch_size_;
    const int64_t end = std::min<int64_t>(begin + batch_size_, set_.count);
    const int64_t n = end - begin;
    Batch batch;
    batch.x = at::empty({n, set_.channels, set_.height, set_.width}, at::kFloat);
    batch.y = at::empty({n}, at::kLong);
    float* x = batch.x.data_ptr<float>();
    int64_t* y = batch.y.data_ptr<int64_t>();
    const std::size_t bytes = set_.image_bytes();
    for (int64_t k = 0; k < n; ++k) {
        const int64_t i = order[static_cast<std::size_t>(begin + k)];
        augmenter_.apply(set_.image(i), x + static_cast<std::size_t>(k) * bytes, augmentation_seed(seed_, epoch, i));
        y[k] = set_.labels[static_cast<std::size_t>(i)];
    }
    return batch;
}

void BatchLoader::produce(int epoch, int64_t first_batch) {
    try {
        const auto order = epoch_order(epoch);
        for (int64_t b = first_batch; b < batches_per_epoch(); ++b) {
            const auto t0 = std::chrono::steady_clock::now();
            Batch batch = make_batch(order, b, epoch);
            producer_seconds_.store(producer_seconds_.load() + seconds_since(t0));
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return stopping_ || queue_.size() < capacity_; });
            if (stopping_) return;
            queue_.push_back(std::move(batch));
            cv_.notify_all();
        }
    } catch (...) {
        std::lock_guard<std::mutex> lock(mutex_);
        error_ = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    done_ = true;
    cv_.notify_all();
}

void BatchLoader::stop() {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        stopping_ = true;
        cv_.notify_all();
    }
    if (worker_.joinable()) worker_.join();
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.clear();
    stopping_ = false;
    done_ = true;
}

void BatchLoader::start_epoch(int epoch, int64_t first_batch) {
    stop();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        done_ = false;
        error_ = nullptr;
    }
    worker_ = std::thread([this, epoch, first_batch] { produce(epoch, first_batch); });
}

bool BatchLoader::next(Batch& batch) {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return !queue_.empty() || done_; });
    wait_seconds_ += seconds_since(t0);
    if (error_) std::rethrow_exception(error_);
    if (queue_.empty()) return false;
    batch = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return true;
}

EvalBatches::EvalBatches(const ImageSet& set) {
    if (set.count == 0) return;
    images_ = at::empty({set.count, set.channels, set.height, set.width}, at::kByte);
    std::memcpy(images_.data_ptr<uint8_t>(), set.pixels.data(), set.pixels.size());
    labels_ = at::empty({set.count}, at::kLong);
    auto* y = labels_.data_ptr<int64_t>();
    for (int64_t i = 0; i < set.count; ++i)
        y[i] = set.labels[static_cast<std::size_t>(i)];
}

Batch EvalBatches::slice(int64_t begin, int64_t end) const {
    return {images_.slice(0, begin, end).to(at::kFloat).div_(255.0), labels_.slice(0, begin, end)};
}

}  // namespace normout
