#!/usr/bin/env bash
# CPU speed of the two LibTorch builds side by side, in one command: `normout bench` of the Debian
# build (build/, LibTorch 1.13) and of the PyPI build (build-pypi/, LibTorch 2.x), and the Python
# peer (../shared/reference/pytorch_cpu_twin.py) on the PyPI torch of .venv-torch/, alternating
# ROUNDS times on the same model, batch and threads; prints medians and ratios.
#   benchmarks/cpu_torch_builds.sh [width] [hidden] [batch] [threads] [rounds] [steps]
#   e.g. 0.125 512 128 2 3 20 (reduced model) and 1 4096 64 2 3 5 (the thesis model)
# Data: CIFAR-10 from LAB_DATA (a data folder or cifar10-jpeg.tar.gz), default the shared archive.
set -euo pipefail
cd "$(dirname "$0")/.."
width=${1:-0.125} hidden=${2:-512} batch=${3:-128} threads=${4:-2} rounds=${5:-3} steps=${6:-20}
twin=${TWIN:-../shared/reference/pytorch_cpu_twin.py}
data=${LAB_DATA:-../shared/data/cifar10-jpeg.tar.gz}
for b in build build-pypi; do
  [ -x "$b/app/normout" ] || { echo "$b/app/normout missing: ./tools/build.sh and NORMOUT_TORCH=pypi ./tools/build.sh"; exit 1; }
done
[ -x .venv-torch/bin/python ] || { echo "no .venv-torch (NORMOUT_TORCH=pypi ./tools/deps.sh)"; exit 1; }
args=(bench --preset thesis/temporal-softmax-48-51-T100 --set "model.width=$width" --set "model.hidden=$hidden"
      --set "train.batch_size=$batch" --set "train.threads=$threads" --steps "$steps" --warmup 2 --json)
case "$data" in
  *.tar.gz | *.tgz | *.tar) args+=(--set data.dataset=image-folder --set "data.path=$(realpath "$data")") ;;
  *) args+=(--data "$data") ;;
esac
step() { python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["step_img_per_s"])'; }
deb=() pypi=() peer=()
for ((r = 1; r <= rounds; r++)); do
  deb+=("$(./build/app/normout "${args[@]}" | step)")
  pypi+=("$(./build-pypi/app/normout "${args[@]}" | step)")
  peer+=("$(.venv-torch/bin/python "$twin" --width "$width" --hidden "$hidden" --batch "$batch" --threads "$threads" \
           --steps "$steps" | python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])["img_per_s"])')")
  echo "round $r: debian ${deb[-1]}, pypi ${pypi[-1]}, python peer ${peer[-1]} img/s"
done
python3 - "$width" "$hidden" "$batch" "$threads" "$rounds" "${deb[@]}" "${pypi[@]}" "${peer[@]}" <<'PY'
import statistics, sys
w, h, b, t, n = sys.argv[1:6]
n = int(n)
v = list(map(float, sys.argv[6:]))
deb, pypi, peer = (statistics.median(v[i * n:(i + 1) * n]) for i in range(3))
print(f"width {w}, hidden {h}, batch {b}, {t} threads, median of {n} rounds (training step, img/s)")
print(f"lab, Debian LibTorch 1.13   {deb:9.1f}")
print(f"lab, PyPI LibTorch 2.x      {pypi:9.1f}   ({pypi / deb:.2f} x Debian)")
print(f"Python peer, PyPI torch     {peer:9.1f}   (lab PyPI / peer {pypi / peer:.2f}, lab Debian / peer {deb / peer:.2f})")
PY
