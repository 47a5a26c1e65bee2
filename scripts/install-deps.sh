#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages lorad needs to build and test, if any are missing.
# Runs apt-get as root directly, or through sudo; says what to run when it can do neither.
set -euo pipefail

# systemd: systemd-analyze and systemd-socket-activate, which the unit and socket-activation tests run.
packages=(libopenblas-dev libsystemd-dev libsqlite3-dev pkg-config systemd)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

echo "lorad: installing missing system packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo -n)
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "lorad: cannot install packages: not root and sudo is not available." >&2
    echo "lorad: run as root: apt-get update && apt-get install -y ${missing[*]}" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
