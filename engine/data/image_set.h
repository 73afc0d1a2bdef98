#pragma once
// Images in memory as 8-bit pixels, N x C x H x W (planar, like the CIFAR binary release and
// like torch tensors), with integer labels. No torch here: readers and the lab share it.
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace normout {

// A data file is missing, corrupt or inconsistent. The message names the file and the problem.
class DataError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct ImageSet {
    int64_t count = 0;
    int channels = 0;
    int height = 0;
    int width = 0;
    std::vector<uint8_t> pixels;  // count * channels * height * width
    std::vector<int32_t> labels;  // count

    std::size_t image_bytes() const {
        return static_cast<std::size_t>(channels) * static_cast<std::size_t>(height) * static_cast<std::size_t>(width);
    }
    const uint8_t* image(int64_t i) const { return pixels.data() + static_cast<std::size_t>(i) * image_bytes(); }
    // A new set holding the given images, in that order.
    ImageSet subset(const std::vector<int64_t>& indices) const;
};

struct DataSplit {
    ImageSet train;
    ImageSet test;
    std::vector<std::string> class_names;
    std::string source;  // the directory or archive read
};

}  // namespace normout
