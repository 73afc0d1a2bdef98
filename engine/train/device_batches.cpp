#include "engine/train/device_batches.h"

#include "engine/data/sample_order.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <stdexcept>

#include "engine/rng.h"
#include "engine/util/clock.h"

namespace normout {

namespace {

constexpr float kUnit = 1.0f / 255.0f;  // Augmenter::convert's factor

// Each output pixel's column and row as float64 [1, H * W] on `options`' device.
std::pair<at::Tensor, at::Tensor> pixel_grid(int64_t height, int64_t width, const at::TensorOptions& options) {
    const at::Tensor p = at::arange(height * width, options.dtype(at::kLong));
    return {p.remainder(width).to(at::kDouble).unsqueeze(0), p.div(width, "floor").to(at::kDouble).unsqueeze(0)};
}

// std::lround's rounding (half away from zero) on float64 values: torch's round() rounds half
// to even. t = trunc(v) and v - t are exact, so the comparison with 0.5 decides as lround does.
at::Tensor round_half_away(const at::Tensor& v) {
    const at::Tensor t = v.trunc();
    const at::Tensor f = v - t;
    return t + f.ge(0.5).to(at::kDouble) - f.le(-0.5).to(at::kDouble);
}

// Flat source index row * W + col of integral float64 coordinates, 0 where `inside` is false.
at::Tensor flat_index(const at::Tensor& col, const at::Tensor& row, int64_t width, const at::Tensor& inside) {
    return (row * static_cast<double>(width) + col).masked_fill_(inside.logical_not(), 0.0).to(at::kLong);
}

at::Tensor resample(const at::Tensor& images, const at::Tensor& maps, const at::Tensor& grid_x,
                    const at::Tensor& grid_y, bool bilinear) {
    const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3), hw = h * w;
    const at::Tensor m = maps.reshape({n, 6});
    auto coefficient = [&](int64_t j) { return m.select(1, j).unsqueeze(1); };  // [n, 1]
    // Source coordinates of every output pixel, in Augmenter::apply_map's order of operations:
    // (m0 * x + m1 * y) + m2, each step a separate float64 operation (no fused multiply-add).
    const at::Tensor sx = coefficient(0) * grid_x + coefficient(1) * grid_y + coefficient(2);  // [n, hw]
    const at::Tensor sy = coefficient(3) * grid_x + coefficient(4) * grid_y + coefficient(5);
    const at::Tensor src = images.reshape({n, c, hw});
    auto inside = [&](const at::Tensor& col, const at::Tensor& row) {
        return col.ge(0) & row.ge(0) & col.lt(static_cast<double>(w)) & row.lt(static_cast<double>(h));
    };

    if (!bilinear) {
        const at::Tensor col = round_half_away(sx), row = round_half_away(sy);
        const at::Tensor in = inside(col, row);  // [n, hw]
        const at::Tensor index = flat_index(col, row, w, in).unsqueeze(1).expand({n, c, hw});
        return src.gather(2, index)
            .to(at::kFloat)
            .mul_(kUnit)
            .masked_fill_(in.logical_not().unsqueeze(1), 0.0f)
            .view({n, c, h, w});
    }

    const at::Tensor x0 = sx.floor(), y0 = sy.floor();
    const at::Tensor wx = (sx - x0).unsqueeze(1), wy = (sy - y0).unsqueeze(1);  // [n, 1, hw]
    const at::Tensor x1 = x0 + 1.0, y1 = y0 + 1.0;
    // The four neighbours in one gather: (x0, y0), (x1, y0), (x0, y1), (x1, y1).
    const at::Tensor in = at::stack({inside(x0, y0), inside(x1, y0), inside(x0, y1), inside(x1, y1)}, 1);  // [n,4,hw]
    const at::Tensor index = at::stack({flat_index(x0, y0, w, in.select(1, 0)), flat_index(x1, y0, w, in.select(1, 1)),
                                        flat_index(x0, y1, w, in.select(1, 2)), flat_index(x1, y1, w, in.select(1, 3))},
                                       1)
                                 .view({n, 1, 4 * hw})
                                 .expand({n, c, 4 * hw});
    const at::Tensor v =
        src.gather(2, index).to(at::kDouble).view({n, c, 4, hw}).masked_fill_(in.logical_not().unsqueeze(1), 0.0);
    const at::Tensor v00 = v.select(2, 0), v10 = v.select(2, 1), v01 = v.select(2, 2), v11 = v.select(2, 3);
    const at::Tensor ux = 1.0 - wx, uy = 1.0 - wy;
    // (1 - wy) * ((1 - wx) * v00 + wx * v10) + wy * ((1 - wx) * v01 + wx * v11), as on the host.
    const at::Tensor value = uy * (ux * v00 + wx * v10) + wy * (ux * v01 + wx * v11);
    return value.to(at::kFloat).mul_(kUnit).view({n, c, h, w});
}

}  // namespace

at::Tensor unit_float(const at::Tensor& images) {
    return images.to(at::kFloat).mul_(kUnit);
}

at::Tensor resample_affine(const at::Tensor& images, const at::Tensor& maps, bool bilinear) {
    TORCH_CHECK(images.dim() == 4 && images.scalar_type() == at::kByte,
                "resample_affine: images must be uint8 [B,C,H,W]");
    TORCH_CHECK(
        maps.scalar_type() == at::kDouble && maps.numel() == images.size(0) * 6 && maps.device() == images.device(),
        "resample_affine: maps must be float64 [B,2,3] on the images' device");
    const auto grid = pixel_grid(images.size(2), images.size(3), maps.options());
    return resample(images, maps, grid.first, grid.second, bilinear);
}

DeviceBatches::DeviceBatches(const ImageSet& set, const AugmentConfig& augment, int batch_size, bool shuffle,
                             uint64_t seed, c10::Device device)
    : augmenter_(augment, set.channels, set.height, set.width),
      batch_size_(batch_size),
      shuffle_(shuffle),
      seed_(seed),
      device_(device),
      count_(set.count) {
    if (batch_size < 1) throw std::invalid_argument("DeviceBatches: batch size must be at least 1");
    if (set.count == 0) return;
    at::Tensor images = at::empty({set.count, set.channels, set.height, set.width}, at::kByte);
    std::memcpy(images.data_ptr<uint8_t>(), set.pixels.data(), set.pixels.size());
    at::Tensor labels = at::empty({set.count}, at::kLong);
    auto* y = labels.data_ptr<int64_t>();
    for (int64_t i = 0; i < set.count; ++i)
        y[i] = set.labels[static_cast<std::size_t>(i)];
    images_ = images.to(device_);
    labels_ = labels.to(device_);
    const auto grid = pixel_grid(set.height, set.width, at::TensorOptions().device(device_));
    grid_x_ = grid.first;
    grid_y_ = grid.second;
}

int64_t DeviceBatches::batches_per_epoch() const {
    return (count_ + batch_size_ - 1) / batch_size_;
}

std::vector<int64_t> DeviceBatches::epoch_order(int epoch) const {
    return epoch_sample_order(count_, shuffle_, seed_, epoch);
}

void DeviceBatches::start_epoch(int epoch, int64_t first_batch) {
    epoch_ = epoch;
    order_ = epoch_order(epoch);
    next_batch_ = std::max<int64_t>(first_batch, 0);
    end_batch_ = batches_per_epoch();
    if (count_ == 0) return;
    at::Tensor order = at::empty({count_}, at::kLong);
    std::memcpy(order.data_ptr<int64_t>(), order_.data(), order_.size() * sizeof(int64_t));
    order_device_ = order.to(device_);
}

bool DeviceBatches::next(Batch& batch) {
    if (next_batch_ >= end_batch_) return false;
    const auto t0 = std::chrono::steady_clock::now();
    batch = make_batch(next_batch_++);
    producer_seconds_ += seconds_since(t0);
    return true;
}

Batch DeviceBatches::make_batch(int64_t b) {
    const int64_t begin = b * batch_size_;
    const int64_t end = std::min<int64_t>(begin + batch_size_, count_);
    const int64_t n = end - begin;
    const at::Tensor index = order_device_.slice(0, begin, end);
    Batch batch;
    batch.y = labels_.index_select(0, index);
    const at::Tensor images = images_.index_select(0, index);
    if (!augmenter_.enabled()) {
        batch.x = unit_float(images);
        return batch;
    }
    // The per-image seeds of the CPU loader (engine/data/sample_order.h).
    at::Tensor maps = at::empty({n, 2, 3}, at::TensorOptions().dtype(at::kDouble).pinned_memory(device_.is_cuda()));
    double* m = maps.data_ptr<double>();
    for (int64_t k = 0; k < n; ++k) {
        const uint64_t i = static_cast<uint64_t>(order_[static_cast<std::size_t>(begin + k)]);
        const auto map = augmenter_.draw_inverse_map(augmentation_seed(seed_, epoch_, i));
        std::copy(map.begin(), map.end(), m + 6 * k);
    }
    // From pinned memory the copy is asynchronous; the caching host allocator keeps the buffer
    // until the copy has run.
    batch.x =
        resample(images, maps.to(device_, at::kDouble, /*non_blocking=*/true), grid_x_, grid_y_, augmenter_.bilinear());
    return batch;
}

std::unique_ptr<BatchSource> make_training_batches(const ImageSet& set, const AugmentConfig& augment, int batch_size,
                                                   uint64_t seed, int prefetch, c10::Device device) {
    if (device.is_cuda())
        return std::make_unique<DeviceBatches>(set, augment, batch_size, /*shuffle=*/true, seed, device);
    return std::make_unique<BatchLoader>(set, augment, batch_size, /*shuffle=*/true, seed, prefetch);
}

}  // namespace normout
