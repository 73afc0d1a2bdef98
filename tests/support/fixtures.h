#pragma once
// Small data files written at test time: CIFAR-10 binary batches, IDX files, image folders.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/config/config.h"
#include "engine/data/prepare.h"

namespace normout::test {

// Writes `records` CIFAR-10 records with labels i % 10 and pixels derived from (seed, i).
void write_cifar_batch(const std::string& path, int records, int seed);
// A complete cifar-10-batches-bin folder with `per_batch` records in each of the six files.
void write_cifar_dir(const std::string& dir, int per_batch);

// IDX files (gzip-compressed when the name ends in .gz).
void write_idx_images(const std::string& path, const std::vector<uint8_t>& pixels, int count, int rows, int cols);
void write_idx_labels(const std::string& path, const std::vector<uint8_t>& labels);
// A Fashion-MNIST-style folder of four IDX files with the given counts (28 x 28 images).
void write_fashion_dir(const std::string& dir, int train, int test, bool gz);

// An image folder train/<class>/ and test/<class>/ with `per_class` images of side `side`.
void write_image_folder(const std::string& dir, const std::vector<std::string>& classes, int per_class, int side,
                        int channels, bool jpeg);

void write_bytes(const std::string& path, const std::string& bytes);
std::string read_bytes(const std::string& path);
// Copies the first `keep` bytes of a file to another (truncation fixtures).
void truncate_copy(const std::string& from, const std::string& to, std::size_t keep);

// Path of Debian's Fashion-MNIST; QFAIL-worthy when missing (the README's test command installs it).
std::string fashion_mnist_dir();
// The data of `config` (its limits, split and seed) read from Debian's Fashion-MNIST once per
// distinct data setting and shared by the runs of a test (TrainOptions::data).
std::shared_ptr<const PreparedData> fashion_mnist_data(const RunConfig& config);

}  // namespace normout::test
