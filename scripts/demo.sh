#!/usr/bin/env bash
# The main job: installs what is missing, builds (release preset) and runs the
# C example, a synthetic telemetry stream through a sliding and a tumbling
# window, printing windowed stats and closed windows as they are polled.
#
#   scripts/demo.sh [samples]        (default 1000000)
#
# Build directory: $WINDOWAGG_BUILD_ROOT/release, default <repo>/build/release.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
build="${WINDOWAGG_BUILD_ROOT:-$repo/build}/release"

scripts/setup.sh
cmake --preset release -B "$build" >/dev/null
cmake --build "$build" -j "${WINDOWAGG_JOBS:-2}" --target windowagg-example-c
exec "$build/examples/c/windowagg-example-c" "$@"
