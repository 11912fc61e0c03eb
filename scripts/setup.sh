#!/usr/bin/env bash
# Installs what samc needs on a Debian machine (as root), skipping what is
# already there.  Used by the README's set-up commands and by .ci/run.
set -euo pipefail
pkgs=(build-essential pkg-config zlib1g-dev libcmocka-dev libopenblas-dev
      liblinear-tools libopenmpi-dev openmpi-bin)
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
