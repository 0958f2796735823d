#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds qhybrid and simulates a bundled circuit:
# Grover's search for |1011> on 4 qubits, 1000 shots, plus two expectation values.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j"$(nproc)" --target qhybrid_cli 2>&1 | grep -vE '^\[ *[0-9]+%\]|^-- ' || true
echo "\$ qhybrid sim --shots 1000 --seed 7 --expect Z0 --expect 'Z0 Z1' examples/circuits/grover_n4.qasm" >&2
build/launcher/cli/qhybrid sim --shots 1000 --seed 7 --expect Z0 --expect "Z0 Z1" \
    examples/circuits/grover_n4.qasm
