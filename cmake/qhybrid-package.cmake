# The installed libraries and how programs find them: for each component, a shared and a
# static library assembled from the modules' object libraries, its CMake targets
# (qhybrid::<name>, qhybrid::<name>_static) and its pkg-config file. Included by the top
# CMakeLists.txt after the modules, which lists the object libraries of each component.
#
# Only what a program needs leaves the build: the public include directory, the libraries
# below, MPI (public: qhybrid/sim_mpi.h takes an MPI_Comm) and, for the static libraries
# only, the third-party libraries to link. The project's own flags (qh_flags: warnings,
# -fcx-limited-range, _GNU_SOURCE, QH_VERSION, the source tree on the include path,
# sanitizers) stay inside the build.

set(QH_CMAKE_INSTALL_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/qhybrid)

# qh_third_party_libs(<out-var> <target>...)
# The third-party link items (imported targets, plain library names) that the targets link,
# looking through our own interface targets (qh_flags) but not into other object libraries,
# whose component carries their dependencies. Aliases are resolved, so that exported files
# name the real targets.
function(qh_third_party_libs out)
    set(result "")
    set(seen "")
    set(queue ${ARGN})
    while(queue)
        list(POP_FRONT queue t)
        if(t IN_LIST seen)
            continue()
        endif()
        list(APPEND seen ${t})
        get_target_property(libs ${t} INTERFACE_LINK_LIBRARIES)
        if(NOT libs)
            continue()
        endif()
        foreach(lib IN LISTS libs)
            string(REGEX REPLACE "^\\$<LINK_ONLY:(.*)>$" "\\1" lib "${lib}")
            if(NOT TARGET "${lib}")
                list(APPEND result "${lib}")
                continue()
            endif()
            get_target_property(aliased ${lib} ALIASED_TARGET)
            if(aliased)
                set(lib ${aliased})
            endif()
            get_target_property(imported ${lib} IMPORTED)
            get_target_property(type ${lib} TYPE)
            if(imported)
                list(APPEND result ${lib})
            elseif(type STREQUAL "INTERFACE_LIBRARY")
                list(APPEND queue ${lib})
            endif()
        endforeach()
    endwhile()
    list(REMOVE_DUPLICATES result)
    set(${out} "${result}" PARENT_SCOPE)
endfunction()

# qh_add_component(<component> SHARED <target> STATIC <target> OUTPUT_NAME <name>
#                  EXPORT_NAME <name> DESCRIPTION <text> OBJECTS <object library>...
#                  [NEEDS <component>...] [PUBLIC <link item>...])
# Builds and installs the component's two libraries, their export sets
# (qhybrid-<component>-targets.cmake, qhybrid-<component>-static-targets.cmake) and its .pc
# file. NEEDS names the components below it, already added. Sets QH_<COMPONENT>_SHARED,
# _STATIC and _PC for the components above.
function(qh_add_component component)
    cmake_parse_arguments(C "" "SHARED;STATIC;OUTPUT_NAME;EXPORT_NAME;DESCRIPTION"
        "OBJECTS;NEEDS;PUBLIC" ${ARGN})
    string(TOUPPER ${component} upper)
    qh_third_party_libs(deps ${C_OBJECTS})
    add_library(${C_SHARED} SHARED)
    add_library(${C_STATIC} STATIC)
    add_library(qhybrid::${C_EXPORT_NAME} ALIAS ${C_SHARED})
    add_library(qhybrid::${C_EXPORT_NAME}_static ALIAS ${C_STATIC})
    set(pc_requires "")
    foreach(lib ${C_SHARED} ${C_STATIC})
        foreach(obj ${C_OBJECTS})
            target_sources(${lib} PRIVATE $<TARGET_OBJECTS:${obj}>)
        endforeach()
        target_include_directories(${lib} PUBLIC $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
            $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
        target_link_libraries(${lib} PUBLIC ${C_PUBLIC} PRIVATE ${deps})
    endforeach()
    foreach(need ${C_NEEDS})
        string(TOUPPER ${need} n)
        target_link_libraries(${C_SHARED} PUBLIC ${QH_${n}_SHARED})
        target_link_libraries(${C_STATIC} PUBLIC ${QH_${n}_STATIC})
        list(APPEND pc_requires "${QH_${n}_PC} = ${PROJECT_VERSION}")
    endforeach()
    # The shared library: every symbol resolved at link time (-z defs), so that an internal
    # function one library calls in another without QH_INTERNAL fails the build, not a
    # program's start; its siblings found beside it ($ORIGIN).
    target_link_libraries(${C_SHARED} PRIVATE $<BUILD_INTERFACE:qh_flags>)
    target_link_options(${C_SHARED} PRIVATE LINKER:-z,defs)
    set_target_properties(${C_SHARED} PROPERTIES OUTPUT_NAME ${C_OUTPUT_NAME}
        EXPORT_NAME ${C_EXPORT_NAME} C_VISIBILITY_PRESET hidden VERSION ${PROJECT_VERSION}
        SOVERSION ${PROJECT_VERSION_MAJOR} INSTALL_RPATH "$ORIGIN")
    set_target_properties(${C_STATIC} PROPERTIES OUTPUT_NAME ${C_OUTPUT_NAME}
        EXPORT_NAME ${C_EXPORT_NAME}_static)

    install(TARGETS ${C_SHARED} EXPORT qhybrid-${component}-targets
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(TARGETS ${C_STATIC} EXPORT qhybrid-${component}-static-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR})
    install(EXPORT qhybrid-${component}-targets NAMESPACE qhybrid::
        DESTINATION ${QH_CMAKE_INSTALL_DIR})
    install(EXPORT qhybrid-${component}-static-targets NAMESPACE qhybrid::
        DESTINATION ${QH_CMAKE_INSTALL_DIR})

    # pkg-config: the lower components and MPI (for sim_mpi.h) as Requires; the component's
    # own pkg-config modules as Requires.private; the libraries without a .pc file
    # (FFTW's OpenMP and MPI parts, OpenMP, libm, threads, libdl) as Libs.private.
    set(pc_requires_private "")
    foreach(pair ${QH_${upper}_PKG_MODULES})
        string(REGEX REPLACE "^[^:]*:" "" module "${pair}")
        list(APPEND pc_requires_private ${module})
    endforeach()
    set(pc_libs_private "")
    set(pc_libs "")
    set(pc_cflags "")
    if(component STREQUAL "sim")
        list(APPEND pc_requires ${QH_PC_MPI_REQUIRES})
        set(pc_cflags "${QH_PC_MPI_CFLAGS}")
        set(pc_libs "${QH_PC_MPI_LIBS}")
        get_filename_component(fftw_dir ${QH_FFTW3_MPI_LIB} DIRECTORY)
        if(NOT fftw_dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
            list(APPEND pc_libs_private -L${fftw_dir})
        endif()
        list(APPEND pc_libs_private -lfftw3_mpi -lfftw3_omp ${OpenMP_C_FLAGS} -lm
            ${CMAKE_THREAD_LIBS_INIT})
        foreach(l ${CMAKE_DL_LIBS})
            list(APPEND pc_libs_private -l${l})
        endforeach()
    elseif(component STREQUAL "tasks")
        list(APPEND pc_libs_private ${CMAKE_THREAD_LIBS_INIT})
        foreach(l ${CMAKE_DL_LIBS})
            list(APPEND pc_libs_private -l${l})
        endforeach()
    endif()
    string(REPLACE ";" ", " QH_PC_REQUIRES "${pc_requires}")
    string(REPLACE ";" " " QH_PC_REQUIRES_PRIVATE "${pc_requires_private}")
    string(REPLACE ";" " " QH_PC_LIBS_PRIVATE "${pc_libs_private}")
    string(REPLACE ";" " " QH_PC_CFLAGS "${pc_cflags}")
    string(REPLACE ";" " " QH_PC_LIBS "${pc_libs}")
    set(QH_PC_NAME ${QH_${upper}_PC})
    set(QH_PC_DESCRIPTION "${C_DESCRIPTION}")
    set(QH_PC_LIB ${C_OUTPUT_NAME})
    configure_file(${PROJECT_SOURCE_DIR}/cmake/qhybrid.pc.in
        ${PROJECT_BINARY_DIR}/pkgconfig/${QH_PC_NAME}.pc @ONLY)
    install(FILES ${PROJECT_BINARY_DIR}/pkgconfig/${QH_PC_NAME}.pc
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)

    set(QH_${upper}_SHARED ${C_SHARED} PARENT_SCOPE)
    set(QH_${upper}_STATIC ${C_STATIC} PARENT_SCOPE)
endfunction()

# The .pc files find the prefix from where they are installed, so that a tree installed with
# `cmake --install --prefix DIR` (or moved) stays usable.
if(IS_ABSOLUTE "${CMAKE_INSTALL_LIBDIR}")
    set(QH_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    set(QH_PC_LIBDIR "${CMAKE_INSTALL_LIBDIR}")
else()
    file(RELATIVE_PATH rel "/${CMAKE_INSTALL_LIBDIR}/pkgconfig" "/")
    string(REGEX REPLACE "/$" "" rel "${rel}")
    set(QH_PC_PREFIX "\${pcfiledir}/${rel}")
    set(QH_PC_LIBDIR "\${prefix}/${CMAKE_INSTALL_LIBDIR}")
endif()
if(IS_ABSOLUTE "${CMAKE_INSTALL_INCLUDEDIR}")
    set(QH_PC_INCLUDEDIR "${CMAKE_INSTALL_INCLUDEDIR}")
else()
    set(QH_PC_INCLUDEDIR "\${prefix}/${CMAKE_INSTALL_INCLUDEDIR}")
endif()
set(QH_SIM_PC qhybrid-sim)
set(QH_TASKS_PC qhybrid-tasks)
set(QH_LAUNCHER_PC qhybrid)

# MPI in qhybrid-sim.pc: the pkg-config module of the MPI that FindMPI found (the one whose
# include directories are MPI_C_INCLUDE_DIRS), or else its flags written out.
set(QH_PC_MPI "" CACHE STRING
    "pkg-config module of the MPI qhybrid is built with, for qhybrid-sim.pc (empty: detect)")
set(QH_PC_MPI_REQUIRES "${QH_PC_MPI}")
set(QH_PC_MPI_CFLAGS "")
set(QH_PC_MPI_LIBS "")
if(NOT QH_PC_MPI_REQUIRES)
    foreach(candidate ompi-c mpich mpi-c)
        string(MAKE_C_IDENTIFIER "qh_pc_${candidate}" prefix)
        pkg_check_modules(${prefix} QUIET ${candidate})
        foreach(dir ${${prefix}_INCLUDE_DIRS})
            if(dir IN_LIST MPI_C_INCLUDE_DIRS)
                set(QH_PC_MPI_REQUIRES ${candidate})
                break()
            endif()
        endforeach()
        if(QH_PC_MPI_REQUIRES)
            break()
        endif()
    endforeach()
endif()
if(NOT QH_PC_MPI_REQUIRES)
    foreach(dir ${MPI_C_INCLUDE_DIRS})
        list(APPEND QH_PC_MPI_CFLAGS "-I${dir}")
    endforeach()
    set(QH_PC_MPI_LIBS ${MPI_C_LIBRARIES})
    message(STATUS "qhybrid-sim.pc: no pkg-config module for MPI, its flags written out")
endif()
