#!/usr/bin/env bash
# Installs every package qhybrid needs to build, test and benchmark on Debian 12 (Slurm
# and munge for the tests of jobs run by Slurm: tests/launcher starts a one-node cluster).
# Idempotent: when everything is already installed it prints nothing and exits 0.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git
    clang libclang-rt-14-dev clang-format
    libopenmpi-dev openmpi-bin
    libfftw3-dev libfftw3-mpi-dev
    libhdf5-openmpi-dev hdf5-tools
    libzmq3-dev
    libcmocka-dev
    libsqlite3-dev
    libarchive-dev
    libcairo2-dev
    procps
    libcjson-dev
    libmsgpack-dev
    libnlopt-dev
    libhwloc-dev
    slurm-wlm munge
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "installing: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
