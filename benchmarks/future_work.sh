#!/usr/bin/env bash
# The future-work measurements (docs/future-work.md) at the quick preset's scale on Fashion-MNIST:
#  1. ResNet-18 and the small ViT with Temporal Softmax NormOut (T=100): test accuracy after the
#     quick preset's 3 epochs, and the epoch time;
#  2. standard, PGD and FGSM-RS adversarial training of the quick preset's model: test accuracy,
#     PGD-10 accuracy (L-inf, eps EPS) with 95% Clopper-Pearson intervals, and the epoch time.
# Runs go to OUT (default /tmp/normout-future); a run already there is reused.
#   [TRAIN_LIMIT=10000] [TEST_LIMIT=2000] [ATTACK_N=1000] [EPS=0.1] [THREADS=$(nproc)] benchmarks/future_work.sh [OUT]
set -euo pipefail
cd "$(dirname "$0")/.."
lab=./build/app/normout
[ -x "$lab" ] || { echo "build first (tools/build.sh)"; exit 1; }
out=${1:-/tmp/normout-future}
train_limit=${TRAIN_LIMIT:-10000} test_limit=${TEST_LIMIT:-2000} attack_n=${ATTACK_N:-1000}
eps=${EPS:-0.1} threads=${THREADS:-$(nproc)}
mkdir -p "$out"
# The quick preset's scale: Fashion-MNIST without augmentation, 3 epochs, batch 128, SGD lr 0.02;
# no evaluation during training (measured afterwards).
quick=(--set data.dataset=fashion-mnist --set data.augment.enabled=false --set "data.train_limit=$train_limit"
       --set "data.test_limit=$test_limit" --set train.epochs=3 --set train.batch_size=128
       --set "train.threads=$threads" --set evaluate.attacks= --set evaluate.flatness_every=0
       --set evaluate.fisher_rao=false)

train() {
  local name=$1; shift
  [ -f "$out/$name.h5" ] || "$lab" train "$@" "${quick[@]}" --out "$out/$name.h5" --quiet
}

# name: test accuracy, mean epoch seconds (training and evaluation), extra columns of the last epoch
summary() {
  "$lab" info "$out/$1.h5" --json | python3 -c '
import json, sys
d = json.load(sys.stdin); e = d["epochs"]; last = e[-1]
acc = 100 * last["test_accuracy"]; seconds = sum(x["epoch_seconds"] for x in e) / len(e)
params = d["model"]["parameters"]
extra = " ".join(f"{k}={v:.3g}" for k, v in last.items()
                 if k.startswith(("robust", "penalty", "objective")) and v is not None)
print(f"{sys.argv[1]:<28} test acc {acc:5.1f}%  mean epoch {seconds:6.1f} s  params {params:>9}  {extra}")
' "$1"
}

pgd10() {
  "$lab" attack "$out/$1.h5" --attacks pgd-ce --norm linf --eps "$eps" --steps 10 --n "$attack_n" \
    --threads "$threads" --no-gradient-probe --no-save | awk -v n="$1" '$1 == "clean" || $1 == "PGD-CE" {
      printf "%-28s %-7s eps %-5s n %s  accuracy %s  95%% CI %s %s\n", n, $1, $3, $4, $5, $6, $7 }'
}

echo "== architectures (Temporal Softmax NormOut, T=100) =="
# ResNet-18 at a quarter of its width, NormOut on the pooled features (the preset's placement).
train resnet18-normout --preset future/resnet18-temporal-softmax --set model.width=0.25 --set train.lr=0.02
# The ViT at half its width (128, MLP 256; 6 blocks, 4 heads, patch 4), NormOut after every MLP GELU;
# the preset's Adam with a cosine schedule, without warm-up over 3 epochs.
train vit-small-normout --preset future/vit-small-temporal-softmax --set model.vit_dim=128 --set model.vit_mlp=256 \
  --set train.warmup_epochs=0
summary resnet18-normout
summary vit-small-normout

echo "== adversarial training (quick preset's model: VGG-16-BN at 1/8 width, NormOut T=100 at 48 and 51) =="
# Adam (lr 0.002) from PyTorch's initialisation: with the quick preset's SGD, PGD training stays at
# chance for 3 epochs (tests/test_adversarial.cpp found the same), which would read as robustness.
adam=(--set train.optimizer=adam --set train.lr=0.002 --set model.init=pytorch)
train standard --preset quick "${adam[@]}"
train pgd --preset quick "${adam[@]}" --set train.adversarial=pgd --set "train.adv_eps=$eps" --set train.adv_iterations=7
train fgsm-rs --preset quick "${adam[@]}" --set train.adversarial=fgsm-rs --set "train.adv_eps=$eps"
for r in standard pgd fgsm-rs; do summary "$r"; done
for r in standard pgd fgsm-rs; do pgd10 "$r"; done
