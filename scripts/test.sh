#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test: the check that includes point down
# the layers (scripts/check-layers.sh), the whole suite under AddressSanitizer +
# UndefinedBehaviorSanitizer (build-asan/), then the circuits too large for the sanitizers
# (up to 29 qubits, 8 GiB) on the optimised build (build/). The Slurm tests (label slurm)
# start a one-node Slurm cluster of their own (scripts/slurm-up.sh, a ctest fixture) and
# stop it after them; they need root, as the cluster's slurmd runs as root.
set -euo pipefail
cd "$(dirname "$0")/.."
# includes point down the layers (no build needed, so first)
bash scripts/check-layers.sh
bash scripts/install-deps.sh
jobs=$(nproc)

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DQH_SANITIZE=ON -DQH_WERROR=ON \
    -DQH_BUILD_BENCH=OFF >/dev/null
cmake --build build-asan -j"$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -x build-asan/launcher/cli/qhybrid
(cd build-asan && ctest --output-on-failure -LE large)

cmake -S . -B build -DCMAKE_BUILD_TYPE=Release -DQH_WERROR=ON >/dev/null
cmake --build build -j"$jobs" 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
test -x build/launcher/cli/qhybrid
(cd build && ctest --output-on-failure -L large)
