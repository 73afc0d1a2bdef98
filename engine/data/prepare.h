#pragma once
// Turns a data set on disk into the training, validation and test sets of a run: reading,
// seeded validation split and subset limits, per-channel statistics of the training images,
// padding to the model's minimum size.
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/data/image_set.h"

namespace normout {

struct PreparedData {
    ImageSet train;
    ImageSet val;  // empty unless data.val_fraction > 0
    ImageSet test;
    std::vector<std::string> class_names;
    std::vector<float> mean;    // per channel, of the training images in [0, 1]
    std::vector<float> stddev;  // per channel
    std::string source;         // path read
    int channels() const { return train.channels; }
    int num_classes() const { return static_cast<int>(class_names.size()); }
};

DataSplit read_dataset(const DataConfig& data, const std::vector<std::string>& roots);
PreparedData prepare_data(const DataConfig& data, const std::vector<std::string>& roots, uint64_t seed);
// The same from a split already in memory (tests, benchmarks).
PreparedData prepare_data(DataSplit split, const DataConfig& data, uint64_t seed);

// Mean and standard deviation per channel over all pixels, in [0, 1] units.
void channel_statistics(const ImageSet& set, std::vector<float>& mean, std::vector<float>& stddev);

// Centres the images in a zero border so that they are at least `size` pixels on each side.
ImageSet pad_images(const ImageSet& set, int size);

}  // namespace normout
