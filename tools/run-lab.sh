#!/usr/bin/env bash
# README command 1: install what is needed, build, and open the lab on its embedded default
# (the `quick` preset, ready to start: Fashion-MNIST, a reduced VGG-16-BN with Temporal Softmax
# NormOut). Without a display, normout-lab says so and trains the quick preset headless.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
. tools/torch-choice.sh
exec "./$NORMOUT_BUILD_DIR/app/normout-lab" --preset quick "$@"
