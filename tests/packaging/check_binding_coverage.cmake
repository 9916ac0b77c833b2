# cmake -DHEADER=<windowagg.h> -DBINDING=<file>[;<file>...] -P check_binding_coverage.cmake
#
# Binding coverage: every function windowagg.h declares with AGGREGATOR_API
# is either called in the binding's files (`name(`) or listed there, once,
# as deliberately not wrapped, with a reason:
#     not wrapped: aggregator_xxx -- why
# A listed function that the binding does call, or that the header no longer
# declares, is an error too (the list must not go stale). Used for the C++
# wrapper (include/windowagg/windowagg.hpp); the Go and Python bindings have
# the same check in their own test suites (docs/conventions.md).
cmake_minimum_required(VERSION 3.25)
foreach(v HEADER BINDING)
  if(NOT ${v})
    message(FATAL_ERROR "check_binding_coverage.cmake: ${v} not set")
  endif()
endforeach()

include("${CMAKE_CURRENT_LIST_DIR}/header_functions.cmake")
windowagg_header_functions("${HEADER}" declared)

set(src "")
foreach(f IN LISTS BINDING)
  file(READ "${f}" t)
  string(REPLACE ";" "," t "${t}")  # CMake lists split on ';'
  string(APPEND src "\n${t}")
endforeach()

# The deliberate exceptions, and the text without them (so a listed name
# does not count as a use).
string(REGEX MATCHALL "not wrapped: aggregator_[A-Za-z0-9_]+ -- [^\n]+" listed_lines "${src}")
string(REGEX REPLACE "not wrapped: aggregator_[A-Za-z0-9_]+ -- [^\n]+" "" code "${src}")
set(listed "")
foreach(l IN LISTS listed_lines)
  string(REGEX REPLACE "^not wrapped: (aggregator_[A-Za-z0-9_]+) -- .*$" "\\1" fn "${l}")
  list(APPEND listed "${fn}")
endforeach()

set(problems "")
foreach(fn IN LISTS declared)
  string(REGEX MATCH "[^A-Za-z0-9_]${fn}[ \t\r\n]*\\(" used "${code}")
  list(FIND listed "${fn}" at)
  if(used AND NOT at EQUAL -1)
    list(APPEND problems "${fn} is called but also listed as not wrapped")
  elseif(NOT used AND at EQUAL -1)
    list(APPEND problems "${fn} is neither called nor listed as 'not wrapped: ${fn} -- reason'")
  endif()
endforeach()
foreach(fn IN LISTS listed)
  if(NOT fn IN_LIST declared)
    list(APPEND problems "${fn} is listed as not wrapped but the header does not declare it")
  endif()
endforeach()

list(LENGTH declared n_decl)
list(LENGTH listed n_listed)
if(problems)
  list(JOIN problems "\n  " shown)
  message(FATAL_ERROR "binding ${BINDING} does not cover ${HEADER}:\n  ${shown}")
endif()
math(EXPR n_used "${n_decl} - ${n_listed}")
message(STATUS "${n_used} of ${n_decl} functions called, ${n_listed} listed as not wrapped")
