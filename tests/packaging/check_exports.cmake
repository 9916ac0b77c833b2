# cmake -DNM=<nm> -DLIB=<libwindowagg.so> [-DHEADER=<windowagg.h>] -P check_exports.cmake
#
# Without HEADER: every dynamic symbol the library defines starts with
# aggregator_ (nothing else, including Abseil, mimalloc, xxHash or C++ runtime
# code, leaks into the ABI).
# With HEADER: the exported set equals the set of functions the header
# declares with AGGREGATOR_API (none missing, none undeclared).
cmake_minimum_required(VERSION 3.25)
foreach(v NM LIB)
  if(NOT ${v})
    message(FATAL_ERROR "check_exports.cmake: ${v} not set")
  endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only "${LIB}"
  OUTPUT_VARIABLE out ERROR_VARIABLE err RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "${NM} -D --defined-only ${LIB} failed (${rc}): ${err}")
endif()

string(REPLACE "\n" ";" lines "${out}")
set(exported "")
set(offenders "")
foreach(line IN LISTS lines)
  if(line STREQUAL "")
    continue()
  endif()
  if(NOT line MATCHES "^[0-9a-fA-F]* *([A-Za-z?]) (.+)$")
    list(APPEND offenders "unparsed: ${line}")
    continue()
  endif()
  set(type "${CMAKE_MATCH_1}")
  set(name "${CMAKE_MATCH_2}")
  if(name MATCHES "^aggregator_[A-Za-z0-9_]+$")
    list(APPEND exported "${name}")
  else()
    list(APPEND offenders "${type} ${name}")
  endif()
endforeach()

if(NOT HEADER)
  list(LENGTH exported n_ok)
  if(offenders)
    list(LENGTH offenders n_bad)
    list(JOIN offenders "\n  " shown)
    message(FATAL_ERROR "${LIB} exports ${n_bad} symbol(s) besides aggregator_*:\n  ${shown}")
  endif()
  if(n_ok EQUAL 0)
    message(FATAL_ERROR "${LIB} exports no aggregator_* symbol at all")
  endif()
  message(STATUS "${n_ok} exported symbols, all aggregator_*")
  return()
endif()

include("${CMAKE_CURRENT_LIST_DIR}/header_functions.cmake")
windowagg_header_functions("${HEADER}" declared)

set(missing "")
foreach(fn IN LISTS declared)
  if(NOT fn IN_LIST exported)
    list(APPEND missing "${fn}")
  endif()
endforeach()
set(undeclared "")
foreach(fn IN LISTS exported)
  if(NOT fn IN_LIST declared)
    list(APPEND undeclared "${fn}")
  endif()
endforeach()

list(LENGTH declared n_decl)
if(missing OR undeclared)
  list(JOIN missing " " m)
  list(JOIN undeclared " " u)
  message(FATAL_ERROR "exports of ${LIB} do not match ${HEADER} (${n_decl} declared):\n"
                      "  declared but not exported: ${m}\n"
                      "  exported but not declared: ${u}")
endif()
message(STATUS "all ${n_decl} functions declared in the header are exported, nothing else")
