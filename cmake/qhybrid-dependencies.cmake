# The third-party packages of each part of qhybrid, found the same way by qhybrid's own build
# and by the installed CMake package (qhybrid-config.cmake), which both include this file.
#
# The pkg-config packages become imported targets with names of their own (PkgConfig::qh_*,
# and qh::fftw for FFTW with its OpenMP and MPI parts), so that finding qhybrid neither
# replaces a user's PkgConfig::HDF5 nor sets their HDF5_* variables. MPI, OpenMP and Threads
# are CMake's own MPI::MPI_C, OpenMP::OpenMP_C and Threads::Threads.
#
# Components:
#   sim       libqhybrid_sim: circuits, the OpenQASM reader, plans, kernels, sharding, the
#             transpiler
#             - MPI (public: qhybrid/sim_mpi.h takes an MPI_Comm), OpenMP, HDF5 (the
#               Open MPI build; compiled against and loaded when first used, not linked),
#               FFTW with its OpenMP and MPI libraries, cJSON (backend files and transpiler
#               reports), threads and dlopen (the loader of HDF5 and cairo)
#   tasks     libqhybrid_tasks: the task layer — ZeroMQ, MessagePack, cJSON, MPI, threads,
#             dlopen
#   launcher  libqhybrid: hybrid jobs and the data store — libarchive, SQLite, cairo (as
#             HDF5: loaded when the first plot is drawn)

# The pkg-config modules of each component, as <prefix>:<module>; the imported target is
# PkgConfig::<prefix>. The modules are also the Requires.private of the component's .pc file.
set(QH_SIM_PKG_MODULES qh_fftw3:fftw3 qh_cjson:libcjson)
set(QH_TASKS_PKG_MODULES qh_zmq:libzmq qh_msgpack:msgpack qh_cjson:libcjson)
set(QH_LAUNCHER_PKG_MODULES qh_archive:libarchive qh_sqlite3:sqlite3)
# The modules qhybrid compiles against but does not link (it loads them when first needed,
# core/dynload.h): looked for only by qhybrid's own build (QH_FIND_COMPILE_MODULES set),
# since programs built against an installed qhybrid need neither their headers nor their
# .pc files.
set(QH_SIM_PKG_COMPILE_MODULES qh_hdf5:hdf5-openmpi)
set(QH_TASKS_PKG_COMPILE_MODULES "")
set(QH_LAUNCHER_PKG_COMPILE_MODULES qh_cairo:cairo)

# qh_find_dependencies(<missing-var> <component>...)
# Finds the packages of the given components, quietly, and sets <missing-var> in the
# caller's scope to the list of those not found (empty when all were). A function, so that
# the find modules' result variables stay out of the caller's scope; the imported targets
# belong to the calling directory.
function(qh_find_dependencies missing_var)
    set(missing "")
    foreach(component ${ARGN})
        if(NOT component MATCHES "^(sim|tasks|launcher)$")
            message(FATAL_ERROR "qh_find_dependencies: unknown component '${component}'")
        endif()
    endforeach()
    find_package(PkgConfig QUIET)
    if(NOT PKG_CONFIG_FOUND)
        set(${missing_var} "pkg-config" PARENT_SCOPE)
        return()
    endif()
    foreach(component ${ARGN})
        # CMake's own find modules
        if(component MATCHES "^(sim|tasks)$")
            find_package(MPI QUIET COMPONENTS C)
            if(NOT TARGET MPI::MPI_C)
                list(APPEND missing "MPI (C)")
            endif()
        endif()
        if(component STREQUAL "sim")
            find_package(OpenMP QUIET COMPONENTS C)
            if(NOT TARGET OpenMP::OpenMP_C)
                list(APPEND missing "OpenMP (C)")
            endif()
        endif()
        if(component MATCHES "^(sim|tasks)$")
            set(THREADS_PREFER_PTHREAD_FLAG ON)
            find_package(Threads QUIET)
            if(NOT TARGET Threads::Threads)
                list(APPEND missing "Threads")
            endif()
        endif()
        # pkg-config modules
        string(TOUPPER "${component}" upper)
        set(modules ${QH_${upper}_PKG_MODULES})
        if(QH_FIND_COMPILE_MODULES)
            list(APPEND modules ${QH_${upper}_PKG_COMPILE_MODULES})
        endif()
        foreach(pair ${modules})
            string(REPLACE ":" ";" pair "${pair}")
            list(GET pair 0 prefix)
            list(GET pair 1 module)
            if(NOT TARGET PkgConfig::${prefix})
                pkg_check_modules(${prefix} QUIET IMPORTED_TARGET ${module})
            endif()
            if(NOT TARGET PkgConfig::${prefix})
                list(APPEND missing "${module} (pkg-config)")
            endif()
        endforeach()
        # FFTW's OpenMP threads and MPI parts have no .pc file: they are looked for beside
        # the serial library.
        if(component STREQUAL "sim" AND TARGET PkgConfig::qh_fftw3 AND NOT TARGET qh::fftw)
            pkg_get_variable(fftw_libdir fftw3 libdir)
            find_library(QH_FFTW3_OMP_LIB fftw3_omp HINTS ${fftw_libdir})
            find_library(QH_FFTW3_MPI_LIB fftw3_mpi HINTS ${fftw_libdir})
            if(QH_FFTW3_OMP_LIB AND QH_FFTW3_MPI_LIB AND TARGET MPI::MPI_C
               AND TARGET OpenMP::OpenMP_C)
                add_library(qh::fftw INTERFACE IMPORTED)
                target_link_libraries(qh::fftw INTERFACE ${QH_FFTW3_MPI_LIB} ${QH_FFTW3_OMP_LIB}
                    PkgConfig::qh_fftw3 MPI::MPI_C OpenMP::OpenMP_C)
            else()
                list(APPEND missing "libfftw3_omp and libfftw3_mpi")
            endif()
        endif()
    endforeach()
    list(REMOVE_DUPLICATES missing)
    set(${missing_var} "${missing}" PARENT_SCOPE)
endfunction()
