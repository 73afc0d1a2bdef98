#pragma once
// Versions of the code and of the libraries the engine was built with.
#include <string>

namespace normout {

const char* code_version();     // git describe of the source tree (generated at build time)
const char* project_version();  // the CMake project version

std::string torch_version();  // LibTorch version the engine was compiled against
std::string hdf5_version();   // HDF5 library version in use
std::string cuda_version();   // CUDA version LibTorch was built with, or "none"
std::string device_summary();  // e.g. "CUDA 13.2, no GPU visible" or "CPU only (LibTorch built without CUDA)"
const char* qt_version();     // Qt version the project was built with, or "none" (generated)

}  // namespace normout
