#pragma once
// Readers for the three data formats the lab accepts. Each throws DataError naming the file.
#include <string>

#include "engine/data/image_set.h"

namespace normout {

// The CIFAR-10 binary release: data_batch_1..5.bin and test_batch.bin, records of one label byte
// and 3072 pixel bytes (R, G, B planes of 32 x 32). Class names from batches.meta.txt if present.
DataSplit read_cifar10_binary(const std::string& dir);

// Fashion-MNIST (or MNIST) IDX files, plain or gzip-compressed, as Debian ships them:
// train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-*.
DataSplit read_fashion_mnist(const std::string& dir);
ImageSet read_idx_pair(const std::string& images_file, const std::string& labels_file, int num_classes);

// An image folder train/<class>/*.{jpg,jpeg,png} and test/<class>/..., given as a directory or as
// a .tar/.tar.gz archive holding those folders. Classes are the sorted train/ sub-folders.
DataSplit read_image_folder(const std::string& path);

}  // namespace normout
