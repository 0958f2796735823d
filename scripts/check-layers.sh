#!/usr/bin/env bash
# Checks that dependencies point down: every folder of the product has a layer rank (the
# table below), and every `#include "dir/file.h"` in a .c or .h file under those folders
# must name a folder of the same rank or a lower one. Public headers (`qhybrid/...`) may
# be included everywhere. Three more rules: mpi_sim and distribute never include each
# other's headers, the kernels include no MPI, HDF5, FFTW or ZeroMQ header, and each
# third-party header named in OWNERS is included only by the files listed there. Prints
# every offending include as `file:line: includes X (...)` and exits 1.
#
#   scripts/check-layers.sh        (from anywhere; checks the tree it belongs to)
set -euo pipefail
cd "$(dirname "$0")/.."

# folder -> rank, bottom first. A folder not listed here takes the rank of the longest
# listed folder that contains it.
RANKS='
include/qhybrid   0   public headers: include nothing of ours but each other
core              1   statuses, errors, machine facts
mpi_sim/kernels   2   gate loops over local buffers, SIMD
mpi_sim/circuit   3   gates, circuits, parameter expressions (the circuit IR)
mpi_sim/qasm      4   the OpenQASM reader
mpi_sim/comm      5   the MPI wrapper
mpi_sim/state     6   one process state vector, measurement, serial FFT, clock
mpi_sim/plan      7   compiling circuits into plans and executing them
mpi_sim/h5        8   HDF5 files
mpi_sim/shard     9   the state over MPI ranks, FFTW-MPI
mpi_sim/run       10  qh_sim_run, batches, MPI entry points, qh_world
distribute        10  tasks over workers (beside mpi_sim, see APART)
transpiler        20  mapping circuits onto backends
launcher          30  hybrid jobs, the job store, functions, files
launcher/cli      40  the qhybrid command
'

# Folders that never include each other's headers, whatever their ranks.
APART='
mpi_sim distribute
'

# Third-party header -> the only files that may include it. (mpi.h has one user per module
# - mpi_sim/comm/comm.c, distribute/mpi_boot.c, the transpiler's own - so it is not here.)
OWNERS='
fftw3.h      mpi_sim/state/fft.c
fftw3-mpi.h  mpi_sim/shard/fft_mpi.c
hdf5.h       mpi_sim/h5/h5io.c
zmq.h        distribute/transport.c
sqlite3.h    launcher/store.c
'

# The kernels are pure loops: none of these, whatever OWNERS says.
KERNELS=mpi_sim/kernels
KERNELS_BANNED='mpi.h hdf5.h fftw3.h fftw3-mpi.h fftw3_mpi.h zmq.h'

folders=$(awk 'NF { print $1 }' <<<"$RANKS")
mapfile -t files < <(find $folders -type f \( -name '*.c' -o -name '*.h' \) 2>/dev/null |
    LC_ALL=C sort -u)
[ "${#files[@]}" -gt 0 ] || { echo "check-layers: no sources found" >&2; exit 1; }

awk -v ranks="$RANKS" -v apart="$APART" -v owners="$OWNERS" -v kernels="$KERNELS" \
    -v banned="$KERNELS_BANNED" '
function layer(path,    f, best) {  # the longest listed folder holding path, or ""
    best = ""
    for (f in rank)
        if ((path == f || index(path, f "/") == 1) && length(f) > length(best))
            best = f
    return best
}
function top(path) { sub(/\/.*/, "", path); return path }
function complain(msg) { print FILENAME ":" FNR ": " msg; bad = 1 }
BEGIN {
    n = split(ranks, lines, "\n")
    for (i = 1; i <= n; i++)
        if (split(lines[i], w, " ") >= 2)
            rank[w[1]] = w[2] + 0
    n = split(apart, lines, "\n")
    for (i = 1; i <= n; i++)
        if (split(lines[i], w, " ") == 2) {
            sep[w[1] SUBSEP w[2]] = 1
            sep[w[2] SUBSEP w[1]] = 1
        }
    n = split(owners, lines, "\n")
    for (i = 1; i <= n; i++) {
        m = split(lines[i], w, " ")
        for (j = 2; j <= m; j++) {
            owned[w[1]] = 1
            owner[w[1] SUBSEP w[j]] = 1
            who[w[1]] = who[w[1]] (j > 2 ? ", " : "") w[j]
        }
    }
    n = split(banned, w, " ")
    for (i = 1; i <= n; i++)
        ban[w[i]] = 1
}
FNR == 1 { here = layer(FILENAME) }
/^[ \t]*#[ \t]*include[ \t]*</ {
    h = $0
    sub(/^[^<]*</, "", h)
    sub(/>.*/, "", h)
    if (here == kernels && h in ban)
        complain("includes <" h "> (the kernels include no MPI, HDF5, FFTW or ZeroMQ header)")
    else if (h in owned && !((h SUBSEP FILENAME) in owner))
        complain("includes <" h "> (only " who[h] " may)")
    next
}
/^[ \t]*#[ \t]*include[ \t]*"/ {
    h = $0
    sub(/^[^"]*"/, "", h)
    sub(/".*/, "", h)
    if (index(h, "qhybrid/") == 1)
        next  # the public API, open to every layer
    if (index(h, "/") == 0) {
        complain("includes \"" h "\" (name project headers from the top: \"dir/" h "\")")
        next
    }
    dir = h
    sub(/\/[^\/]*$/, "", dir)
    there = layer(dir)
    if (there == "") {
        complain("includes " h " (folder " dir " has no layer in scripts/check-layers.sh)")
        next
    }
    if ((top(there) SUBSEP top(here)) in sep)
        complain("includes " h " (" top(there) " and " top(here) " never include each other)")
    else if (rank[there] > rank[here])
        complain("includes " h " (layer " there " [" rank[there] "] above layer " here " [" \
                 rank[here] "])")
}
END { exit bad }
' "${files[@]}" || {
    echo "check-layers: includes must point down the layers (table in scripts/check-layers.sh)" >&2
    exit 1
}
