#!/usr/bin/env bash
# Configures and builds (Release) against the LibTorch NORMOUT_TORCH names (tools/torch-choice.sh):
# build/ for Debian's, build-pypi/ for the PyPI wheel's. Extra arguments go to CMake's configure.
# NORMOUT_BUILD_TARGETS (space-separated) builds only those targets.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/torch-choice.sh
args=()
[ "$NORMOUT_TORCH" = pypi ] && args+=("-DCMAKE_PREFIX_PATH=$(torch_prefix_path)")
cmake -S . -B "$NORMOUT_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release "${args[@]}" "$@"
targets=()
for t in ${NORMOUT_BUILD_TARGETS:-}; do targets+=(--target "$t"); done
cmake --build "$NORMOUT_BUILD_DIR" --parallel "$(nproc)" "${targets[@]}"
