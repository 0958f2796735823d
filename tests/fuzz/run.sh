#!/bin/sh
# Builds a libFuzzer target with clang (-fsanitize=fuzzer,address,undefined), compiling
# only the sources it needs, and fuzzes it: the OpenQASM reader (qasm, the default) or the
# broker's message handling (broker).
#
#   tests/fuzz/run.sh [qasm|broker] [SECONDS] [--merge]
#
# SECONDS (default 60) is how long to fuzz. New inputs go to a working corpus in the build
# directory ($QH_FUZZ_DIR, default build-fuzz/ at the top of the tree), seeded from
# tests/fuzz/corpus/TARGET; crashes are written to $QH_FUZZ_DIR/artifacts/. With --merge,
# the inputs that add coverage are then merged (minimised) into tests/fuzz/corpus/TARGET.
# Environment: CC (default clang), QH_FUZZ_JOBS (parallel fuzzing jobs, default 1).
set -eu

secs=60
merge=0
target=qasm
for arg in "$@"; do
    case "$arg" in
    --merge) merge=1 ;;
    qasm | broker) target=$arg ;;
    -h | --help)
        sed -n '2,13p' "$0"
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
seeds=$root/tests/fuzz/corpus/$target
mkdir -p "$out/corpus-$target" "$out/artifacts"

if [ "$target" = qasm ]; then
    src="core/status.c mpi_sim/circuit/gates.c mpi_sim/circuit/circuit.c mpi_sim/circuit/expr.c
         mpi_sim/qasm/qasm_lexer.c mpi_sim/qasm/qasm_parser.c mpi_sim/qasm/qasm_expr.c
         mpi_sim/qasm/qasm_qelib1.c tests/fuzz/fuzz_qasm.c"
    libs="-lm"
    dict="-dict=$root/tests/fuzz/qasm.dict"
else
    src="core/status.c core/clock.c distribute/broker.c distribute/wire.c distribute/squeue.c
         distribute/value.c distribute/value_msgpack.c distribute/transport.c distribute/keys.c
         tests/fuzz/fuzz_broker.c"
    libs="$(pkg-config --libs libzmq msgpack) -lm"
    dict=""
fi
paths=""
for f in $src; do paths="$paths $root/$f"; done
bin=$out/fuzz_$target
echo "run.sh: building $bin with $cc" >&2
# shellcheck disable=SC2086
"$cc" -std=c17 -g -O1 -D_GNU_SOURCE -I "$root/include" -I "$root" \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -fno-omit-frame-pointer -Wall -Wextra $paths $libs -o "$bin"

echo "run.sh: fuzzing for $secs s" >&2
parallel=""
if [ "$jobs" -gt 1 ]; then parallel="-jobs=$jobs -workers=$jobs"; fi
status=0
# shellcheck disable=SC2086
"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 \
    -max_len=4096 $dict -artifact_prefix="$out/artifacts/" -print_final_stats=1 $parallel \
    "$out/corpus-$target" "$seeds" || status=$?

if [ "$merge" = 1 ]; then
    echo "run.sh: merging new coverage into $seeds" >&2
    # shellcheck disable=SC2086
    "$bin" -merge=1 $dict "$seeds" "$out/corpus-$target"
fi
if [ "$status" != 0 ]; then
    echo "run.sh: the fuzzer stopped with status $status; see $out/artifacts/" >&2
fi
exit "$status"
