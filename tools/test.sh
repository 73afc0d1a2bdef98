#!/usr/bin/env bash
# README command 2: install what is needed, build, and run the whole test suite, against the
# LibTorch NORMOUT_TORCH names (debian, the default, or pypi). Extra arguments go to ctest
# (e.g. -L unit for the fast tests).
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/torch-choice.sh
./tools/deps.sh
./tools/build.sh
ctest --test-dir "$NORMOUT_BUILD_DIR" --output-on-failure --timeout 900 "$@"
