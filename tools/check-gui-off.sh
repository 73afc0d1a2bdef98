#!/usr/bin/env bash
# The build a GPU machine without Qt uses: configure with -DNORMOUT_BUILD_GUI=OFF into
# build-gui-off/, build the engine, the command line and their tests, and run the fast (unit) ones.
set -euo pipefail
cd "$(dirname "$0")/.."
cmake -S . -B build-gui-off -G Ninja -DCMAKE_BUILD_TYPE=Release -DNORMOUT_BUILD_GUI=OFF "$@"
cmake --build build-gui-off --parallel "$(nproc)"
ctest --test-dir build-gui-off -L unit --output-on-failure --timeout 900
