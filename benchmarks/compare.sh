#!/usr/bin/env bash
# Native benchmarks of the working tree against an earlier revision, in one
# run: both builds alternate ROUNDS times on the same machine and the best
# time of each is compared (new/old), so load on a shared machine moves both.
#
# usage: benchmarks/compare.sh <revision> [FILTER]
#   e.g. benchmarks/compare.sh d54be78 \
#          '(baseline/kind:plain_sum|push/kind:.*)/batch:4096$|keyed/impl:windowagg/.*/series:100000/real_time/threads:1$'
# env:   ROUNDS (3), BENCH_MIN_TIME (0.3), BENCH_JOBS (2),
#        BENCH_BUILD_DIR (build/bench: the working tree's benchmark build)
# Dependencies as for every build: scripts/setup.sh.
set -euo pipefail

rev="${1:?usage: benchmarks/compare.sh <revision> [FILTER]}"
filter="${2:-.}"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS="${ROUNDS:-3}"
MIN_TIME="${BENCH_MIN_TIME:-0.3}"
JOBS="${BENCH_JOBS:-2}"
NEW_BUILD="${BENCH_BUILD_DIR:-$ROOT/build/bench}"
work="$(mktemp -d)"
trap 'git -C "$ROOT" worktree remove --force "$work/src" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# Both builds the same way (dependencies: scripts/setup.sh).
build() {
  cmake -S "$1" -B "$2" -G Ninja -DCMAKE_BUILD_TYPE=Release -DWINDOWAGG_BUILD_BENCHMARKS=ON \
    -DWINDOWAGG_BUILD_TESTS=OFF -DWINDOWAGG_BUILD_EXAMPLES=OFF >/dev/null
  cmake --build "$2" -j "$JOBS" --target windowagg_bench >/dev/null
}
build "$ROOT" "$NEW_BUILD"
git -C "$ROOT" worktree add --detach "$work/src" "$rev" >/dev/null
build "$work/src" "$work/old"

for round in $(seq "$ROUNDS"); do
  for side in old new; do
    if [ "$side" = old ]; then bin="$work/old/benchmarks/windowagg_bench"; else bin="$NEW_BUILD/benchmarks/windowagg_bench"; fi
    "$bin" --benchmark_filter="$filter" --benchmark_min_time="$MIN_TIME" \
      --benchmark_out="$work/$side-$round.json" --benchmark_out_format=json >/dev/null 2>&1
  done
done

python3 - "$work" "$ROUNDS" "$rev" <<'EOF'
import collections, json, sys
work, rounds, rev = sys.argv[1], int(sys.argv[2]), sys.argv[3]
best = collections.defaultdict(dict)
for side in ("old", "new"):
    for r in range(1, rounds + 1):
        for b in json.load(open(f"{work}/{side}-{r}.json"))["benchmarks"]:
            t = b["real_time"]
            best[b["name"]][side] = min(t, best[b["name"]].get(side, t))
print(f"| benchmark | {rev} | working tree | new/old |")
print("| --- | ---: | ---: | ---: |")
for name in sorted(best):
    o, n = best[name].get("old"), best[name].get("new")
    if o and n:
        print(f"| {name} | {o:.0f} | {n:.0f} | {n / o:.2f} |")
EOF
