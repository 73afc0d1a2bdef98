#pragma once
// A plausible run header for run-file tests that write files without training (no torch).
#include "engine/runfile/run_file.h"

namespace normout::test {

// A header for a CIFAR-10 run of a two-layer model with 2 x 3 weights and one integer buffer;
// `name`, `preset`, the configuration and the layers are the caller's to change.
RunHeader sample_run_header();

}  // namespace normout::test
