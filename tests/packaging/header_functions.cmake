# windowagg_header_functions(<header> <out-var>): the names of the functions
# the public header declares with AGGREGATOR_API (the list the export and
# binding-coverage checks compare against). Fails if there are none.
function(windowagg_header_functions header out)
  file(READ "${header}" text)
  string(REGEX MATCHALL "AGGREGATOR_API[^;(#]*[^A-Za-z0-9_](aggregator_[A-Za-z0-9_]+)[ \t\r\n]*\\("
         decls "${text}")
  set(declared "")
  foreach(d IN LISTS decls)
    string(REGEX REPLACE ".*[^A-Za-z0-9_](aggregator_[A-Za-z0-9_]+)[ \t\r\n]*\\($" "\\1" fn "${d}")
    list(APPEND declared "${fn}")
  endforeach()
  list(REMOVE_DUPLICATES declared)
  if(NOT declared)
    message(FATAL_ERROR "no AGGREGATOR_API declarations found in ${header}")
  endif()
  set(${out} "${declared}" PARENT_SCOPE)
endfunction()
