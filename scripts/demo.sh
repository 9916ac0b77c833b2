#!/usr/bin/env bash
# THE main job: the GC showdown (examples/go/showdown).
#
#   scripts/demo.sh [showdown flags]      e.g. scripts/demo.sh -series 10000 -window 10s
#   scripts/demo.sh --c                   the C example instead (a synthetic latency stream)
#   WINDOWAGG_BUILD_TREE=/path/to/build scripts/demo.sh
#                                         use a library already built there (lib/, pkgconfig/) as is
#
# Installs what is missing (scripts/setup.sh), builds the library (release
# preset), then runs the showdown against the build tree: 100,000 series,
# ~1M values/s, 1-minute sliding windows with p50/p99/p999, through windowagg
# and pure-Go implementations, and prints one side-by-side table and the
# verdict per column against the goals (windowagg vs the tuned Go arena).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="${WINDOWAGG_BUILD_ROOT:-$repo/build}/release"
prebuilt="${WINDOWAGG_BUILD_TREE:-}"

if [ -z "$prebuilt" ]; then
  scripts/setup.sh
fi
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
if [ -n "$prebuilt" ]; then
  [ "${1:-}" != "--c" ] || { echo "demo.sh: --c needs a build (unset WINDOWAGG_BUILD_TREE)" >&2; exit 2; }
  [ -f "$prebuilt/pkgconfig/windowagg.pc" ] || { echo "demo.sh: $prebuilt has no pkgconfig/windowagg.pc" >&2; exit 2; }
  . "$repo/scripts/build_env.sh"
  use_build_tree "$prebuilt"
  out="${TMPDIR:-/tmp}/windowagg-showdown.$$"
  (cd examples/go && go build -o "$out" ./showdown)
  trap 'rm -f "$out"' EXIT
  "$out" "$@"
  exit
fi
cmake --preset release -B "$build" >/dev/null

if [ "${1:-}" = "--c" ]; then
  shift
  cmake --build "$build" -j "${WINDOWAGG_JOBS:-2}" --target windowagg-example-c
  exec "$build/examples/c/windowagg-example-c" "$@"
fi

cmake --build "$build" -j "${WINDOWAGG_JOBS:-2}" --target windowagg
. "$repo/scripts/build_env.sh"
use_build_tree "$build"
cd examples/go
go build -o "$build/windowagg-showdown" ./showdown
exec "$build/windowagg-showdown" "$@"
