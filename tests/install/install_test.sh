#!/usr/bin/env bash
# The installed package from a user's side: installs the build into a fresh prefix with
# `cmake --install`, checks the tree (libraries, headers, umbrella header, command, CMake
# package, .pc files) and that none of the project's own flags reach users, then builds the
# programs of consumer/ outside the source tree against the prefix, twice — a CMake project
# with find_package(qhybrid) (and once more asking for the sim component alone), and plain
# `cc $(pkg-config --cflags --libs qhybrid)` — and runs them. Every command is printed; the
# first failure fails the test.
#
# usage: install_test.sh BUILD_DIR CONSUMER_DIR WORK_DIR LIBDIR CC CMAKE MPIEXEC [CFLAGS]
# LIBDIR is the build's CMAKE_INSTALL_LIBDIR; CFLAGS (e.g. sanitizer flags) go to every
# compilation and link of the programs.
set -euo pipefail
build=$1 consumer=$2 work=$3 libdir=$4 cc=$5 cmake=$6 mpiexec=$7 cflags=${8:-}
prefix=$work/prefix
strict="-std=c11 -Wall -Wextra -Wpedantic -Werror"

fail() {
    echo "test_install: FAIL: $*" >&2
    exit 1
}
run() {
    echo "+ $*" >&2
    "$@"
}

rm -rf "$work"
mkdir -p "$work/pc"

# ---- the tree ----------------------------------------------------------------------------
run "$cmake" --install "$build" --prefix "$prefix" >"$work/install.log"
for f in bin/qhybrid "$libdir"/libqhybrid.so "$libdir"/libqhybrid.a \
    "$libdir"/libqhybrid_sim.so "$libdir"/libqhybrid_sim.a \
    "$libdir"/libqhybrid_tasks.so "$libdir"/libqhybrid_tasks.a \
    include/qhybrid/qhybrid.h include/qhybrid/sim_mpi.h \
    "$libdir"/cmake/qhybrid/qhybrid-config.cmake \
    "$libdir"/cmake/qhybrid/qhybrid-config-version.cmake \
    "$libdir"/pkgconfig/qhybrid.pc "$libdir"/pkgconfig/qhybrid-sim.pc \
    "$libdir"/pkgconfig/qhybrid-tasks.pc; do
    [ -e "$prefix/$f" ] || fail "$f is not installed"
done
run "$prefix/bin/qhybrid" --version || fail "the installed qhybrid command does not run"

# The umbrella header includes every public header but sim_mpi.h.
for h in "$prefix"/include/qhybrid/*.h; do
    name=$(basename "$h")
    case $name in qhybrid.h | sim_mpi.h) continue ;; esac
    grep -q "#include \"qhybrid/$name\"" "$prefix/include/qhybrid/qhybrid.h" ||
        fail "qhybrid.h does not include $name"
done
grep -q "sim_mpi.h\"" "$prefix/include/qhybrid/qhybrid.h" && fail "qhybrid.h includes sim_mpi.h"

# Nothing of the build's own flags or paths in what users read.
src=$(cd "$consumer/../../.." && pwd)
if grep -rnE -- "-W(all|extra|error)|fcx-limited-range|_GNU_SOURCE|QH_VERSION|QH_BUILDING|fsanitize|qh_flags|$src|$build" \
    "$prefix/$libdir/cmake/qhybrid" "$prefix/$libdir/pkgconfig"; then
    fail "the package passes the project's own flags or paths to its users"
fi

# ---- CMake: find_package(qhybrid) ------------------------------------------------------------
cmake_consumer() { # dir, extra cmake arguments
    local dir=$1
    shift
    run "$cmake" -S "$consumer" -B "$dir" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_C_COMPILER="$cc" \
        -DCMAKE_C_FLAGS="$cflags" "$@" >"$dir.log" || { cat "$dir.log"; fail "configure $dir"; }
    run "$cmake" --build "$dir" >>"$dir.log" 2>&1 || { cat "$dir.log"; fail "build $dir"; }
}
cmake_consumer "$work/cmake"
run "$work/cmake/bell"
run "$work/cmake/bell_static"
run "$work/cmake/sim_only"
run "$work/cmake/sim_only_static"
mpirun2() { # MPI's own allocations are not ours to report
    run env ASAN_OPTIONS=detect_leaks=0 "$mpiexec" --allow-run-as-root --oversubscribe -n 2 "$@"
}
mpirun2 "$work/cmake/sim_mpi"

# The simulator alone: no task layer, no launcher, none of their libraries.
cmake_consumer "$work/cmake-sim" -DQH_SIM_ONLY=ON
run "$work/cmake-sim/sim_only"
linked=$(ldd "$work/cmake-sim/sim_only")
echo "$linked" | grep -q "libqhybrid_sim.so" || fail "sim_only does not use libqhybrid_sim.so"
if echo "$linked" | grep -E "libqhybrid(_tasks)?\.so|libzmq|libcairo|libsqlite3|libarchive"; then
    fail "a simulator-only program loads the task layer's or the launcher's libraries"
fi

# ---- pkg-config ------------------------------------------------------------------------------
export PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig"
rpath="-Wl,-rpath,$prefix/$libdir"
for pc in qhybrid qhybrid-sim qhybrid-tasks; do
    run pkg-config --validate "$pc" || fail "$pc.pc is not valid"
done
# every public header compiles on its own with the package's flags alone
for h in "$prefix"/include/qhybrid/*.h; do
    printf '#include <qhybrid/%s>\ntypedef int not_empty;\n' "$(basename "$h")" >"$work/pc/header.c"
    # shellcheck disable=SC2046,SC2086
    $cc $strict $cflags -fsyntax-only $(pkg-config --cflags qhybrid) "$work/pc/header.c" ||
        fail "qhybrid/$(basename "$h") does not compile on its own"
done
# shellcheck disable=SC2046,SC2086
run $cc $strict $cflags "$consumer/bell.c" -o "$work/pc/bell" \
    $(pkg-config --cflags --libs qhybrid) -lm $rpath
run "$work/pc/bell"
# shellcheck disable=SC2046,SC2086
run $cc $strict $cflags "$consumer/sim_only.c" -o "$work/pc/sim_only" \
    $(pkg-config --cflags --libs qhybrid-sim) -lm $rpath
run "$work/pc/sim_only"
if ldd "$work/pc/sim_only" | grep -E "libqhybrid(_tasks)?\.so|libzmq|libcairo|libsqlite3|libarchive"; then
    fail "the pkg-config simulator-only program loads other components' libraries"
fi
# shellcheck disable=SC2046,SC2086
run $cc $strict $cflags "$consumer/sim_mpi.c" -o "$work/pc/sim_mpi" \
    $(pkg-config --cflags --libs qhybrid-sim) -lm $rpath
mpirun2 "$work/pc/sim_mpi"
# static: libqhybrid_sim.a with Libs.private and the private requirements (--static)
static_libs=$(pkg-config --static --libs qhybrid-sim | sed 's/-lqhybrid_sim\b/-l:libqhybrid_sim.a/')
# shellcheck disable=SC2046,SC2086
run $cc $strict $cflags "$consumer/sim_only.c" -o "$work/pc/sim_only_static" \
    $(pkg-config --cflags qhybrid-sim) $static_libs -lm
ldd "$work/pc/sim_only_static" | grep -q libqhybrid && fail "sim_only_static loads a shared qhybrid"
run "$work/pc/sim_only_static"

echo "test_install: ok ($prefix)"
