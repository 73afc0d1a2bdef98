#!/usr/bin/env bash
# README command 2: install what is needed, build, and run the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
./tools/deps.sh
./tools/build.sh
ctest --test-dir build --output-on-failure --timeout 900
