#!/usr/bin/env bash
# README command 1: install what is needed, build, and run the lab on its embedded default
# (the `quick` preset: Fashion-MNIST, a reduced VGG-16-BN with Temporal Softmax NormOut).
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
mkdir -p runs
out="runs/quick-$(date +%Y%m%d-%H%M%S).h5"
./build/app/normout train --preset quick --out "$out"
./build/app/normout info "$out"
