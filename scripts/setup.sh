#!/usr/bin/env bash
# Installs what samc needs on a Debian machine (as root), skipping what is
# already there.  Used by the README's set-up commands and by .ci/run.
set -euo pipefail
# Everything `make`, `make test`, `make sanitize` (gcc's ASan/UBSan come with
# build-essential) and the samc side of `make bench` use, and nothing else:
#   build: compiler, zlib, OpenBLAS (BLAS and LAPACK), oneDNN (convolutions),
#          cJSON (--format json), cmocka (unit tests), Open MPI (make MPI=1,
#          tests/cli_mpi.sh)
#   data:  heart_scale (liblinear-tools), Fashion-MNIST
#   tests: gnuplot (samc plot), valgrind (tests/cli_valgrind.sh), python3
#          (writes npy files and parses JSON / CSV output; standard library),
#          procps (pgrep: tests/cli_mpi.sh finds the rank it kills),
#          python3-cffi, python3-numpy, python3-pytest (the Python package and
#          its tests), python3-scipy (the float64 sparse reference of the
#          sparse tests), python3-torch (an export loaded into the PyTorch
#          definitions by load_state_dict), time (/usr/bin/time: the peak RSS
#          of each rank in tests/cli_sparse.sh)
# bench/run.sh installs PyTorch, the peer it compares with, itself.
pkgs=(build-essential pkg-config zlib1g-dev libopenblas-dev libdnnl-dev
      libcjson-dev libcmocka-dev libopenmpi-dev openmpi-bin
      liblinear-tools dataset-fashion-mnist
      gnuplot-nox valgrind python3 procps
      python3-cffi python3-numpy python3-pytest python3-scipy python3-torch time)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "setup: all dependencies present"
