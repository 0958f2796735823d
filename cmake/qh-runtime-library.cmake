# qh_load_at_run_time(<target> <imported-target> <library-regex> <define>)
# For a library that <target> compiles against but loads with dlopen when first needed
# (core/dynload.h) instead of linking: gives <target> the include directories and compile
# options of <imported-target>, and the compile definition <define>="<soname>", the name the
# shared library matching <library-regex> among the imported target's libraries gives
# itself (its resolved path when objdump cannot tell).
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
    execute_process(COMMAND ${CMAKE_OBJDUMP} -p ${found} OUTPUT_VARIABLE dyn
        RESULT_VARIABLE rc ERROR_QUIET)
    if(rc EQUAL 0 AND dyn MATCHES "SONAME +([^ \n]+)")
        set(name "${CMAKE_MATCH_1}")
    else()
        get_filename_component(name "${found}" REALPATH)
    endif()
    message(STATUS "${target} loads ${name} when first needed")
    target_compile_definitions(${target} PRIVATE ${define}="${name}")
endfunction()
