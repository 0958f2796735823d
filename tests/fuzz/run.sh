#!/bin/sh
# Builds the OpenQASM reader's libFuzzer target with clang (-fsanitize=fuzzer,address,
# undefined), compiling only the sources it needs, and fuzzes it.
#
#   tests/fuzz/run.sh [SECONDS] [--merge]
#
# SECONDS (default 60) is how long to fuzz. New inputs go to a working corpus in the build
# directory ($QH_FUZZ_DIR, default build-fuzz/ at the top of the tree), seeded from
# tests/fuzz/corpus/qasm; crashes are written to $QH_FUZZ_DIR/artifacts/. With --merge,
# the inputs that add coverage are then merged (minimised) into tests/fuzz/corpus/qasm.
# Environment: CC (default clang), QH_FUZZ_JOBS (parallel fuzzing jobs, default 1).
set -eu

secs=60
merge=0
for arg in "$@"; do
    case "$arg" in
    --merge) merge=1 ;;
    -h | --help)
        sed -n '2,12p' "$0"
        exit 0
        ;;
    *[!0-9]* | '')
        echo "run.sh: unknown argument '$arg'" >&2
        exit 2
        ;;
    *) secs=$arg ;;
    esac
done

root=$(cd "$(dirname "$0")/../.." && pwd)
out=${QH_FUZZ_DIR:-$root/build-fuzz}
cc=${CC:-clang}
jobs=${QH_FUZZ_JOBS:-1}
seeds=$root/tests/fuzz/corpus/qasm
mkdir -p "$out/corpus-qasm" "$out/artifacts"

src="core/status.c mpi_sim/circuit/gates.c mpi_sim/circuit/circuit.c mpi_sim/circuit/expr.c
     mpi_sim/qasm/qasm_lexer.c mpi_sim/qasm/qasm_parser.c mpi_sim/qasm/qasm_expr.c
     mpi_sim/qasm/qasm_qelib1.c tests/fuzz/fuzz_qasm.c"
paths=""
for f in $src; do paths="$paths $root/$f"; done
echo "run.sh: building $out/fuzz_qasm with $cc" >&2
# shellcheck disable=SC2086
"$cc" -std=c17 -g -O1 -D_GNU_SOURCE -I "$root/include" -I "$root" \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -Wall -Wextra $paths -lm -o "$out/fuzz_qasm"

echo "run.sh: fuzzing for $secs s" >&2
parallel=""
if [ "$jobs" -gt 1 ]; then parallel="-jobs=$jobs -workers=$jobs"; fi
status=0
# shellcheck disable=SC2086
"$out/fuzz_qasm" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
    -dict="$root/tests/fuzz/qasm.dict" -artifact_prefix="$out/artifacts/" \
    -print_final_stats=1 $parallel "$out/corpus-qasm" "$seeds" || status=$?

if [ "$merge" = 1 ]; then
    echo "run.sh: merging new coverage into $seeds" >&2
    "$out/fuzz_qasm" -merge=1 -dict="$root/tests/fuzz/qasm.dict" "$seeds" "$out/corpus-qasm"
fi
if [ "$status" != 0 ]; then
    echo "run.sh: the fuzzer stopped with status $status; see $out/artifacts/" >&2
fi
exit "$status"
