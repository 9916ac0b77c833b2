"""Finding and loading the shared library; the host's malloc stays glibc's."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys

import windowagg

PKG_DIR = os.path.dirname(windowagg.__file__)


def _run(code: str, env: dict, cwd: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=120)


def test_missing_library_error_lists_where_it_looked(tmp_path) -> None:
    env = dict(os.environ, WINDOWAGG_LIBRARY=str(tmp_path / "nope" / "libwindowagg.so"),
               PYTHONPATH=os.path.dirname(PKG_DIR))
    r = _run("import windowagg", env, str(tmp_path))
    assert r.returncode != 0
    assert "LibraryNotFoundError" in r.stderr
    assert "WINDOWAGG_LIBRARY" in r.stderr and str(tmp_path / "nope") in r.stderr


def test_lookup_without_env_lists_all_places(tmp_path) -> None:
    pkg = tmp_path / "windowagg"
    shutil.copytree(PKG_DIR, pkg, ignore=shutil.ignore_patterns("libwindowagg.so*", "__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("WINDOWAGG_LIBRARY", "LD_LIBRARY_PATH")}
    env["PYTHONPATH"] = str(tmp_path)
    r = _run("import windowagg; print(windowagg.library_path)", env, str(tmp_path))
    if r.returncode == 0:  # installed system-wide: then it came from the system path
        assert str(tmp_path) not in r.stdout
    else:
        assert "next to the package" in r.stderr and str(pkg) in r.stderr
        assert "system library path" in r.stderr


def test_library_next_to_the_package_is_found(tmp_path) -> None:
    pkg = tmp_path / "windowagg"
    shutil.copytree(PKG_DIR, pkg, ignore=shutil.ignore_patterns("libwindowagg.so*", "__pycache__"))
    shutil.copy(windowagg.library_path, pkg / "libwindowagg.so")
    env = {k: v for k, v in os.environ.items() if k != "WINDOWAGG_LIBRARY"}
    env["PYTHONPATH"] = str(tmp_path)
    r = _run("import windowagg; print(windowagg.library_path); print(windowagg.version())", env, str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == [str(pkg / "libwindowagg.so"), "1.0.0"]


def test_env_may_name_a_directory(tmp_path) -> None:
    env = dict(os.environ, WINDOWAGG_LIBRARY=os.path.dirname(windowagg.library_path),
               PYTHONPATH=os.path.dirname(PKG_DIR))
    r = _run("import windowagg; print(windowagg.version())", env, str(tmp_path))
    if os.path.exists(os.path.join(os.path.dirname(windowagg.library_path), "libwindowagg.so")):
        assert r.returncode == 0, r.stderr


class _DlInfo(ctypes.Structure):
    _fields_ = [("dli_fname", ctypes.c_char_p), ("dli_fbase", ctypes.c_void_p),
                ("dli_sname", ctypes.c_char_p), ("dli_saddr", ctypes.c_void_p)]


def test_python_process_keeps_glibc_malloc() -> None:
    """Loading libwindowagg (which links mimalloc) must not replace the host's malloc."""
    windowagg.Aggregator(size=8).push([1.0, 2.0])  # library loaded and used
    process = ctypes.CDLL(None)
    dladdr = process.dladdr
    dladdr.argtypes = [ctypes.c_void_p, ctypes.POINTER(_DlInfo)]
    for sym in ("malloc", "free", "realloc", "calloc"):
        addr = ctypes.cast(getattr(process, sym), ctypes.c_void_p).value
        info = _DlInfo()
        assert dladdr(addr, ctypes.byref(info)) != 0
        where = os.path.basename(info.dli_fname.decode())
        assert where.startswith("libc.so"), f"{sym} resolves to {info.dli_fname!r}"
