#pragma once
// JPEG (libjpeg) and PNG (libpng) decoding and encoding of 8-bit images, pixels interleaved
// (H x W x C). Errors throw DataError naming the image.
#include <cstdint>
#include <string>
#include <vector>

#include "engine/data/image_set.h"

namespace normout {

struct DecodedImage {
    int width = 0;
    int height = 0;
    int channels = 0;             // 1 (gray) or 3 (RGB)
    std::vector<uint8_t> pixels;  // height * width * channels
};

// Detects JPEG or PNG by its signature. `name` is used in error messages.
DecodedImage decode_image(const uint8_t* data, std::size_t size, const std::string& name);

void write_png(const std::string& path, const uint8_t* hwc, int width, int height, int channels);
void write_jpeg(const std::string& path, const uint8_t* hwc, int width, int height, int channels, int quality);

}  // namespace normout
