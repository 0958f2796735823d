# qh_load_at_run_time(<target> <imported-target> <library-regex> <define>)
# For a library that <target> compiles against but loads with dlopen when first needed
# (core/dynload.h) instead of linking: gives <target> the include directories and compile
# options of <imported-target>, and the compile definition <define>="<soname>", the name the
# shared library matching <library-regex> among the imported target's libraries gives
# itself, with its directory when that is not one the linker searches by default (its
# resolved path when objdump cannot tell).
function(qh_load_at_run_time target imported regex define)
    target_include_directories(${target} PRIVATE
        $<TARGET_PROPERTY:${imported},INTERFACE_INCLUDE_DIRECTORIES>)
    target_compile_options(${target} PRIVATE
        $<TARGET_PROPERTY:${imported},INTERFACE_COMPILE_OPTIONS>)
    get_target_property(libs ${imported} INTERFACE_LINK_LIBRARIES)
    set(found "")
    foreach(lib ${libs})
        if(lib MATCHES "${regex}")
            set(found "${lib}")
        endif()
    endforeach()
    if(NOT found)
        message(FATAL_ERROR "no library matching ${regex} among ${imported}'s: ${libs}")
    endif()
    get_filename_component(real "${found}" REALPATH)
    get_filename_component(dir "${real}" DIRECTORY)
    execute_process(COMMAND ${CMAKE_OBJDUMP} -p ${real} OUTPUT_VARIABLE dyn
        RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND dyn MATCHES "SONAME +([^ \n]+)" AND EXISTS "${dir}/${CMAKE_MATCH_1}")
        # the soname alone where the dynamic loader looks anyway, else with its directory
        # (a library under a Spack or module prefix, found by the build, not by the loader)
        set(name "${CMAKE_MATCH_1}")
        if(NOT dir IN_LIST CMAKE_C_IMPLICIT_LINK_DIRECTORIES)
            set(name "${dir}/${name}")
        endif()
    else()
        set(name "${real}")
    endif()
    message(STATUS "${target} loads ${name} when first needed")
    target_compile_definitions(${target} PRIVATE ${define}="${name}")
endfunction()
