#!/usr/bin/env bash
# THE test command (also what .ci/run calls):
#
#   scripts/test.sh
#
# 1. scripts/setup.sh (installs what is missing)
# 2. release build (CMake preset "release") + ctest
# 3. Go tests, `go test -race ./...` in bindings/go and examples/go (if present)
# 4. pytest in bindings/python (if present); then the Python package from a
#    fresh venv: `pip install ./bindings/python` and `pip wheel`, no
#    environment variable, the bundled libraries checked in /proc/self/maps
#    (tests/packaging/python_wheel.sh; CMake build dir <build root>/python-wheel)
# 5. asan preset (AddressSanitizer + UBSan) build + ctest; then the debug
#    preset (-O0, nothing inlined unless forced) build + ctest: code whose
#    result depends on inlining (the multiversioned kernels did) fails there
# 6. Go tests again with GOEXPERIMENT=cgocheck2 (bindings/go)
# 7. leak checks: valgrind --leak-check=full on the Go test binary and on
#    pytest, against the "leakcheck" preset (library with the system
#    allocator, so valgrind sees every block); zero definite leaks required
# 8. tsan preset (ThreadSanitizer) build + ctest
# 9. scripts/fuzz.sh $WINDOWAGG_FUZZ_SECONDS (default 60): both libFuzzer
#    targets, Clang, bounded
# Stops at the first failure and prints which suites ran and how they ended.
#
# Build directories: $WINDOWAGG_BUILD_ROOT/<preset>, default <repo>/build/<preset>
# (the presets' own binaryDir). WINDOWAGG_SKIP_ASAN=1 skips step 5,
# WINDOWAGG_SKIP_TSAN=1 step 8, WINDOWAGG_SKIP_LEAKS=1 step 7,
# WINDOWAGG_SKIP_FUZZ=1 step 9, WINDOWAGG_SKIP_DEBUG=1 the debug part of
# step 5. Steps 5 and 8 leave out the ctest label
# "heavy" (long randomized runs, already run in step 2);
# WINDOWAGG_ASAN_CTEST_ARGS / WINDOWAGG_TSAN_CTEST_ARGS replace that
# selection ("" = everything).
#
# Environment the Go and Python suites get (steps 3 and 4):
#   WINDOWAGG_BUILD_DIR = $WINDOWAGG_BUILD_ROOT/release   (the release build)
#   PKG_CONFIG_PATH     = $WINDOWAGG_BUILD_DIR/pkgconfig (build-tree windowagg.pc:
#                         -I<repo>/include, -L$WINDOWAGG_BUILD_DIR/lib -lwindowagg
#                         and an rpath to it; for `#cgo pkg-config: windowagg`)
#   CGO_CFLAGS          = -O2 -g -I<repo>/include
#   CGO_LDFLAGS         = -O2 -g -L$WINDOWAGG_BUILD_DIR/lib -Wl,-rpath,$WINDOWAGG_BUILD_DIR/lib
#   LD_LIBRARY_PATH     = $WINDOWAGG_BUILD_DIR/lib (prepended)
#   WINDOWAGG_LIBRARY   = $WINDOWAGG_BUILD_DIR/lib/libwindowagg.so (Python ctypes)
#   CGO_ENABLED=1
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build_root="${WINDOWAGG_BUILD_ROOT:-$repo/build}"
jobs="${WINDOWAGG_JOBS:-2}"

ran=()
skipped=()
current=""
summary() {
  local rc=$?
  echo
  echo "==== test summary ===="
  for s in "${ran[@]}"; do echo "  PASS  $s"; done
  if [ -n "$current" ]; then echo "  FAIL  $current"; fi
  for s in "${skipped[@]}"; do echo "  SKIP  $s"; done
  if [ $rc -eq 0 ]; then echo "all suites passed"; else echo "FAILED (exit $rc)"; fi
}
trap summary EXIT
suite() { current="$1"; echo; echo "==== $1 ===="; }
passed() { ran+=("$current"); current=""; }

suite "setup"
scripts/setup.sh
passed
# setup.sh may have put the machine's Go on PATH only for itself.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

build_preset() { # <preset>
  cmake --preset "$1" -B "$build_root/$1"
  cmake --build "$build_root/$1" -j "$jobs"
}

suite "release: build"
build_preset release
passed

suite "release: ctest"
ctest --test-dir "$build_root/release" --output-on-failure -j "$jobs" --no-tests=error
passed

# ---- Bindings against the release build tree (see the header comment) ----
. "$repo/scripts/build_env.sh"
use_build_tree "$build_root/release"

for mod in bindings/go bindings/go/prometheus bindings/go/peerbench examples/go examples/fleet; do
  if [ -f "$mod/go.mod" ]; then
    suite "go test -race ($mod)"
    (cd "$mod" && go test -race -count=1 ./...)
    passed
  else
    skipped+=("go test ($mod: no go.mod)")
  fi
done

if [ -f bindings/go/go.mod ]; then
  # cgocheck2: the runtime checks every pointer write and every pointer
  # passed to C for Go pointers hidden in C memory (the zero-copy paths).
  suite "go test, GOEXPERIMENT=cgocheck2 (bindings/go)"
  (cd bindings/go && GOEXPERIMENT=cgocheck2 go test -count=1 ./...)
  passed
fi

if [ -d bindings/python ] && [ -n "$(ls bindings/python/tests 2>/dev/null)" ]; then
  suite "pytest (bindings/python)"
  (cd bindings/python && python3 -m pytest -q)
  passed
else
  skipped+=("pytest (no bindings/python/tests)")
fi

if [ -f tests/packaging/python_wheel.sh ] && [ -f bindings/python/pyproject.toml ]; then
  # As a user installs it: a fresh venv, none of the variables above.
  suite "python package: fresh venv, pip install ./bindings/python (bundled libraries)"
  WINDOWAGG_BUILD_ROOT="$build_root" tests/packaging/python_wheel.sh
  passed
fi

if [ -f examples/spark/test_spark.py ]; then
  # Spark's local mode over several partitions; the binding from the tree.
  # test_spark_quantiles.py: timestamp columns, hopping/sliding windows, the
  # comparison with percentile_approx (its table: add -s).
  suite "pytest (examples/spark, PySpark local mode)"
  (cd examples/spark && PYTHONPATH="$repo/bindings/python${PYTHONPATH:+:$PYTHONPATH}" \
     python3 -m pytest -q test_spark.py test_spark_quantiles.py)
  passed
fi
if [ -f examples/python/windowed_stats.py ]; then
  suite "examples/python (CSV -> windowed stats)"
  PYTHONPATH="$repo/bindings/python${PYTHONPATH:+:$PYTHONPATH}" \
    python3 examples/python/windowed_stats.py >/dev/null
  passed
fi

# ---- Sanitizers ---------------------------------------------------------------
# sanitizer_suites <preset> <label> [ctest args...]: builds the preset, then
# runs its ctest; the in-tree binaries must load the instrumented library,
# not the release one.
sanitizer_suites() {
  local preset="$1" label="$2"
  shift 2
  suite "$label: build"
  build_preset "$preset"
  passed
  suite "$label: ctest"
  LD_LIBRARY_PATH="$build_root/$preset/lib" PKG_CONFIG_PATH="$build_root/$preset/pkgconfig" \
    ctest --test-dir "$build_root/$preset" --output-on-failure -j "$jobs" --no-tests=error "$@"
  passed
}

if [ "${WINDOWAGG_SKIP_ASAN:-0}" != 1 ]; then
  # Same settings as the "asan" test preset.
  export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
  sanitizer_suites asan "asan+ubsan" ${WINDOWAGG_ASAN_CTEST_ARGS--LE heavy}
else
  skipped+=("asan+ubsan (WINDOWAGG_SKIP_ASAN=1)")
fi
if [ "${WINDOWAGG_SKIP_DEBUG:-0}" != 1 ]; then
  sanitizer_suites debug "debug (-O0)" -LE heavy
else
  skipped+=("debug (WINDOWAGG_SKIP_DEBUG=1)")
fi

# ---- Leak checks of the binding test suites ------------------------------------
# valgrind (LeakSanitizer through LD_PRELOAD of the ASan runtime is fragile
# with Go and CPython). The library is built with the system allocator so
# valgrind tracks its blocks (mimalloc's own pages are invisible to it).
# Memcheck's other reports are noise here (the Go runtime's own stacks and
# heap), so the step reads the leak records instead of the exit status:
#   Go:     zero bytes "definitely lost" in the whole process;
#   Python: no "definitely lost" record with a windowagg frame (CPython and
#           NumPy keep a few one-time blocks from interpreter start-up).
vg_leak_check() { # <log> <all|library>
  local log="$1" mode="$2" bad
  grep -q "LEAK SUMMARY\|All heap blocks were freed" "$log" || { echo "no valgrind leak summary in $log"; return 1; }
  if [ "$mode" = all ]; then
    if grep -q "definitely lost: [1-9]" "$log"; then grep -A5 "LEAK SUMMARY" "$log"; return 1; fi
  else
    bad="$(awk '/are definitely lost in loss record/{b=1; h=0; next}
                b && /==[0-9]+== *$/{ if (h) n++; b=0; next }
                b && /libwindowagg|aggregator_|windowagg::/{h=1}
                END{print n+0}' "$log")"
    if [ "$bad" != 0 ]; then echo "$bad definite leak record(s) through windowagg, see $log"; return 1; fi
  fi
  grep -A3 "LEAK SUMMARY" "$log" || true
}
if [ "${WINDOWAGG_SKIP_LEAKS:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
  suite "leak check: build (leakcheck preset, system allocator)"
  build_preset leakcheck
  passed
  leak_dir="$build_root/leakcheck"
  leak_lib="$leak_dir/lib"
  vg=(valgrind --leak-check=full --show-leak-kinds=definite --num-callers=30 --error-limit=no)
  suite "leak check: valgrind go test binary (bindings/go)"
  (cd bindings/go &&
    PKG_CONFIG_PATH="$leak_dir/pkgconfig" CGO_LDFLAGS="-O2 -g -L$leak_lib -Wl,-rpath,$leak_lib" \
      go test -c -o "$leak_dir/windowagg_go.test" . &&
    LD_LIBRARY_PATH="$leak_lib" "${vg[@]}" --log-file="$leak_dir/valgrind-go.log" \
      "$leak_dir/windowagg_go.test" -test.count=1 \
      -test.run "${WINDOWAGG_LEAK_GO_RUN:-Golden|Serialization|Errors|UseAfterClose|Keys|StringKeys|AllStats|TumblingWindows|HoppingWindows|SlidingWindow|ProcessBatch|EmptySlices|CleanupFreesForgottenHandle}")
  vg_leak_check "$leak_dir/valgrind-go.log" all
  passed
  suite "leak check: valgrind pytest (bindings/python)"
  # The real interpreter, not a pyenv shim (valgrind would trace the shell).
  py="$(python3 -c 'import sys; print(sys.executable)')"
  (cd bindings/python &&
    PYTHONMALLOC=malloc WINDOWAGG_LIBRARY="$leak_lib/libwindowagg.so" LD_LIBRARY_PATH="$leak_lib" \
      "${vg[@]}" --log-file="$leak_dir/valgrind-python.log" "$py" -m pytest -q -p no:cacheprovider \
      ${WINDOWAGG_LEAK_PYTEST:-tests/test_golden.py tests/test_state.py tests/test_api.py tests/test_windows.py})
  vg_leak_check "$leak_dir/valgrind-python.log" library
  passed
else
  skipped+=("leak checks (WINDOWAGG_SKIP_LEAKS=1 or no valgrind)")
fi

# ---- ThreadSanitizer ------------------------------------------------------------
# The sanitizer presets build the library with the system allocator and do
# not link Debian's libmimalloc.so.2 (it defines malloc, and TSan's runtime
# crashed before main with it).
if [ "${WINDOWAGG_SKIP_TSAN:-0}" != 1 ]; then
  export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"
  sanitizer_suites tsan tsan ${WINDOWAGG_TSAN_CTEST_ARGS--LE heavy}
else
  skipped+=("tsan (WINDOWAGG_SKIP_TSAN=1)")
fi

# ---- Fuzzing (bounded) ------------------------------------------------------------
if [ "${WINDOWAGG_SKIP_FUZZ:-0}" != 1 ]; then
  suite "fuzz: scripts/fuzz.sh ${WINDOWAGG_FUZZ_SECONDS:-60}"
  # Every finding fails the step (WINDOWAGG_FUZZ_ALLOW_OOM=1 tolerates
  # out-of-memory findings, e.g. while a resource bug is open).
  WINDOWAGG_FUZZ_ALLOW_OOM="${WINDOWAGG_FUZZ_ALLOW_OOM:-0}" \
    WINDOWAGG_FUZZ_BUILD="$build_root/fuzz" scripts/fuzz.sh "${WINDOWAGG_FUZZ_SECONDS:-60}"
  passed
else
  skipped+=("fuzz (WINDOWAGG_SKIP_FUZZ=1)")
fi
