#!/usr/bin/env bash
# Installs the Debian 12 packages NormOut Lab needs to build, test and run.
set -euo pipefail
packages=(
  g++ cmake ninja-build git curl tar ca-certificates
  libtorch-dev libopenblas0-openmp   # OpenBLAS: without it Linear layers run ~80x slower
  libhdf5-dev hdf5-tools nlohmann-json3-dev libcli11-dev libfmt-dev
  libjpeg-dev libpng-dev zlib1g-dev
  qt6-base-dev libqcustomplot-dev
  dataset-fashion-mnist              # the default data set of demos and tests
)
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
