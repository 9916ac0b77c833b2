# cmake -DREADELF=<readelf> -DLIB=<path of libwindowagg.so.X.Y.Z> -DSONAME=<expected>
#       -DLINK_NAME=<libwindowagg.so> -P check_soname.cmake
#
# The library carries SONAME libwindowagg.so.1 and the build tree has the
# usual chain libwindowagg.so -> libwindowagg.so.1 -> libwindowagg.so.1.0.0.
cmake_minimum_required(VERSION 3.25)
execute_process(COMMAND "${READELF}" -d "${LIB}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${READELF} -d ${LIB} failed (${rc}): ${err}")
endif()
if(NOT out MATCHES "\\(SONAME\\)[^\n]*\\[([^]\n]*)\\]")
  message(FATAL_ERROR "${LIB} has no SONAME:\n${out}")
endif()
if(NOT CMAKE_MATCH_1 STREQUAL SONAME)
  message(FATAL_ERROR "${LIB} has SONAME ${CMAKE_MATCH_1}, want ${SONAME}")
endif()

get_filename_component(dir "${LIB}" DIRECTORY)
get_filename_component(real "${LIB}" REALPATH)
foreach(link "${SONAME}" "${LINK_NAME}")
  if(NOT IS_SYMLINK "${dir}/${link}")
    message(FATAL_ERROR "${dir}/${link} is missing or not a symlink")
  endif()
  get_filename_component(target "${dir}/${link}" REALPATH)
  if(NOT target STREQUAL real)
    message(FATAL_ERROR "${dir}/${link} resolves to ${target}, want ${real}")
  endif()
endforeach()
message(STATUS "SONAME ${SONAME}; ${LINK_NAME} -> ${SONAME} -> ${real}")
