# Sourced by deps.sh, build.sh and test.sh: which LibTorch to build against.
#   NORMOUT_TORCH=debian (default): Debian's libtorch-dev 1.13, CPU only, C++17, into build/.
#   NORMOUT_TORCH=pypi: the pinned PyPI torch wheel (LibTorch 2.x with CUDA) in the project-local
#     virtual environment .venv-torch/ (ignored by git), C++20, into build-pypi/.
NORMOUT_TORCH=${NORMOUT_TORCH:-debian}
NORMOUT_TORCH_PYPI_VERSION=$(sed -e 's/#.*//' -e '/^\s*$/d' packaging/torch-pypi-version.txt)
NORMOUT_VENV=${NORMOUT_VENV:-.venv-torch}
case "$NORMOUT_TORCH" in
  debian) NORMOUT_BUILD_DIR=${NORMOUT_BUILD_DIR:-build} ;;
  pypi) NORMOUT_BUILD_DIR=${NORMOUT_BUILD_DIR:-build-pypi} ;;
  *) echo "NORMOUT_TORCH must be debian or pypi (not '$NORMOUT_TORCH')" >&2; exit 2 ;;
esac
# CMake's search path for the wheel's LibTorch: its root first (so that find_library takes the
# wheel's libtorch.so, not Debian's in /usr/lib), then its CMake package.
torch_prefix_path() {
  "$NORMOUT_VENV/bin/python" -c 'import os, torch; r = os.path.dirname(torch.__file__); print(r + ";" + torch.utils.cmake_prefix_path)'
}
