#!/usr/bin/env bash
# Go vs its native twin at batch 4096, CPU time per value (issue 15 item 1).
#
#   bindings/go/twin_ratio.sh <windowagg_bench> [repetitions]
#
# <windowagg_bench>: the native benchmark program, built with
#   cmake --preset release -B build/release -DWINDOWAGG_BUILD_BENCHMARKS=ON
#   cmake --build build/release -j2 --target windowagg_bench
# The Go side links the library that PKG_CONFIG_PATH / use_build_tree point
# at (the same build). Both run here, one after the other; the table gives
# medians of [repetitions] runs (default 3) and Go/native ratios.
set -euo pipefail
bench=${1:?usage: twin_ratio.sh <windowagg_bench> [repetitions]}
reps=${2:-3}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
filter='binding_ref/kind:count/window:65536/q:1/threading:shared/batch:4096$|push/kind:sliding/window:60s/q:1/batch:4096$|keyed/impl:windowagg/dist:uniform/series:1000/real_time/threads:1$'
"$bench" --benchmark_filter="$filter" --benchmark_repetitions="$reps" \
  --benchmark_format=json >"$tmp/native.json" 2>/dev/null
(cd "$here" && go test -run '^$' -bench '^BenchmarkTwin$' -benchtime 2s -count "$reps" .) >"$tmp/go.txt"
python3 - "$tmp/native.json" "$tmp/go.txt" <<'PY'
import json, re, statistics, sys
native = {}
for b in json.load(open(sys.argv[1]))["benchmarks"]:
    if b.get("run_type") != "iteration":
        continue
    name = b["run_name"].replace("/real_time", "")
    native.setdefault(name, []).append(b["cpu_time"] / 4096)  # ns per value (cpu_time in ns)
go = {}
for line in open(sys.argv[2]):
    m = re.match(r"BenchmarkTwin/(\S+?)-\d+\s+\d+\s+\S+ ns/op(.*)", line)
    if not m:
        continue
    f = dict((u, float(v)) for v, u in re.findall(r"([\d.]+) (\S+)", m.group(2)))
    go.setdefault(m.group(1), []).append(f)
print("| native twin (batch 4096) | native CPU ns/value | Go thread CPU ns/value | ratio | Go process CPU ns/value | ratio |")
print("| --- | ---: | ---: | ---: | ---: | ---: |")
for name, runs in go.items():
    n = statistics.median(native.get(name, [float("nan")]))
    t = statistics.median(r["thread-cpu-ns/value"] for r in runs)
    p = statistics.median(r["cpu-ns/value"] for r in runs)
    print(f"| {name} | {n:.2f} | {t:.2f} | {t/n:.2f} | {p:.2f} | {p/n:.2f} |")
PY
