#!/usr/bin/env bash
# The lab's training step against the Python peer (../shared/reference/pytorch_cpu_twin.py,
# Debian's python3-torch: the same LibTorch 1.13) on the same model, batch and thread count.
# Runs both alternately ROUNDS times and prints the medians and their ratio.
#   [LAB_DATA=...] benchmarks/cpu_vs_twin.sh [width] [hidden] [batch] [threads] [rounds] [steps]
set -euo pipefail
cd "$(dirname "$0")/.."
width=${1:-0.125} hidden=${2:-512} batch=${3:-128} threads=${4:-$(nproc)} rounds=${5:-5} steps=${6:-30}
twin=${TWIN:-../shared/reference/pytorch_cpu_twin.py}
lab=./build/app/normout
[ -x "$lab" ] || { echo "build first (tools/build.sh)"; exit 1; }
[ -f "$twin" ] || { echo "peer script not found: $twin (set TWIN=...)"; exit 1; }
command -v /usr/bin/python3 >/dev/null && /usr/bin/python3 -c "import torch" 2>/dev/null ||
  { echo "the peer needs Debian's python3-torch (apt-get install python3-torch)"; exit 1; }
# The same model as the peer: VGG-16-BN + Temporal Softmax NormOut (T=100) at 48 and 51,
# SGD lr 0.01 momentum 0.9 wd 1e-4, 3 x 32 x 32 input, 10 classes.
preset=thesis/temporal-softmax-48-51-T100
lab_args=(bench --preset "$preset" --set "model.width=$width" --set "model.hidden=$hidden"
          --set "train.batch_size=$batch" --set "train.threads=$threads" --steps "$steps" --json)
# LAB_DATA: a CIFAR-10 data directory, or an image-folder archive such as cifar10-jpeg.tar.gz.
if [ -n "${LAB_DATA:-}" ]; then
  case "$LAB_DATA" in
    *.tar.gz | *.tgz | *.tar) lab_args+=(--set data.dataset=image-folder --set "data.path=$LAB_DATA") ;;
    *) lab_args+=(--data "$LAB_DATA") ;;
  esac
else
  # Without CIFAR-10, the lab benchmarks on Fashion-MNIST padded to 32 x 32 (one channel).
  lab_args+=(--set data.dataset=fashion-mnist); in_ch=1; fi
in_ch=${in_ch:-3}
lab_runs=() twin_runs=()
for ((r = 1; r <= rounds; r++)); do
  lab_runs+=("$("$lab" "${lab_args[@]}" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["step_img_per_s"], d["pipeline_share"], d["full_img_per_s"])')")
  twin_runs+=("$(/usr/bin/python3 "$twin" --width "$width" --hidden "$hidden" --batch "$batch" --threads "$threads" \
                 --steps "$steps" --in-ch "$in_ch" | python3 -c 'import json,sys; print(json.load(sys.stdin)["img_per_s"])')")
  echo "round $r: lab ${lab_runs[-1]%% *} img/s, peer ${twin_runs[-1]} img/s"
done
python3 - "$width" "$hidden" "$batch" "$threads" "$in_ch" "${#lab_runs[@]}" "${lab_runs[@]}" "${twin_runs[@]}" <<'PY'
import statistics, sys
w, h, b, t, ch, n = sys.argv[1:7]
n = int(n)
lab = [list(map(float, s.split())) for s in sys.argv[7:7 + n]]
twin = list(map(float, sys.argv[7 + n:]))
ls = statistics.median(x[0] for x in lab)
ps = statistics.median(x[1] for x in lab)
lf = statistics.median(x[2] for x in lab)
tw = statistics.median(twin)
print(f"width {w}, hidden {h}, batch {b}, {t} threads, {ch} input channel(s), median of {n} rounds")
print(f"lab training step     {ls:9.1f} img/s")
print(f"python peer           {tw:9.1f} img/s")
print(f"ratio lab / peer      {ls / tw:9.3f}")
print(f"lab step + pipeline   {lf:9.1f} img/s; pipeline busy {100 * ps:.1f}% of epoch time")
PY
