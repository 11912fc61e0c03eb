#!/usr/bin/env bash
# Installs what samc needs on a Debian machine (as root), skipping what is
# already there.  Used by the README's set-up commands and by .ci/run.
set -euo pipefail
# build and test: compiler, zlib, cmocka, OpenBLAS, Open MPI (make MPI=1);
# data: heart_scale (liblinear-tools), Fashion-MNIST; gnuplot for samc plot;
# python3 writes small npy files in the CLI tests (standard library only)
pkgs=(build-essential pkg-config zlib1g-dev libcmocka-dev libopenblas-dev
      libopenmpi-dev openmpi-bin liblinear-tools dataset-fashion-mnist
      gnuplot-nox python3)
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
