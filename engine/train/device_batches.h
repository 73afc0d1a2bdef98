#pragma once
// Training batches made on the device: the whole training set lives there as one uint8 tensor
// and each batch is gathered, augmented and converted by tensor ops on that device. No loader
// thread and no per-image work on the host beyond drawing each image's 2x3 affine map (six
// doubles, uploaded as one [B, 2, 3] tensor per batch).
//
// The batches are those of BatchLoader for the same (set, augment, batch_size, shuffle, seed):
// the same epoch order, the same per-image seeds and maps (Augmenter::draw_inverse_map) and the
// same resampling arithmetic (float64 coordinates and weights, round half away from zero for
// nearest, out-of-range pixels read as 0, float32 result = float(value) * (1.0f / 255)).
// tests/test_device_batches.cpp checks the equality on the CPU device.
#include <ATen/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <vector>

#include "engine/data/augment.h"
#include "engine/data/image_set.h"
#include "engine/train/loader.h"

namespace normout {

class DeviceBatches : public BatchSource {
  public:
    // Copies `set` (pixels and labels) to `device`; the set is not referenced afterwards.
    DeviceBatches(const ImageSet& set, const AugmentConfig& augment, int batch_size, bool shuffle, uint64_t seed,
                  c10::Device device);
    DeviceBatches(const DeviceBatches&) = delete;
    DeviceBatches& operator=(const DeviceBatches&) = delete;

    int64_t batches_per_epoch() const override;
    // Starts the batches of `epoch` from batch `first_batch` on.
    void start_epoch(int epoch, int64_t first_batch = 0) override;
    // The next batch of the epoch (x float [B, C, H, W] in [0, 1], y int64 [B], both on the
    // device); false when the epoch is over. Launches work only: no host synchronisation on CUDA.
    bool next(Batch& batch) override;

    // Host time spent in next() (drawing maps and launching the device work).
    double producer_seconds() const { return producer_seconds_; }
    double wait_seconds() const { return 0.0; }  // BatchLoader's; next() never waits here
    c10::Device device() const { return device_; }
    int64_t count() const { return count_; }

    // The sample order of an epoch: equal to BatchLoader::epoch_order (exposed for tests).
    std::vector<int64_t> epoch_order(int epoch) const;

  private:
    Batch make_batch(int64_t b);

    Augmenter augmenter_;
    int batch_size_;
    bool shuffle_;
    uint64_t seed_;
    c10::Device device_;
    int64_t count_ = 0;
    at::Tensor images_;  // uint8 [N, C, H, W] on the device
    at::Tensor labels_;  // int64 [N] on the device
    at::Tensor grid_x_;  // float64 [1, H * W] on the device: each output pixel's column
    at::Tensor grid_y_;  // float64 [1, H * W]: its row

    int epoch_ = 0;
    std::vector<int64_t> order_;  // this epoch's order on the host (for the per-image seeds)
    at::Tensor order_device_;     // int64 [N], the same on the device
    int64_t next_batch_ = 0;
    int64_t end_batch_ = 0;  // 0 until start_epoch
    double producer_seconds_ = 0.0;
};

// Resamples `images` (uint8 [B, C, H, W]) through per-image output-to-input maps `maps`
// (float64 [B, 2, 3] on the same device, rows as Augmenter::draw_inverse_map: source column =
// m[0][0] x + m[0][1] y + m[0][2], source row = m[1][0] x + m[1][1] y + m[1][2] for output
// column x and row y), nearest or bilinear, with tensor ops on the images' device. The result,
// float [B, C, H, W] in [0, 1], equals Augmenter::apply_map image by image.
at::Tensor resample_affine(const at::Tensor& images, const at::Tensor& maps, bool bilinear);

// uint8 -> float in [0, 1] as Augmenter::convert computes it (value * (1.0f / 255)).
at::Tensor unit_float(const at::Tensor& images);

// The training batches for a device: resident on the GPU (DeviceBatches) when it is a CUDA device,
// else prepared by a CPU thread (BatchLoader) with `prefetch` batches ahead.
std::unique_ptr<BatchSource> make_training_batches(const ImageSet& set, const AugmentConfig& augment, int batch_size,
                                                   uint64_t seed, int prefetch, c10::Device device);

}  // namespace normout
