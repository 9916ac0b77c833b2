#!/usr/bin/env bash
# Builds windowagg with the native benchmarks and runs them, writing
#   OUT/native.json  Google Benchmark JSON (the raw numbers)
#   OUT/native.txt   the console table
#   OUT/summary.md   Markdown tables with same-run ratios and targets
#   OUT/*.png        plots (when matplotlib is importable)
#
# usage: benchmarks/run.sh [OUT]            (OUT defaults to out/bench)
# (scripts/bench.sh runs this as its native part, then the Go and Python
#  benchmarks, and writes the combined report.)
# env:   BENCH_MIN_TIME   seconds per benchmark (default 0.2)
#        BENCH_FILTER     --benchmark_filter regex (default: all)
#        BENCH_REPS       repetitions; >1 reports medians (default 1)
#        BENCH_BUILD_DIR  build directory (default build/bench in the repo)
#        BENCH_JOBS       parallel build jobs (default 2)
set -euo pipefail

OUT="${1:-out/bench}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BENCH_BUILD_DIR:-$ROOT/build/bench}"
MIN_TIME="${BENCH_MIN_TIME:-0.2}"
FILTER="${BENCH_FILTER:-.}"
REPS="${BENCH_REPS:-1}"
JOBS="${BENCH_JOBS:-2}"

# Debian packages the benchmarks need (installed only when missing, as root).
need=()
for pkg in cmake ninja-build g++ pkg-config libbenchmark-dev libabsl-dev libmimalloc-dev libxxhash-dev; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}"
  else
    echo "run.sh: missing packages: ${need[*]} (apt-get install them)" >&2
    exit 1
  fi
fi

generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
cmake -S "$ROOT" -B "$BUILD" "${generator[@]}" \
  -DCMAKE_BUILD_TYPE=Release \
  -DWINDOWAGG_BUILD_BENCHMARKS=ON \
  -DWINDOWAGG_BUILD_TESTS=OFF \
  -DWINDOWAGG_BUILD_EXAMPLES=OFF >/dev/null
cmake --build "$BUILD" -j "$JOBS" --target windowagg_bench windowagg_profile_driver

mkdir -p "$OUT"
args=(--benchmark_min_time="$MIN_TIME" --benchmark_filter="$FILTER"
      --benchmark_out="$OUT/native.json" --benchmark_out_format=json
      --benchmark_counters_tabular=false)
if ((REPS > 1)); then
  args+=(--benchmark_repetitions="$REPS" --benchmark_report_aggregates_only=true)
fi
"$BUILD/benchmarks/windowagg_bench" "${args[@]}" | tee "$OUT/native.txt"

python3 "$ROOT/benchmarks/report.py" "$OUT/native.json" --out "$OUT"
echo "run.sh: wrote $OUT/summary.md"
