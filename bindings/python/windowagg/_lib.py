"""Loading libwindowagg and declaring its C ABI (done once, at import).

Lookup order:

1. the ``WINDOWAGG_LIBRARY`` environment variable (a file, or a directory
   holding ``libwindowagg.so``);
2. next to this package (``windowagg/libwindowagg.so.1``, where
   ``pip install ./bindings/python`` puts the library it builds, with the
   Abseil, mimalloc and xxHash libraries it needs and RUNPATH ``$ORIGIN``);
3. the system library path (``ctypes.util.find_library("windowagg")``, then
   ``libwindowagg.so.1`` and ``libwindowagg.so`` through the dynamic loader,
   which honours ``LD_LIBRARY_PATH`` and ``ld.so.cache``).

The library is loaded with :class:`ctypes.CDLL`, so every call releases the GIL.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys
from ctypes import (
    POINTER,
    Structure,
    c_char_p,
    c_double,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint8,
    c_uint32,
    c_uint64,
    c_void_p,
)
from typing import Any, Dict, List, Tuple

import numpy as np

from ._errors import LibraryNotFoundError

# ---------------------------------------------------------------- structs ---


class Config(Structure):
    """Mirror of ``aggregator_config`` (96 bytes on LP64)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("window_kind", c_uint32),
        ("window_size", c_int64),
        ("slide", c_int64),
        ("pane_width", c_int64),
        ("allowed_lateness", c_int64),
        ("relative_accuracy", c_double),
        ("quantiles", c_uint32),
        ("nonfinite_policy", c_uint32),
        ("max_keys", c_uint64),
        ("key_policy", c_uint32),
        ("threading", c_uint32),
        ("key_ttl", c_int64),
        ("memory_limit", c_uint64),
        ("max_pending_windows", c_uint64),
    ]


class Stats(Structure):
    """Mirror of ``aggregator_stats`` (104 bytes)."""

    _fields_ = [
        ("count", c_uint64),
        ("sum", c_double),
        ("mean", c_double),
        ("min", c_double),
        ("max", c_double),
        ("variance", c_double),
        ("stddev", c_double),
        ("window_start", c_int64),
        ("window_end", c_int64),
        ("late", c_uint64),
        ("rejected", c_uint64),
        ("total", c_uint64),
        ("watermark", c_int64),
    ]


class Cursor(Structure):
    """Mirror of ``aggregator_cursor`` (16 bytes)."""

    _fields_ = [("position", c_uint64), ("started", c_uint32), ("done", c_uint32)]


class KeyStats(Structure):
    """Mirror of ``aggregator_key_stats`` (112 bytes); ``aggregator_window`` has
    the same layout."""

    _fields_ = [("key", c_uint64), ("stats", Stats)]


Window = KeyStats


class StatsEx(Structure):
    """Mirror of ``aggregator_stats_ex`` (the extensible stats read): a
    ``struct_size`` head, then ``aggregator_stats``; new aggregates are
    appended as fields here (see the struct_size rule in windowagg.h)."""

    _fields_ = [("struct_size", c_uint32), ("reserved", c_uint32), ("stats", Stats)]


class KeyStatsEx(Structure):
    """Mirror of ``aggregator_key_stats_ex`` (a record of
    ``aggregator_list_stats_ex``): the key, then a :class:`StatsEx`; it grows
    only when StatsEx does. ``aggregator_window_ex`` has the same layout."""

    _fields_ = [("key", c_uint64), ("stats", StatsEx)]


WindowEx = KeyStatsEx


class RollingOptions(Structure):
    """Mirror of ``aggregator_rolling_options`` (24 bytes; struct_size rule)."""

    _fields_ = [
        ("struct_size", c_uint32),
        ("window_kind", c_uint32),
        ("window", c_int64),
        ("min_periods", c_int64),
    ]


class RollingOutput(Structure):
    """Mirror of ``aggregator_rolling_output`` (24 bytes): one output column."""

    _fields_ = [
        ("aggregate", c_uint32),
        ("reserved", c_uint32),
        ("q", c_double),
        ("out", c_void_p),
    ]

# Expected layouts (offsets from the header, LP64). Checked here so that a
# mistake in a mirror fails at import instead of corrupting memory.
_EXPECTED_OFFSETS = {
    Config: [0, 4, 8, 16, 24, 32, 40, 48, 52, 56, 64, 68, 72, 80, 88],
    Stats: [0, 8, 16, 24, 32, 40, 48, 56, 64, 72, 80, 88, 96],
    Cursor: [0, 8, 12],
    KeyStats: [0, 8],
    RollingOptions: [0, 4, 8, 16],
    RollingOutput: [0, 4, 8, 16],
}
_EXPECTED_SIZES = {Config: 96, Stats: 104, Cursor: 16, KeyStats: 112, RollingOptions: 24,
                   RollingOutput: 24}
for _cls, _offs in _EXPECTED_OFFSETS.items():
    _got = [getattr(_cls, f[0]).offset for f in _cls._fields_]
    if _got != _offs or ctypes.sizeof(_cls) != _EXPECTED_SIZES[_cls]:  # pragma: no cover
        raise ImportError(
            f"windowagg: ctypes mirror of {_cls.__name__} does not match the C layout "
            f"(offsets {_got}, size {ctypes.sizeof(_cls)})"
        )

STATS_FIELDS: Tuple[str, ...] = tuple(str(f[0]) for f in Stats._fields_)

# NumPy mirror of aggregator_key_stats / aggregator_window, so that pages of
# results are written by the library straight into a structured array.
_NP_OF_CTYPE: Dict[Any, Any] = {c_uint64: np.uint64, c_double: np.float64, c_int64: np.int64}
KEY_STATS_DTYPE = np.dtype(
    [("key", np.uint64)] + [(f[0], _NP_OF_CTYPE[f[1]]) for f in Stats._fields_],
    align=False,
)
assert KEY_STATS_DTYPE.itemsize == ctypes.sizeof(KeyStats)

# Aggregates the extensible read has beyond aggregator_stats (fields appended
# to StatsEx after ``stats``; none yet). Listings and polls carry them too.
EX_FIELDS: Tuple[str, ...] = tuple(str(f[0]) for f in StatsEx._fields_[3:])

# NumPy mirror of aggregator_key_stats_ex / aggregator_window_ex: the key,
# the StatsEx head, the aggregator_stats fields, then the appended ones. Its
# itemsize is the elem_size passed to aggregator_list_stats_ex /
# aggregator_poll_windows_ex, so the library writes pages straight into it
# (and an older library leaves fields it does not know 0).
KEY_STATS_EX_DTYPE = np.dtype(
    [("key", np.uint64), ("struct_size", np.uint32), ("reserved", np.uint32)]
    + [(f[0], _NP_OF_CTYPE[f[1]]) for f in Stats._fields_]
    + [(f[0], _NP_OF_CTYPE[f[1]]) for f in StatsEx._fields_[3:]],
    align=False,
)
assert KEY_STATS_EX_DTYPE.itemsize == ctypes.sizeof(KeyStatsEx)

# ---------------------------------------------------------------- loading ---

if sys.platform == "darwin":  # pragma: no cover - the project targets Linux
    _NAMES = ["libwindowagg.dylib", "libwindowagg.1.dylib"]
elif sys.platform == "win32":  # pragma: no cover
    _NAMES = ["windowagg.dll", "libwindowagg.dll"]
else:
    _NAMES = ["libwindowagg.so", "libwindowagg.so.1"]


def _candidates() -> List[Tuple[str, str]]:
    """(where, what to dlopen) in lookup order."""
    out: List[Tuple[str, str]] = []
    env = os.environ.get("WINDOWAGG_LIBRARY")
    if env:
        if os.path.isdir(env):
            out += [(f"WINDOWAGG_LIBRARY directory {env!r}", os.path.join(env, n)) for n in _NAMES]
        else:
            out.append(("WINDOWAGG_LIBRARY", env))
    here = os.path.dirname(os.path.abspath(__file__))
    out += [("next to the package", os.path.join(here, n)) for n in _NAMES]
    found = ctypes.util.find_library("windowagg")
    if found:
        out.append(("ctypes.util.find_library('windowagg')", found))
    out += [("system library path", n) for n in reversed(_NAMES)]
    return out


def _load() -> Tuple[ctypes.CDLL, str]:
    tried: List[str] = []
    env_set = bool(os.environ.get("WINDOWAGG_LIBRARY"))
    for where, path in _candidates():
        if os.sep in path and not os.path.exists(path):
            tried.append(f"  {where}: {path} (no such file)")
            if where == "WINDOWAGG_LIBRARY":
                break  # an explicit path that does not exist is an error, not a hint
            continue
        try:
            return ctypes.CDLL(path), path
        except OSError as e:
            tried.append(f"  {where}: {path} ({e})")
            if env_set and where.startswith("WINDOWAGG_LIBRARY"):
                break
    raise LibraryNotFoundError(
        "windowagg: could not load the shared library libwindowagg. Tried:\n"
        + "\n".join(tried)
        + "\nInstall the package with its library (pip install ./bindings/python "
        "from a checkout), or build it (cmake -S . -B build && cmake --build build) "
        "and set WINDOWAGG_LIBRARY=/path/to/libwindowagg.so, or install it on the "
        "system library path."
    )


lib, library_path = _load()

# ------------------------------------------------------------- prototypes ---

_P = c_void_p  # handles and host buffers are passed as plain addresses

_PROTOTYPES = {
    "aggregator_version": (c_char_p, []),
    "aggregator_version_number": (c_uint, []),
    "aggregator_status_string": (c_char_p, [c_int]),
    "aggregator_last_error": (c_char_p, []),
    "aggregator_last_status": (c_int, []),
    "aggregator_new": (c_void_p, [ctypes.c_longlong]),
    "aggregator_process_batch": (c_double, [_P, _P, c_size_t]),
    "aggregator_free": (None, [_P]),
    "aggregator_config_init": (None, [_P]),
    "aggregator_create": (c_int, [POINTER(Config), POINTER(c_void_p)]),
    "aggregator_get_config": (c_int, [_P, POINTER(Config)]),
    "aggregator_push": (c_int, [_P, _P, _P, _P, c_size_t]),
    "aggregator_push_named": (c_int, [_P, _P, _P, _P, _P, c_size_t]),
    "aggregator_key_hash": (c_uint64, [c_char_p, c_size_t]),
    "aggregator_advance": (c_int, [_P, c_int64]),
    "aggregator_get_key_stats": (c_int, [_P, c_uint64, POINTER(Stats)]),
    "aggregator_get_stats": (c_int, [_P, POINTER(Stats)]),
    "aggregator_stats_ex_init": (None, [POINTER(StatsEx)]),
    "aggregator_stats_ex_size": (c_size_t, []),
    "aggregator_get_key_stats_ex": (c_int, [_P, c_uint64, POINTER(StatsEx)]),
    "aggregator_get_stats_ex": (c_int, [_P, POINTER(StatsEx)]),
    "aggregator_get_key_quantiles": (c_int, [_P, c_uint64, _P, c_size_t, _P]),
    "aggregator_get_quantiles": (c_int, [_P, _P, c_size_t, _P]),
    "aggregator_list_stats": (
        c_int,
        [_P, POINTER(Cursor), _P, c_size_t, _P, c_size_t, _P, POINTER(c_size_t)],
    ),
    "aggregator_list_stats_ex": (
        c_int,
        [_P, POINTER(Cursor), _P, c_size_t, c_size_t, _P, c_size_t, _P, POINTER(c_size_t)],
    ),
    "aggregator_key_count": (c_int, [_P, POINTER(c_uint64)]),
    "aggregator_list_keys": (
        c_int,
        [_P, POINTER(Cursor), _P, c_size_t, _P, c_size_t, _P, POINTER(c_size_t)],
    ),
    "aggregator_key_name": (c_int, [_P, c_uint64, _P, c_size_t, POINTER(c_size_t)]),
    "aggregator_remove_key": (c_int, [_P, c_uint64]),
    "aggregator_poll_windows": (
        c_int,
        [_P, _P, c_size_t, _P, c_size_t, _P, POINTER(c_size_t)],
    ),
    "aggregator_poll_windows_ex": (
        c_int,
        [_P, _P, c_size_t, c_size_t, _P, c_size_t, _P, POINTER(c_size_t)],
    ),
    "aggregator_pending_windows": (c_int, [_P, POINTER(c_uint64), POINTER(c_uint64)]),
    "aggregator_memory_usage": (c_int, [_P, POINTER(c_uint64)]),
    "aggregator_key_memory_usage": (c_int, [_P, c_uint64, POINTER(c_uint64)]),
    # (Declared for completeness: Python threads run the C thread-exit
    # handlers, so the binding never needs it.)
    "aggregator_thread_done": (None, []),
    "aggregator_serialized_size": (c_int, [_P, POINTER(c_size_t)]),
    "aggregator_serialize": (c_int, [_P, _P, c_size_t, POINTER(c_size_t)]),
    "aggregator_restore": (c_int, [_P, c_size_t, c_uint32, POINTER(c_void_p)]),
    "aggregator_merge": (c_int, [_P, _P]),
    "aggregator_merge_serialized": (c_int, [_P, _P, c_size_t]),
    "aggregator_rolling_options_init": (None, [POINTER(RollingOptions)]),
    "aggregator_rolling": (
        c_int,
        [POINTER(RollingOptions), _P, _P, _P, c_size_t, _P, c_size_t],
    ),
}

_missing = []
for _name, (_restype, _argtypes) in _PROTOTYPES.items():
    try:
        _fn = getattr(lib, _name)
    except AttributeError:
        _missing.append(_name)
        continue
    _fn.restype = _restype
    _fn.argtypes = _argtypes
if _missing:
    raise LibraryNotFoundError(
        f"windowagg: {library_path} lacks the symbols {', '.join(_missing)}; "
        "it is not a compatible libwindowagg"
    )

_major = lib.aggregator_version_number() // 10000
if _major != 1:  # pragma: no cover
    raise LibraryNotFoundError(
        f"windowagg: {library_path} is version {lib.aggregator_version().decode()}, "
        "this binding needs 1.x"
    )

# ------------------------------------------------------ array data pointer ---
#
# ``ndarray.ctypes.data`` and ``__array_interface__`` each build a Python
# object per call (~1 us). The data pointer of an ndarray is the first field
# after PyObject_HEAD in PyArrayObject (numpy's public, long-stable
# ``PyArrayObject_fields``), so it can be read with one ``from_address``.
# The offset is verified against ``ndarray.ctypes.data`` on several arrays at
# import; if it does not match (a debug CPython, another runtime), the slow,
# always-correct path is used instead.

_read_ptr = c_void_p.from_address
_DATA_OFFSET = object.__basicsize__  # sizeof(PyObject): 16 on a release LP64 build


def _data_pointer_offset_ok() -> bool:
    try:
        probes = [
            np.zeros(3),
            np.arange(10, dtype=np.int64)[2:],
            np.empty(0),
            np.ones(1000)[::1],
        ]
        ro = np.ones(4)
        ro.flags.writeable = False
        probes.append(ro)
        for a in probes:
            if _read_ptr(id(a) + _DATA_OFFSET).value != a.ctypes.data:
                return False
        return True
    except Exception:  # pragma: no cover
        return False


FAST_POINTER = _data_pointer_offset_ok()


def array_address(a: np.ndarray) -> int:
    """Address of the first element of ``a`` (an ndarray); no copy."""
    if FAST_POINTER:
        return _read_ptr(id(a) + _DATA_OFFSET).value or 0
    return a.ctypes.data  # pragma: no cover


def last_error() -> str:
    """The calling thread's ``aggregator_last_error()`` text."""
    raw = lib.aggregator_last_error()
    return raw.decode("utf-8", "replace") if raw else ""


def status_string(status: int) -> str:
    """The library's generic text of a status code."""
    raw = lib.aggregator_status_string(status)
    return raw.decode("utf-8", "replace") if raw else ""
