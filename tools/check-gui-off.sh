#!/usr/bin/env bash
# The build a GPU machine without Qt uses: configure with -DNORMOUT_BUILD_GUI=OFF, build the
# engine, the command line and their tests, and run the fast (unit) ones. NORMOUT_TORCH chooses
# the LibTorch as for the other tools (CI runs this with pypi: LibTorch 2.x, CUDA, C++20).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/torch-choice.sh
export NORMOUT_BUILD_DIR=${NORMOUT_BUILD_DIR}-gui-off
./tools/deps.sh
./tools/build.sh -DNORMOUT_BUILD_GUI=OFF
"./$NORMOUT_BUILD_DIR/app/normout" --version
ctest --test-dir "$NORMOUT_BUILD_DIR" -L unit --output-on-failure --timeout 900
