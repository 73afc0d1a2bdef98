#!/usr/bin/env bash
# Renders the lab during a quick run under Xvfb and saves the window, the dashboard and the
# neuron inspector into docs/screenshots/ (needs Debian's xvfb and xauth).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v xvfb-run >/dev/null || { echo "install xvfb and xauth (apt-get install xvfb xauth)"; exit 1; }
out=${1:-docs/screenshots}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# COMPARE="a.h5 b.h5 ...": finished runs for the Compare tab's screenshots (lab-compare.png, and
# lab-report.png: Compare → Report with the claims tested on them).
compare_args=()
for f in ${COMPARE:-}; do compare_args+=(--compare "$f"); done
HOME="$tmp" xvfb-run -a -s "-screen 0 1600x1000x24" ./build/app/normout-lab --preset quick \
  --set model.width=0.0625 --set data.train_limit=6144 --set data.test_limit=2000 --set train.epochs=30 \
  --set 'instrument.neurons=[0,1,2,3]' --start --out "$tmp/quick.h5" \
  "${compare_args[@]}" --screenshots "$out" --screenshot-delay "${DELAY:-75}"
ls -l "$out"
