#pragma once
// The thesis's training augmentations (random crop with padding, horizontal flip, rotation and
// two random affines, as in the authors' torchvision pipeline) composed into one affine map per
// image and applied with a single resampling, straight from 8-bit pixels to floats in [0, 1].
#include <array>
#include <cstdint>

#include "engine/config/config.h"

namespace normout {

class Augmenter {
  public:
    Augmenter(const AugmentConfig& config, int channels, int height, int width);

    // Writes one image (C x H x W floats in [0, 1]) into dst. `seed` fixes the random draws.
    void apply(const uint8_t* src, float* dst, uint64_t seed) const;

    // The output-to-input map drawn for `seed`: input = M * (x, y, 1), M = {m0 m1 m2; m3 m4 m5}
    // acting on pixel coordinates (x = column, y = row). Also used by DeviceBatches
    // (engine/train/device_batches.h), which applies the same maps on the device.
    std::array<double, 6> draw_inverse_map(uint64_t seed) const;

    // Resamples one image through the output-to-input map `m` (as drawn by draw_inverse_map) with
    // the configured interpolation, whether or not augmentation is enabled: apply() is
    // draw_inverse_map followed by this. Out-of-range source pixels read as 0.
    void apply_map(const uint8_t* src, float* dst, const std::array<double, 6>& m) const;

    bool enabled() const { return cfg_.enabled; }
    bool bilinear() const { return cfg_.interpolation == "bilinear"; }  // otherwise nearest

    // Plain conversion (no augmentation).
    static void convert(const uint8_t* src, float* dst, std::size_t n);

  private:
    AugmentConfig cfg_;
    int c_, h_, w_;
};

}  // namespace normout
