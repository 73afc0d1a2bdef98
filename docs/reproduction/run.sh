#!/usr/bin/env bash
# The worked example of docs/reproduction/README.md: the thesis/claims configurations at CPU scale
# (claims-cpu.json) on CIFAR-10 from ../shared/data/cifar10-jpeg.tar.gz, then the report.
#   docs/reproduction/run.sh [SWEEP_DIR]     (default: sweeps/claims-cpu; run from the repository root)
# Needs the Debian build (./tools/build.sh). The sweep resumes where it stopped when run again.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-sweeps/claims-cpu}
data=$(realpath ../shared/data/cifar10-jpeg.tar.gz)
normout=${NORMOUT:-build/app/normout}
start=$SECONDS
"$normout" sweep docs/reproduction/claims-cpu.json --out "$out" --parallel 1 --set "data.path=$data"
echo "sweep: $((SECONDS - start)) s"
"$normout" report "$out" --out docs/reproduction/report.html --pdf docs/reproduction/report.pdf \
  --title "Does synaptic failure find flatter minima? A reduced-scale reproduction on two CPU cores"
echo "total: $((SECONDS - start)) s"
