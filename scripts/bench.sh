#!/usr/bin/env bash
# THE benchmark command:
#
#   scripts/bench.sh [OUT]              (OUT defaults to out/bench, gitignored)
#   BENCH_QUICK=1 scripts/bench.sh      (a few minutes: shorter runs, smaller sizes)
#   scripts/bench.sh --publish [OUT]    (also copies report.md + PNGs to docs/benchmarks/)
#
# 1. scripts/setup.sh (Debian packages, numpy/pandas, Go modules) and
#    pip install -r benchmarks/requirements.txt (matplotlib)
# 2. release build with the native benchmarks (benchmarks/run.sh: build/bench)
# 3. native Google Benchmark suite        -> OUT/native/  (native.json, summary.md)
# 4. Go: bindings/go BenchmarkPush, PushKeyed, PushSliding, BatcherAdd(Parallel)
#    and the peerbench quantile peers (DDSketch, HdrHistogram, Prometheus
#    Summary)                              -> OUT/go/{bindings,peers}.txt
# 5. the GC showdown, scaled down, with GODEBUG=gctrace=1 stamped in time
#                                          -> OUT/go/showdown.{txt,stderr.jsonl}
# 6. Python: bindings/python/bench/bench.py (vs np.sum, pandas rolling)
#                                          -> OUT/python/bench.txt
# 7. benchmarks/bench_report.py            -> OUT/report.md + OUT/*.png
#
# Environment knobs (defaults: full run / BENCH_QUICK=1):
#   BENCH_QUICK          1 = quick settings below
#   BENCH_MIN_TIME       native seconds per benchmark       (0.2 / 0.05)
#   BENCH_REPS           native repetitions, median kept    (3 / 1)
#   BENCH_FILTER         native --benchmark_filter          (all)
#   BENCH_GO_TIME        go test -benchtime                 (1s / 200ms)
#   BENCH_GO_COUNT       go test -count, median kept        (3 / 1)
#   BENCH_SHOWDOWN_FLAGS showdown flags  (-series 20000 -rate 200000 -window 10s
#                        -steady 2s -duration 3s -sides a,b,c,wa,wab; quick: -steady 1s -duration 2s)
#   BENCH_PY_ARGS        bench.py arguments                 ("" / --quick)
#   BENCH_SKIP           comma list of parts to skip: setup,native,go,peers,showdown,python
#   BENCH_JOBS           parallel build jobs                (2)
#   BENCH_BUILD_DIR      build directory                    (build/bench)
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
publish=0
if [ "${1:-}" = "--publish" ]; then publish=1; shift; fi
out="${1:-out/bench}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
cd "$repo"

cmdline="scripts/bench.sh"
[ "$publish" = 1 ] && cmdline+=" --publish"
[ -n "${1:-}" ] && cmdline+=" $1"
envline=""
for v in BENCH_QUICK BENCH_MIN_TIME BENCH_REPS BENCH_FILTER BENCH_GO_TIME BENCH_GO_COUNT \
         BENCH_SHOWDOWN_FLAGS BENCH_PY_ARGS BENCH_SKIP; do
  # only what the caller set explicitly (the resulting settings go to meta.json)
  if [ -n "${!v+x}" ] && printenv "$v" >/dev/null 2>&1; then
    envline+="$v=$(printf '%q' "${!v}") "
  fi
done
quick="${BENCH_QUICK:-0}"
if [ "$quick" = 1 ]; then
  : "${BENCH_MIN_TIME:=0.05}" "${BENCH_REPS:=1}" "${BENCH_GO_TIME:=200ms}" "${BENCH_GO_COUNT:=1}"
  : "${BENCH_SHOWDOWN_FLAGS:=-series 20000 -rate 200000 -window 10s -steady 1s -duration 2s -sides a,b,c,wa,wab}"
  : "${BENCH_PY_ARGS:=--quick}"
else
  : "${BENCH_MIN_TIME:=0.2}" "${BENCH_REPS:=3}" "${BENCH_GO_TIME:=1s}" "${BENCH_GO_COUNT:=3}"
  : "${BENCH_SHOWDOWN_FLAGS:=-series 20000 -rate 200000 -window 10s -steady 2s -duration 3s -sides a,b,c,wa,wab}"
  : "${BENCH_PY_ARGS:=}"
fi
export BENCH_MIN_TIME BENCH_REPS
export BENCH_BUILD_DIR="${BENCH_BUILD_DIR:-$repo/build/bench}"
export BENCH_JOBS="${BENCH_JOBS:-2}"
skip=",${BENCH_SKIP:-},"
want() { [[ "$skip" != *",$1,"* ]]; }
log() { printf '\n==== bench: %s ====\n' "$*"; }

t_start=$(date +%s)
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- 1. setup -------------------------------------------------------------------
if want setup; then
  log "setup"
  scripts/setup.sh
  pip_args=(-q --disable-pip-version-check)
  stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
  if [ -f "$stdlib/EXTERNALLY-MANAGED" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
    pip_args+=(--break-system-packages)
  fi
  python3 -m pip install "${pip_args[@]}" -r benchmarks/requirements.txt
  # the peer benchmarks are a module of their own (DDSketch, HdrHistogram, client_golang)
  (cd bindings/go/peerbench && PATH="$PATH:/usr/local/go/bin" go mod download)
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi

# ---- 2+3. release build + native suite -------------------------------------------
if want native; then
  log "native (benchmarks/run.sh: min_time ${BENCH_MIN_TIME}s, reps ${BENCH_REPS})"
  benchmarks/run.sh "$out/native"
else
  # the bindings still need the library
  cmake -S "$repo" -B "$BENCH_BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DWINDOWAGG_BUILD_BENCHMARKS=ON -DWINDOWAGG_BUILD_TESTS=OFF -DWINDOWAGG_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$BENCH_BUILD_DIR" -j "$BENCH_JOBS" --target windowagg
fi

# The bindings use the same release library (see scripts/test.sh).
. "$repo/scripts/build_env.sh"
use_build_tree "$BENCH_BUILD_DIR"
mkdir -p "$out/go" "$out/python"

# ---- 4. Go benchmarks -----------------------------------------------------------------
gobench=(go test -run '^$' -benchmem -benchtime="$BENCH_GO_TIME" -count="$BENCH_GO_COUNT")
if want go; then
  log "go: bindings/go (benchtime $BENCH_GO_TIME, count $BENCH_GO_COUNT)"
  (cd bindings/go && "${gobench[@]}" \
     -bench '^(BenchmarkPush|BenchmarkPushKeyed|BenchmarkPushSliding|BenchmarkBatcherAdd|BenchmarkBatcherAddParallel)$' . ) \
    | tee "$out/go/bindings.txt"
fi
if want peers; then
  log "go: bindings/go/peerbench"
  (cd bindings/go/peerbench && "${gobench[@]}" -bench '^(BenchmarkIngest|BenchmarkQuery)$' . ) \
    | tee "$out/go/peers.txt"
fi

# ---- 5. GC showdown ------------------------------------------------------------------
if want showdown; then
  log "go: GC showdown ($BENCH_SHOWDOWN_FLAGS)"
  (cd examples/go && go build -o "$out/go/showdown.bin" ./showdown)
  # shellcheck disable=SC2086
  GODEBUG="gctrace=1${GODEBUG:+,$GODEBUG}" python3 benchmarks/stamped.py \
    "$out/go/showdown.txt" "$out/go/showdown.stderr.jsonl" -- \
    "$out/go/showdown.bin" $BENCH_SHOWDOWN_FLAGS
  rm -f "$out/go/showdown.bin"
fi

# ---- 6. Python -------------------------------------------------------------------------
if want python; then
  log "python: bench.py ${BENCH_PY_ARGS}"
  # shellcheck disable=SC2086
  python3 bindings/python/bench/bench.py $BENCH_PY_ARGS | tee "$out/python/bench.txt"
fi

# ---- 7. report ----------------------------------------------------------------------------
t_end=$(date +%s)
load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
BENCH_META_CMD="${envline}${cmdline}" BENCH_META_SECONDS=$((t_end - t_start)) BENCH_META_STARTED="$t_start" \
BENCH_META_LOAD="$load_before|$load_after" BENCH_QUICK="$quick" \
BENCH_MIN_TIME="$BENCH_MIN_TIME" BENCH_REPS="$BENCH_REPS" BENCH_GO_TIME="$BENCH_GO_TIME" \
BENCH_GO_COUNT="$BENCH_GO_COUNT" BENCH_SHOWDOWN_FLAGS="$BENCH_SHOWDOWN_FLAGS" \
BENCH_PY_ARGS="$BENCH_PY_ARGS" python3 - "$out/meta.json" "$repo" <<'EOF'
import json, os, platform, subprocess, sys
e = os.environ
def sh(*a):
    try:
        return subprocess.run(a, capture_output=True, text=True, cwd=sys.argv[2]).stdout.strip()
    except Exception:
        return ""
info = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
cpu = next((l.split(":", 1)[1].strip() for l in info.splitlines() if l.startswith("model name")), "")
before, after = e["BENCH_META_LOAD"].split("|")
json.dump({
    "command": e["BENCH_META_CMD"].strip(),
    "quick": e.get("BENCH_QUICK") == "1",
    "seconds_before_report": int(e["BENCH_META_SECONDS"]),
    "started": int(e["BENCH_META_STARTED"]),
    "load_before": before, "load_after": after,
    "nproc": os.cpu_count(), "cpu": cpu,
    "avx2": " avx2" in info, "avx512f": " avx512f" in info,
    "kernel": platform.release(),
    "go": sh("go", "version"), "python": platform.python_version(),
    "commit": sh("git", "rev-parse", "--short", "HEAD"),
    "dirty_files": sh("git", "status", "--porcelain", "--untracked-files=no").splitlines(),
    "settings": {k: e.get(k, "") for k in ("BENCH_MIN_TIME", "BENCH_REPS", "BENCH_GO_TIME",
                 "BENCH_GO_COUNT", "BENCH_SHOWDOWN_FLAGS", "BENCH_PY_ARGS", "BENCH_FILTER")},
}, open(sys.argv[1], "w"), indent=1)
EOF
log "report"
python3 benchmarks/bench_report.py "$out"

if [ "$publish" = 1 ]; then
  mkdir -p docs/benchmarks
  rm -f docs/benchmarks/*.png
  cp "$out/report.md" docs/benchmarks/report.md
  cp "$out"/*.png docs/benchmarks/
  echo "bench: published $out/report.md and $(ls "$out"/*.png | wc -l) PNGs to docs/benchmarks/"
fi
echo "bench: $out/report.md ($(( $(date +%s) - t_start ))s)"
