#!/usr/bin/env bash
# On a machine with an NVIDIA GPU (often a server without Qt): build the engine and the command
# line with the GUI off against the machine's own PyTorch, run the tests (the CUDA paths run where
# a GPU is visible), a short CUDA training run, and `normout bench` on the thesis model next to the
# Python peer (pytorch_anchor_bench.py), then print the ratio.
#   tools/gpu-check.sh [PEER_SCRIPT]   (default ../shared/reference/pytorch_anchor_bench.py, or
#                                       .device/pytorch_anchor_bench.py when carried there)
#   PYTHON=python3 (the interpreter whose torch to use), BUILD=build-gpu, STEPS=40
set -uo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
build=${BUILD:-build-gpu}
steps=${STEPS:-40}
peer=${1:-}
for p in "$peer" .device/pytorch_anchor_bench.py ../shared/reference/pytorch_anchor_bench.py; do
  [ -n "$p" ] && [ -f "$p" ] && { peer=$p; break; }
done
say() { printf '\n== %s\n' "$*"; }

say "PyTorch"
prefix=$("$python" -c 'import os, torch; r = os.path.dirname(torch.__file__); print(r + ";" + torch.utils.cmake_prefix_path)') ||
  { echo "no torch for $python (set PYTHON=...)"; exit 1; }
"$python" -c 'import torch; print("torch", torch.__version__, "CUDA", torch.version.cuda, "GPUs", torch.cuda.device_count(),
      torch.cuda.get_device_name() if torch.cuda.is_available() else "")'

say "Build (GUI off, tests on where Qt Test exists)"
tests=ON
if [ -z "$(find /usr/lib /usr/local/lib /opt -name Qt6TestConfig.cmake 2>/dev/null | head -1)" ]; then
  tests=OFF
  echo "(no Qt 6 Test here: building without the test suite)"
fi
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DNORMOUT_BUILD_GUI=OFF -DNORMOUT_BUILD_TESTS=$tests \
  "-DCMAKE_PREFIX_PATH=$prefix" || exit 1
cmake --build "$build" --parallel "$(nproc)" || exit 1
normout=./$build/app/normout
$normout --version

if [ "$tests" = ON ]; then
  say "Tests (fast ones, and the CUDA-aware ones)"
  ctest --test-dir "$build" -L unit --output-on-failure --timeout 600
  ctest --test-dir "$build" -R 'test_precision|test_training' --output-on-failure --timeout 900
fi

# CIFAR-10 (the JPEG archive carried in .device/ or from ../shared), else Fashion-MNIST.
data=(--set data.dataset=fashion-mnist)
for a in .device/cifar10-jpeg.tar.gz ../shared/data/cifar10-jpeg.tar.gz; do
  [ -f "$a" ] && { data=(--set data.dataset=image-folder --set "data.path=$(realpath "$a")"); break; }
done

say "A short CUDA training run"
work=$(mktemp -d)
HOME=$work XDG_DATA_HOME=$work/share $normout train --preset quick --set train.device=cuda --set train.epochs=1 \
  "${data[@]}" --set evaluate.attacks=fgsm --out "$work/cuda.h5" --quiet --force &&
  $normout info "$work/cuda.h5" | head -12

say "normout bench on the thesis model (batch 256) against the Python peer"
lab_json=$($normout bench --preset thesis/temporal-softmax-48-51-T100 --set train.device=cuda \
  --set train.batch_size=256 "${data[@]}" --steps "$steps" --json | tail -1)
echo "lab:  $lab_json"
if [ -n "$peer" ]; then
  peer_out=$("$python" "$peer" 2>&1 | grep '"train_img_per_s"' | head -1)  # eager fp32, NormOut
  echo "peer: $peer_out"
  "$python" - "$lab_json" "$peer_out" <<'PY'
import json, sys
lab = json.loads(sys.argv[1]); peer = json.loads(sys.argv[2]) if sys.argv[2] else None
print(f"lab {lab['step_img_per_s']:.0f} img/s (step alone), {lab['full_img_per_s']:.0f} img/s with data")
if peer:
    print(f"peer {peer['img_per_s']:.0f} img/s ({peer['variant']}); ratio lab/peer {lab['step_img_per_s'] / peer['img_per_s']:.2f}")
PY
else
  echo "(peer script not found: pass its path)"
fi
rm -rf "$work"
