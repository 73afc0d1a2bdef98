#!/usr/bin/env bash
# Installs the Debian 12 packages listed in packaging/debian-packages.txt that are missing, and
# with NORMOUT_TORCH=pypi the pinned torch wheel into the project's virtual environment.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/torch-choice.sh
mapfile -t packages < <(sed -e 's/#.*//' -e '/^\s*$/d' packaging/debian-packages.txt)
[ "$NORMOUT_TORCH" = pypi ] && packages+=(python3-venv)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "Installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
if [ "$NORMOUT_TORCH" = pypi ]; then
  # Never system-wide: the wheel (about 3 GB with its CUDA libraries) goes into $NORMOUT_VENV.
  [ -x "$NORMOUT_VENV/bin/python" ] || python3 -m venv "$NORMOUT_VENV"
  have=$("$NORMOUT_VENV/bin/python" -c 'import torch; print(torch.__version__.split("+")[0])' 2>/dev/null || true)
  if [ "$have" != "$NORMOUT_TORCH_PYPI_VERSION" ]; then
    echo "Installing torch $NORMOUT_TORCH_PYPI_VERSION into $NORMOUT_VENV"
    "$NORMOUT_VENV/bin/pip" install -q "torch==$NORMOUT_TORCH_PYPI_VERSION" numpy
  fi
fi
