# Installs the build tree into a scratch prefix and builds the examples
# against the installed package the two ways a consumer would:
#   1. CMake: find_package(windowagg CONFIG) via CMAKE_PREFIX_PATH
#      (examples/c and examples/cpp, the latter through windowagg.hpp);
#   2. pkg-config: `cc main.c $(pkg-config --cflags --libs windowagg)` and
#      examples/c/Makefile, via PKG_CONFIG_PATH.
# Every binary runs with LD_LIBRARY_PATH set to the prefix's lib directory
# only, and must load the installed libwindowagg.so.1.
#
# Variables: BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR GENERATOR
#            C_COMPILER CXX_COMPILER PKG_CONFIG MAKE SANITIZE (optional)
cmake_minimum_required(VERSION 3.25)
foreach(v BUILD_DIR SOURCE_DIR WORK_DIR LIBDIR INCLUDEDIR GENERATOR C_COMPILER
          CXX_COMPILER PKG_CONFIG MAKE)
  if(NOT DEFINED ${v} OR "${${v}}" STREQUAL "")
    message(FATAL_ERROR "install_consume.cmake: ${v} not set")
  endif()
endforeach()

# Runs a command in ${run_cwd}; fails the test with its output.
function(run what)
  execute_process(COMMAND ${ARGN} WORKING_DIRECTORY "${run_cwd}"
    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${what} failed (${rc}):\n${ARGN}\n${out}")
  endif()
  set(run_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix "${WORK_DIR}/prefix")
set(libdir "${prefix}/${LIBDIR}")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(run_cwd "${WORK_DIR}")

run("cmake --install" "${CMAKE_COMMAND}" --install "${BUILD_DIR}" --prefix "${prefix}")

foreach(f
    "${INCLUDEDIR}/windowagg/windowagg.h"
    "${INCLUDEDIR}/windowagg/windowagg.hpp"
    "${LIBDIR}/libwindowagg.so"
    "${LIBDIR}/libwindowagg.so.1"
    "${LIBDIR}/cmake/windowagg/windowaggConfig.cmake"
    "${LIBDIR}/cmake/windowagg/windowaggConfigVersion.cmake"
    "${LIBDIR}/cmake/windowagg/windowaggTargets.cmake"
    "${LIBDIR}/pkgconfig/windowagg.pc")
  if(NOT EXISTS "${prefix}/${f}")
    message(FATAL_ERROR "not installed: ${prefix}/${f}")
  endif()
endforeach()

set(san_flags "")
if(SANITIZE)
  set(san_flags "-fsanitize=${SANITIZE} -fno-omit-frame-pointer")
endif()
# Only the installed library may be found: no inherited search paths.
set(run_env "${CMAKE_COMMAND}" -E env "LD_LIBRARY_PATH=${libdir}")
set(pc_env "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${libdir}/pkgconfig"
    "PKG_CONFIG_LIBDIR=${libdir}/pkgconfig" "LD_LIBRARY_PATH=${libdir}")

# The binary must resolve libwindowagg.so.1 inside the prefix.
function(check_binary what exe)
  run("ldd ${what}" ${run_env} ldd "${exe}")
  string(REGEX MATCH "libwindowagg\\.so\\.1 => ([^ \n]+)" m "${run_output}")
  get_filename_component(found "${CMAKE_MATCH_1}" REALPATH)
  get_filename_component(want "${libdir}/libwindowagg.so.1" REALPATH)
  if(NOT found STREQUAL want)
    message(FATAL_ERROR "${what} loads '${CMAKE_MATCH_1}', not ${want}:\n${run_output}")
  endif()
  run("${what}" ${run_env} "${exe}" ${ARGN})
  if(NOT run_output MATCHES "windowagg 1\\.")
    message(FATAL_ERROR "${what}: unexpected output:\n${run_output}")
  endif()
  message(STATUS "${what}: OK")
endfunction()

# --- 1. CMake package ----------------------------------------------------------
foreach(lang c cpp)
  set(bdir "${WORK_DIR}/cmake-${lang}")
  run("configure examples/${lang}" "${CMAKE_COMMAND}"
      -S "${SOURCE_DIR}/examples/${lang}" -B "${bdir}" -G "${GENERATOR}"
      "-DCMAKE_BUILD_TYPE=Release"
      "-DCMAKE_C_COMPILER=${C_COMPILER}" "-DCMAKE_CXX_COMPILER=${CXX_COMPILER}"
      "-DCMAKE_C_FLAGS=${san_flags}" "-DCMAKE_CXX_FLAGS=${san_flags}"
      "-DCMAKE_PREFIX_PATH=${prefix}"
      "-DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF"
      "-DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF")
  file(STRINGS "${bdir}/CMakeCache.txt" dir_line REGEX "^windowagg_DIR:")
  if(NOT dir_line STREQUAL "windowagg_DIR:PATH=${libdir}/cmake/windowagg")
    message(FATAL_ERROR "examples/${lang} found the wrong package: ${dir_line}")
  endif()
  run("build examples/${lang}" "${CMAKE_COMMAND}" --build "${bdir}" -j 2)
endforeach()
check_binary("examples/c via CMake" "${WORK_DIR}/cmake-c/windowagg-example-c" 20000)
check_binary("examples/cpp via CMake" "${WORK_DIR}/cmake-cpp/windowagg-example-cpp" 20000)

# --- 2. pkg-config ---------------------------------------------------------------
run("pkg-config" ${pc_env} "${PKG_CONFIG}" --cflags --libs windowagg)
if(NOT run_output MATCHES "-lwindowagg" OR NOT run_output MATCHES "-I")
  message(FATAL_ERROR "pkg-config --cflags --libs windowagg gave: ${run_output}")
endif()
message(STATUS "pkg-config --cflags --libs windowagg: ${run_output}")

file(MAKE_DIRECTORY "${WORK_DIR}/pkgconfig-cc" "${WORK_DIR}/pkgconfig-make")
set(run_cwd "${WORK_DIR}/pkgconfig-cc")
run("cc main.c $(pkg-config --cflags --libs windowagg)" ${pc_env} sh -c
    "\"$1\" ${san_flags} -o windowagg-example-c \"$2\" $(\"$3\" --cflags --libs windowagg)"
    sh "${C_COMPILER}" "${SOURCE_DIR}/examples/c/main.c" "${PKG_CONFIG}")
check_binary("examples/c via cc + pkg-config" "${WORK_DIR}/pkgconfig-cc/windowagg-example-c" 20000)

set(run_cwd "${WORK_DIR}/pkgconfig-make")
run("make -f examples/c/Makefile" ${pc_env} "${MAKE}" -f "${SOURCE_DIR}/examples/c/Makefile"
    "CC=${C_COMPILER}" "CFLAGS=-O2 -Wall -Wextra ${san_flags}")
set(run_cwd "${WORK_DIR}")
check_binary("examples/c via Makefile + pkg-config" "${WORK_DIR}/pkgconfig-make/windowagg-example-c" 20000)

message(STATUS "install-and-consume: OK")
