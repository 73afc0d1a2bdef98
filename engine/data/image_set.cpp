#include "engine/data/image_set.h"

#include <cstring>

namespace normout {

ImageSet ImageSet::subset(const std::vector<int64_t>& indices) const {
    ImageSet out;
    out.channels = channels;
    out.height = height;
    out.width = width;
    out.count = static_cast<int64_t>(indices.size());
    const std::size_t bytes = image_bytes();
    out.pixels.resize(indices.size() * bytes);
    out.labels.resize(indices.size());
    for (std::size_t k = 0; k < indices.size(); ++k) {
        const int64_t i = indices[k];
        if (i < 0 || i >= count) throw std::out_of_range("image index out of range");
        std::memcpy(out.pixels.data() + k * bytes, image(i), bytes);
        out.labels[k] = labels[static_cast<std::size_t>(i)];
    }
    return out;
}

}  // namespace normout
