# The build tree's pkg-config file (what Go's `#cgo pkg-config: windowagg`
# uses through PKG_CONFIG_PATH=${build}/pkgconfig) compiles a host against the
# source headers and the just-built library, and its rpath lets the binary
# run without LD_LIBRARY_PATH.
# Variables: BUILD_DIR SOURCE_DIR WORK_DIR C_COMPILER PKG_CONFIG SANITIZE (optional)
cmake_minimum_required(VERSION 3.25)
set(san_flags "")
if(SANITIZE)
  set(san_flags "-fsanitize=${SANITIZE} -fno-omit-frame-pointer")
endif()
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env "PKG_CONFIG_PATH=${BUILD_DIR}/pkgconfig" sh -c
    "\"$1\" ${san_flags} -o example \"$2\" $(\"$3\" --cflags --libs windowagg)"
    sh "${C_COMPILER}" "${SOURCE_DIR}/examples/c/main.c" "${PKG_CONFIG}"
  WORKING_DIRECTORY "${WORK_DIR}" RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "build against ${BUILD_DIR}/pkgconfig/windowagg.pc failed:\n${out}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" -E env --unset=LD_LIBRARY_PATH "${WORK_DIR}/example" 5000
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "windowagg 1\\.")
  message(FATAL_ERROR "example built from the build-tree .pc failed (${rc}):\n${out}")
endif()
message(STATUS "build-tree pkg-config: OK")
